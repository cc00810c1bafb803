"""What the lab and srmsim share, so that the lab imports srmsim and never the other way round: the
topology model (sites, VMs, groups, plans both build from), self-signed TLS certificates, and stopping a
simulator process by pid. Nothing here imports ``srmctl.lab`` or ``srmctl.srmsim``."""
