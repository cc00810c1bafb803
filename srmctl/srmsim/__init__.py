"""srmsim."""
