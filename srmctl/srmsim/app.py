"""srmsim process: read the config, seed the world, serve both sites, print the readiness line."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import yaml

from srmctl.lab.certs import make_certificate
from srmctl.lab.topology import load_topology
from srmctl.srmsim import protection as srm
from srmctl.srmsim import seed
from srmctl.srmsim.model import World
from srmctl.srmsim.server import HttpFault, Response, Simulator, add_task_fault, serve_site
from srmctl.srmsim.vcenter import VCenterMirror, endpoint_of

READY = "SRMSIM READY"
DEFAULT_USER = "administrator@vsphere.local"


def control(sim: Simulator, site: str, method: str, request: Any) -> Response:
    """``/srmsim/*``: fault injection and state, for tests and the lab (loopback only, no auth)."""
    path, _query, body = request
    body = body or {}
    world = sim.world
    if path == "/srmsim/state" and method == "GET":
        return 200, state(world)
    if path == "/srmsim/faults" and method == "POST":
        fault = HttpFault(method=body.get("method", "*"), path=body["path"], kind=body.get("kind", "status"),
                          count=int(body.get("count", 1)), status=int(body.get("status", 503)),
                          retry_after=body.get("retry_after"), delay=float(body.get("delay", 0)),
                          site=body.get("site"), api=body.get("api"))
        with sim.lock:
            sim.faults.append(fault)
        return 200, {"added": 1}
    if path == "/srmsim/faults" and method == "DELETE":
        with sim.lock:
            sim.faults.clear()
        with world.lock:
            world.task_faults.clear()
        return 200, {"cleared": True}
    if path == "/srmsim/task-faults" and method == "POST":
        add_task_fault(world, body)
        return 200, {"added": 1}
    if path == "/srmsim/sessions/expire" and method == "POST":
        return 200, {"expired": sim.expire_sessions(body.get("site"))}
    parts = path.strip("/").split("/")
    if len(parts) == 4 and parts[1] == "sites" and parts[3] in ("up", "down") and method == "POST":
        if parts[2] not in world.sites:
            return 404, {"error": f"no site {parts[2]}"}
        srm.set_site_up(world, parts[2], parts[3] == "up")
        return 200, {"site": parts[2], "up": parts[3] == "up"}
    return 404, {"error": f"no control endpoint {method} {path}"}


def state(world: World) -> dict[str, Any]:
    with world.lock:
        return {
            "pairing_id": world.pairing_id,
            "sites": {name: {"up": s.up, "vc_guid": s.vc_guid,
                             "vms": [{"id": v.id, "name": v.name, "power_state": v.power_state, "role": v.role,
                                      "moref": v.moref, "instance_uuid": v.instance_uuid,
                                      "original_instance_uuid": v.original_uuid, "registered": v.registered}
                                     for v in s.vms.values()]} for name, s in world.sites.items()},
            "plans": [{"id": p.id, "name": p.name, "status": p.status, "protected_site": p.protected_site}
                      for p in world.plans.values()],
            "groups": [{"id": g.id, "name": g.name, "status": g.status, "protected_site": g.protected_site}
                       for g in world.groups.values()],
            "replications": [{"id": r.id, "name": r.name, "vm_id": r.vm_id, "status": r.status,
                              "source": r.source_site, "target": r.target_site, "bytes": dict(r.totals)}
                             for r in world.replications.values()],
        }


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m srmctl.srmsim", description="SRM + VR REST simulator")
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    config_path: Path = args.config.resolve()
    config = yaml.safe_load(config_path.read_text()) or {}
    workdir = (args.workdir or Path(config.get("workdir") or config_path.parent / "srmsim")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    topology_file = config.get("topology")
    topology = load_topology(config_path.parent / topology_file if topology_file else None)
    site_config: dict[str, dict[str, Any]] = config.get("sites") or {}
    vcenters = {name: endpoint_of(conf["vcenter"]) for name, conf in site_config.items() if conf.get("vcenter")}
    # With vCenters, srmsim's effects are real there (DESIGN §8); without, it is the in-memory simulator.
    world = World(tick=float(config.get("tick", 0.02)), mirror=VCenterMirror(vcenters) if vcenters else None)
    datastore_dirs = {site: {ds: Path(d) for ds, d in dirs.items()}
                      for site, dirs in (config.get("datastores") or {}).items()}
    seed.build(world, topology, workdir / "datastores", datastore_dirs)
    seed.reach(world, config.get("scenario", "protected"))
    credentials = {}
    for name in world.sites:
        conf = site_config.get(name, {})
        password = conf.get("password")
        if conf.get("password_file"):
            password = Path(conf["password_file"]).read_text().strip()
        credentials[name] = (conf.get("user", DEFAULT_USER), password or "srmsim")
    sim = Simulator(world, credentials, session_ttl=float(config.get("session_ttl", 1800)),
                    page_size=int(config.get("page_size", 50)))
    host = config.get("host", "127.0.0.1")
    ready: dict[str, Any] = {"pid": os.getpid(), "pairing_id": world.pairing_id, "sites": {}}
    for name in world.sites:
        conf = site_config.get(name, {})
        if conf.get("cert") and conf.get("key"):
            cert, key, thumbprint = Path(conf["cert"]), Path(conf["key"]), conf.get("thumbprint", "")
        else:
            cert, key, thumbprint = make_certificate(workdir / "certs" / name, f"srm-{name}")
        serve_site(sim, name, host, int(conf.get("port", 0)), str(cert), str(key), control)
        ready["sites"][name] = {"host": host, "port": sim.ports[name], "thumbprint": thumbprint,
                                "cert": str(cert), "user": credentials[name][0],
                                "vc_guid": world.site(name).vc_guid}
    print(f"{READY} {json.dumps(ready)}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
