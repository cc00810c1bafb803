"""vcenter."""
