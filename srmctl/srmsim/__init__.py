"""srmsim: the SRM REST v2 + vSphere Replication REST v2 simulator (a real HTTPS server process)."""
