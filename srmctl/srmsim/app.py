"""srmsim process: read the config, seed the world, serve both sites, print the readiness line."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from srmctl.labkit.topology import load_topology
from srmctl.srmsim import seed
from srmctl.srmsim.latency import PROFILES, profile
from srmctl.srmsim.server import Simulator, listen, serve
from srmctl.srmsim.stall import reporting_stalls
from srmctl.srmsim.vcenter import VCenterMirror, endpoint_of
from srmctl.srmsim.world import World

READY = "SRMSIM READY"
DEFAULT_USER = "administrator@vsphere.local"


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m srmctl.srmsim", description="SRM + VR REST simulator")
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--latency",
        choices=sorted(PROFILES),
        default=None,
        help="how long tasks take (srmsim/latency.py); default: the config's 'latency', else fast",
    )
    args = parser.parse_args(argv)
    config_path: Path = args.config.resolve()
    config = yaml.safe_load(config_path.read_text()) or {}
    workdir = (args.workdir or Path(config.get("workdir") or config_path.parent / "srmsim")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    topology_file = config.get("topology")
    topology = load_topology(config_path.parent / topology_file if topology_file else None)
    site_config: dict[str, dict[str, Any]] = config.get("sites") or {}
    vcenters = {name: endpoint_of(conf["vcenter"]) for name, conf in site_config.items() if conf.get("vcenter")}
    # With vCenters, srmsim's effects are real there (power, registrations, VR's footprint: see vcenter.py);
    # without, it is the in-memory simulator.
    world = World(tick=float(config.get("tick", 0.02)), mirror=VCenterMirror(vcenters) if vcenters else None)
    datastore_dirs = {
        site: {ds: Path(d) for ds, d in dirs.items()} for site, dirs in (config.get("datastores") or {}).items()
    }
    # A seeding that stalls leaves evidence: every thread's stack goes to stderr (srmsim.log, which a failed
    # 'lab up' keeps in DIR/logs) each ``stall_dump_seconds`` until srmsim is ready (docs/architecture.md 7).
    with reporting_stalls(float(config.get("stall_dump_seconds", 120))):
        seed.build(world, topology, workdir / "datastores", datastore_dirs)
        seed.reach(world, config.get("scenario", "protected"), topology)
    for name, site_model in topology.sites.items():
        if site_model.srm_site_name:
            world.site(name).srm_name = site_model.srm_site_name
    # Seeding is set-up, not what a benchmark measures: it runs fast, and the profile applies from now on.
    world.latency = profile(args.latency or config.get("latency") or "fast")
    credentials = {}
    for name in world.sites:
        conf = site_config.get(name, {})
        password = conf.get("password")
        if conf.get("password_file"):
            password = Path(conf["password_file"]).read_text().strip()
        credentials[name] = (conf.get("user", DEFAULT_USER), password or "srmsim")
    remote_ttl = config.get("remote_session_ttl")  # default: session_ttl
    sim = Simulator(
        world,
        credentials,
        session_ttl=float(config.get("session_ttl", 1800)),
        remote_session_ttl=None if remote_ttl is None else float(remote_ttl),
        page_size=int(config.get("page_size", 50)),
        remote_lapse_status=int(config.get("remote_lapse_status", 401)),
    )
    host = config.get("host", "127.0.0.1")
    ready: dict[str, Any] = {
        "pid": os.getpid(),
        # Each server's own pairing id (World.pairing_at); pairing_id and vr_pairing_id: the first site's.
        "pairings": {name: {api: world.pairing_at(name, api) for api in ("srm", "vr")} for name in world.sites},
        "pairing_id": world.pairing_at(next(iter(world.sites)), "srm"),
        "vr_pairing_id": world.pairing_at(next(iter(world.sites)), "vr"),
        "latency": world.latency.name,
        "sites": {},
    }
    listeners = []
    for name in world.sites:
        conf = site_config.get(name, {})
        if conf.get("cert") and conf.get("key"):
            cert, key, thumbprint = Path(conf["cert"]), Path(conf["key"]), conf.get("thumbprint", "")
        else:
            # Imported here: the lab always passes its certificates, and cryptography takes a while to load.
            from srmctl.labkit.certs import make_certificate

            cert, key, thumbprint = make_certificate(workdir / "certs" / name, f"srm-{name}")
        listeners.append(listen(sim, name, host, int(conf.get("port", 0)), str(cert), str(key)))
        ready["sites"][name] = {
            "host": host,
            "port": sim.ports[name],
            "thumbprint": thumbprint,
            "cert": str(cert),
            "user": credentials[name][0],
            "vc_guid": world.site(name).vc_guid,
        }
    http = serve(sim, listeners)
    print(f"{READY} {json.dumps(ready)}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        http.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
