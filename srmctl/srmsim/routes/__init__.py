"""srmsim's route tables, one module per resource family as in govmomi's simulator, each declaring its
paths (below the API root) next to the handlers that serve them:

- :mod:`.sessions`: login/logout, pairings, remote login, server info and the pairing's vCenters (SRM, VR)
- :mod:`.groups`: SRM protection groups and their VMs (configure-all-vms, restore-all-placeholders)
- :mod:`.mappings`: SRM inventory mappings (folders, resources, networks) and placeholder datastores
- :mod:`.plans`: SRM recovery plans, their VMs and groups, and the plan runs (test, cleanup, recovery,
  reprotect, cancel)
- :mod:`.history`: SRM recovery history reports (lists answered with a task, one report)
- :mod:`.recovery_settings`: SRM per-VM recovery settings in a plan
- :mod:`.recovery_steps`: SRM plan-level recovery steps, custom steps and prompts
- :mod:`.replications`: vSphere Replication replications, the vCenters' VMs, disks, datastores and seeds
- :mod:`.vr_servers`: vSphere Replication servers, replication servers, storage policies, VM capability
- :mod:`.tasks`: the task lists of both APIs
- :mod:`.unsimulated`: every other documented operation, answered "not simulated"
- :mod:`.control`: srmsim's own ``/srmsim/*`` endpoints (fault injection, state, site up/down)

Order matters only where paths overlap: ``recovery-steps/user-prompts`` is declared before
``recovery-steps/{view_mode}``, as the first full match wins.
"""

from __future__ import annotations

from srmctl.srmsim.remote import ERROR, Contract
from srmctl.srmsim.routes import (
    groups,
    history,
    mappings,
    plans,
    recovery_settings,
    recovery_steps,
    replications,
    sessions,
    tasks,
    unsimulated,
    vr_servers,
)
from srmctl.srmsim.web import RouteSpec

TABLES: dict[str, list[RouteSpec]] = {
    "srm": [
        *sessions.COMMON.specs,
        *sessions.SRM.specs,
        *groups.CANDIDATES.specs,
        *groups.ROUTES.specs,
        *mappings.ROUTES.specs,
        *plans.ROUTES.specs,
        *history.ROUTES.specs,
        *recovery_settings.ROUTES.specs,
        *recovery_steps.ROUTES.specs,
        *tasks.SRM.specs,
        *unsimulated.ROUTES["srm"].specs,
    ],
    "vr": [
        *sessions.COMMON.specs,
        *sessions.VR.specs,
        *replications.ROUTES.specs,
        *vr_servers.ROUTES.specs,
        *tasks.VR.specs,
        *unsimulated.ROUTES["vr"].specs,
    ],
}

# The vendor specs' x-dr-remote-site-connectivity-contract as the routes declare it (srmsim/remote.py): per API,
# the served operations' "not-authenticated" value when ERROR or DEPENDS_ON_PROVIDED_PARAMS, and the operations
# whose "server-down" value is ERROR (tests/srmsim/test_requests.py compares both with the specs).
NOT_AUTHENTICATED: dict[str, dict[tuple[str, str], Contract]] = {
    api: {(s.method, s.path): s.not_authenticated for s in specs if s.not_authenticated}
    for api, specs in TABLES.items()
}
SERVER_DOWN: dict[str, frozenset[tuple[str, str]]] = {
    api: frozenset((s.method, s.path) for s in specs if s.server_down == ERROR) for api, specs in TABLES.items()
}
