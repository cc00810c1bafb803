"""srmsim answers without the Nagle/delayed-ACK floor: every accepted connection has TCP_NODELAY set
(docs/architecture.md, section 7, "Latency floor"). Checked on a live connection of srmsim's real HTTPS server,
run in this process so that its sockets can be read, without depending on how fast the machine is."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import httpx

from srmctl.labkit.certs import make_certificate
from srmctl.labkit.topology import load_topology
from srmctl.srmsim import faults, seed
from srmctl.srmsim.server import Simulator, listen, serve
from srmctl.srmsim.world import World


def test_every_accepted_connection_sends_at_once(tmp_path: Path) -> None:
    world = World(tick=0.005)
    seed.build(world, load_topology(), tmp_path / "datastores", {})
    seed.reach(world, "protected")
    sim = Simulator(world, {name: ("user", "password") for name in world.sites})
    cert, key, _ = make_certificate(tmp_path / "cert", "srm-test")
    site = next(iter(world.sites))
    serve(sim, [listen(sim, site, "127.0.0.1", 0, str(cert), str(key))])
    context = ssl.create_default_context(cafile=str(cert))
    with httpx.Client(base_url=f"https://127.0.0.1:{sim.ports[site]}", verify=context, timeout=10) as client:
        assert client.get("/api/rest/srm/v2/pairings").status_code == 401  # served, over a kept-alive connection
        ours = faults.connections(sim.ports[site])
        assert ours, "the connection is registered by srmsim's protocol"
        for protocol in ours:
            sock = protocol.transport.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
