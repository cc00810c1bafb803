"""srmsim's own endpoints under ``/srmsim/`` (loopback only, no session): the world's state, HTTP and task
fault injection, slow replication syncs, session expiry and site outages.
:class:`~srmctl.srmsim.launcher.SrmsimHandle` is their client. Unknown control paths answer 404 ``{"error": ...}``.

These handlers run without the world lock: a site outage powers VMs off in the site's vCenter, which
must not hold up the API handlers.
"""

from __future__ import annotations

from srmctl.srmsim import peers, remote, sites
from srmctl.srmsim.faults import HttpFault
from srmctl.srmsim.model import SyncProfile, TaskFault
from srmctl.srmsim.web import Reply, RouteTable, SimRequest

ROUTES = RouteTable()


@ROUTES.get("/state")
def state(req: SimRequest) -> Reply:
    return 200, req.world.snapshot()


@ROUTES.get("/tasks")
def task_records(req: SimRequest) -> Reply:
    """Every task either API started, with its times (ms since the epoch): what the work itself took, for the
    benchmark's lower bound on a failback (bench/failback_scale.py)."""
    with req.world.lock:
        return 200, [
            {
                "id": t.id,
                "site": t.site,
                "api": t.api,
                "description": t.description,
                "status": t.status,
                "queued": t.queued,
                "started": t.started,
                "completed": t.completed,
            }
            for t in req.world.tasks.values()
        ]


@ROUTES.post("/faults")
def add_fault(req: SimRequest) -> Reply:
    body = req.body or {}
    req.sim.faults.add(
        HttpFault(
            method=body.get("method", "*"),
            path=body["path"],
            kind=body.get("kind", "status"),
            count=int(body.get("count", 1)),
            status=int(body.get("status", 503)),
            retry_after=body.get("retry_after"),
            delay=float(body.get("delay", 0)),
            site=body.get("site"),
            api=body.get("api"),
        )
    )
    return 200, {"added": 1}


@ROUTES.delete("/faults")
def clear_faults(req: SimRequest) -> Reply:
    req.sim.faults.clear()
    req.world.clear_task_faults()
    with req.world.lock:
        req.world.sync_profiles.clear()
    return 200, {"cleared": True}


@ROUTES.post("/task-faults")
def add_task_fault(req: SimRequest) -> Reply:
    body = req.body or {}
    req.world.add_task_fault(
        TaskFault(
            pattern=body.get("task", "*"),
            kind=body.get("kind", "error"),
            count=int(body.get("count", 1)),
            message=body.get("message", "Injected failure"),
            factor=float(body.get("factor", 10.0)),
        )
    )
    return 200, {"added": 1}


@ROUTES.post("/sync-profiles")
def set_sync_profile(req: SimRequest) -> Reply:
    """Every sync of one VM's replication (``vm``: its name) takes ``minutes`` of simulated time over at least
    ``seconds`` of real time: past its RPO, it reports the RPO-violation sync state while it runs."""
    body = req.body or {}
    if not isinstance(body.get("vm"), str):
        return 400, {"error": "sync-profiles needs {vm, minutes[, seconds]}"}
    with req.world.lock:
        req.world.sync_profiles[body["vm"]] = SyncProfile(
            minutes=float(body.get("minutes", 0)), seconds=float(body.get("seconds", 0))
        )
    return 200, {"vm": body["vm"]}


@ROUTES.post("/standby-hosts/{name}/{state}")
def standby_hosts(req: SimRequest) -> Reply:
    """Whether site ``name`` has hosts in standby (``on``/``off``): recoveries to it then list "Restore recovery
    site hosts from standby" (model.CONDITIONAL_STEPS), so the plan's step list depends on its direction."""
    name, wanted = req.args["name"], req.args["state"]
    if wanted not in ("on", "off") or name not in req.world.sites:
        return unknown(req)
    with req.world.lock:
        req.world.site(name).standby_hosts = wanted == "on"
    return 200, {"site": name, "standby_hosts": wanted == "on"}


@ROUTES.post("/link")
def link(req: SimRequest) -> Reply:
    """The link between the sites: ``{"up": false}`` cuts it now, ``{"during": STEP}`` at that step of the
    next recovery, ``{"up": true}`` restores it (srmsim/peers.py)."""
    body = req.body or {}
    peers.set_link(req.world, bool(body.get("up", False)), body.get("during"))
    return 200, {"up": req.world.link_up}


@ROUTES.post("/sessions/lapse-remote")
def lapse_remote(req: SimRequest) -> Reply:
    """End the remote logins (``site``: of that site's sessions), answering later calls that need them with
    ``status`` (401, 400 or 500; srmsim/remote.py) from now on."""
    body = req.body or {}
    if "status" in body:
        if body["status"] not in remote.LAPSE_STATUSES:
            return 400, {"error": f"status: choose from {remote.LAPSE_STATUSES}"}
        req.sim.remote_lapse_status = int(body["status"])
    return 200, {"lapsed": req.sim.sessions.lapse_remote(body.get("site"))}


@ROUTES.post("/sessions/expire")
def expire_sessions(req: SimRequest) -> Reply:
    return 200, {"expired": req.sim.sessions.expire((req.body or {}).get("site"))}


@ROUTES.post("/sites/{name}/{state}")
def site_state(req: SimRequest) -> Reply:
    name, wanted = req.args["name"], req.args["state"]
    if wanted not in ("up", "down"):
        return unknown(req)
    if name not in req.world.sites:
        return 404, {"error": f"no site {name}"}
    sites.set_site_up(req.world, name, wanted == "up")
    return 200, {"site": name, "up": wanted == "up"}


@ROUTES.post("/sites/{name}/vms/{vm_name}/unregister")
def unregister_vm(req: SimRequest) -> Reply:
    """The in-memory world's stand-in for vCenter's UnregisterVM (what srmctl's orphans.unregister does on a
    real site): the registered VMs of that name leave the inventory, their files stay."""
    if req.args["name"] not in req.world.sites:
        return 404, {"error": f"no site {req.args['name']}"}
    found = [
        vm
        for vm in req.world.site(req.args["name"]).vms.values()
        if vm.name == req.args["vm_name"] and vm.registered and vm.role != "placeholder"
    ]
    for vm in found:
        vm.registered, vm.power_state = False, "POWERED_OFF"
    return 200, {"unregistered": [vm.id for vm in found]}


def unknown(req: SimRequest) -> Reply:
    return 404, {"error": f"no control endpoint {req.method} /srmsim{req.path}"}
