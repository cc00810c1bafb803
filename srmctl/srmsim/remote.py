"""Which calls need the remote login: the vendor specs' ``x-dr-remote-site-connectivity-contract`` extension,
copied by hand for every operation srmsim serves (tests/srmsim/test_requests.py compares both tables
with the specs, so it cannot drift; the specs are never shipped).

The extension says, per operation, what happens while the paired site is reachable but the session has not
logged in to it (``not-authenticated``): ``ERROR`` refuses the call, ``DEPENDS_ON_PROVIDED_PARAMS`` refuses it
when the parameters reach the remote site; the other values (``OK``, ``FULL_DATA``, ``PARTIAL_DATA``) answer.
srmsim refuses every ``ERROR`` call, and a ``DEPENDS_ON_PROVIDED_PARAMS`` call whose ``vcenter_id`` names the
paired site's vCenter; a route may also ask for the remote login itself (``remote=True``, e.g. creating a
recovery plan, which SRM keeps at both sites).

While the paired site is down, the ``server-down`` column applies instead: every operation whose value is
``ERROR`` is refused (``SERVER_DOWN``), before anything changes; ``DEPENDS_ON_PROVIDED_PARAMS`` is left to the
handlers (a planned migration needs the protected site, a disaster recovery does not).

**The lapse answer.** Neither spec names an answer for a call that needs a remote login the session lacks;
each of these operations documents 400 ("Bad request"), 401 ("Unauthorized - the client must authenticate
itself to get the requested response") and 500 ("Internal server error"). srmsim answers with the one its
configuration chooses (``remote_lapse_status``: 401 without a body, as the specs declare 401; 400 or 500 with
a ``ResponseError``), so a client that recognises only one of them fails a test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from srmctl.srmsim.model import SimError

if TYPE_CHECKING:
    from srmctl.srmsim.web import RouteSpec, SimRequest

ERROR = "ERROR"
DEPENDS = "DEPENDS_ON_PROVIDED_PARAMS"
_ABBREVIATIONS = {"@": "/pairings/{pairing_id}/recovery-management/plans/{plan_id}", "~": "/pairings/{pairing_id}"}

# method, path (~ and @ abbreviate the prefixes above), the spec's "not-authenticated" value; every operation
# srmsim serves whose value is ERROR or DEPENDS_ON_PROVIDED_PARAMS, and no other.
_TABLE = {
    "srm": """
GET    ~/remote-session                                                                 ERROR
GET    ~/vcenters/{vcenter_id}/replicated-vms                                           DEPENDS
POST   ~/protection-management/groups                                                   ERROR
DELETE ~/protection-management/groups/{group_id}                                        DEPENDS
POST   ~/protection-management/groups/{group_id}/actions/reconfigure                    ERROR
POST   ~/protection-management/groups/{group_id}/actions/configure-all-vms              ERROR
POST   ~/protection-management/groups/{group_id}/actions/restore-all-placeholders       ERROR
POST   ~/protection-management/groups/{group_id}/vms/{vm_id}/actions/remove-from-group  DEPENDS
POST   ~/recovery-management/plans                                                      DEPENDS
POST   @/actions/reconfigure                                                            DEPENDS
POST   @/actions/test                                                                   ERROR
POST   @/actions/cleanup                                                                ERROR
POST   @/actions/recovery                                                               ERROR
POST   @/actions/reprotect                                                              ERROR
POST   @/actions/cancel                                                                 ERROR
GET    @/vms                                                                            DEPENDS
GET    @/vms/{vm_id}                                                                    DEPENDS
POST   @/vms/{vm_id}/recovery-settings/actions/update                                   DEPENDS
POST   @/vms/{vm_id}/recovery-settings/ip-customization/actions/update                  DEPENDS
GET    @/recovery-steps/user-prompts                                                    DEPENDS
GET    @/recovery-steps/user-prompts/{prompt_id}                                        DEPENDS
GET    @/recovery-steps/{view_mode}                                                     DEPENDS
GET    @/recovery-steps/{view_mode}/{recovery_step_id}/callout-data                     DEPENDS
GET    ~/srms/{srm_id}/inventory-mappings/folders                                       ERROR
POST   ~/srms/{srm_id}/inventory-mappings/folders                                       ERROR
GET    ~/srms/{srm_id}/inventory-mappings/folders/{mapping_id}                          ERROR
DELETE ~/srms/{srm_id}/inventory-mappings/folders/{mapping_id}                          ERROR
GET    ~/srms/{srm_id}/inventory-mappings/resources                                     ERROR
POST   ~/srms/{srm_id}/inventory-mappings/resources                                     ERROR
GET    ~/srms/{srm_id}/inventory-mappings/resources/{mapping_id}                        ERROR
DELETE ~/srms/{srm_id}/inventory-mappings/resources/{mapping_id}                        ERROR
GET    ~/srms/{srm_id}/inventory-mappings/networks                                      ERROR
POST   ~/srms/{srm_id}/inventory-mappings/networks                                      ERROR
GET    ~/srms/{srm_id}/inventory-mappings/networks/{mapping_id}                         ERROR
DELETE ~/srms/{srm_id}/inventory-mappings/networks/{mapping_id}                         ERROR
GET    ~/srms/{srm_id}/inventory-mappings/placeholder-datastores                        DEPENDS
POST   ~/srms/{srm_id}/inventory-mappings/placeholder-datastores                        ERROR
GET    ~/srms/{srm_id}/inventory-mappings/placeholder-datastores/{datastore_id}         DEPENDS
DELETE ~/srms/{srm_id}/inventory-mappings/placeholder-datastores/{datastore_id}         ERROR
""",
    "vr": """
GET    ~/remote-session                                                                 ERROR
POST   ~/replications                                                                   ERROR
POST   ~/replications/{replication_id}/actions/unconfigure                              ERROR
POST   ~/replications/{replication_id}/actions/pause                                    ERROR
POST   ~/replications/{replication_id}/actions/resume                                   ERROR
POST   ~/replications/{replication_id}/actions/reconfigure                              ERROR
GET    ~/vcenters/{vcenter_id}/vms                                                      DEPENDS
GET    ~/vcenters/{vcenter_id}/vms/{vm_id}/disks                                        DEPENDS
GET    ~/vcenters/{vcenter_id}/datastores                                               DEPENDS
POST   ~/vcenters/{vcenter_id}/datastores/{datastore_id}/actions/find-seeds             DEPENDS
POST   ~/vcenters/{vcenter_id}/datastores/{datastore_id}/actions/browse                 DEPENDS
GET    ~/vcenters/{vcenter_id}/storage-policies                                         DEPENDS
GET    ~/vcenters/{vcenter_id}/vms/{vm_id}/capability                                   DEPENDS
GET    ~/vrs/{vr_id}/replication-servers                                                DEPENDS
GET    ~/vrs/{vr_id}/replication-servers/{replication_server_id}                        DEPENDS
""",
}


def _parse(text: str) -> dict[tuple[str, str], str]:
    table = {}
    for line in text.strip().splitlines():
        method, path, value = line.split()
        for short, full in _ABBREVIATIONS.items():
            path = path.replace(short, full)
        table[method, path] = DEPENDS if value == "DEPENDS" else value
    return table


NOT_AUTHENTICATED: dict[str, dict[tuple[str, str], str]] = {api: _parse(text) for api, text in _TABLE.items()}

# method, path: every operation srmsim serves whose "server-down" value is ERROR, and no other.
_SERVER_DOWN = {
    "srm": """
GET    ~/remote-session
POST   ~/remote-session
POST   ~/protection-management/groups
DELETE ~/protection-management/groups/{group_id}
POST   ~/protection-management/groups/{group_id}/actions/reconfigure
POST   ~/protection-management/groups/{group_id}/actions/configure-all-vms
POST   ~/protection-management/groups/{group_id}/actions/restore-all-placeholders
POST   @/actions/reprotect
GET    ~/srms/{srm_id}/inventory-mappings/folders
POST   ~/srms/{srm_id}/inventory-mappings/folders
GET    ~/srms/{srm_id}/inventory-mappings/folders/{mapping_id}
DELETE ~/srms/{srm_id}/inventory-mappings/folders/{mapping_id}
GET    ~/srms/{srm_id}/inventory-mappings/resources
POST   ~/srms/{srm_id}/inventory-mappings/resources
GET    ~/srms/{srm_id}/inventory-mappings/resources/{mapping_id}
DELETE ~/srms/{srm_id}/inventory-mappings/resources/{mapping_id}
GET    ~/srms/{srm_id}/inventory-mappings/networks
POST   ~/srms/{srm_id}/inventory-mappings/networks
GET    ~/srms/{srm_id}/inventory-mappings/networks/{mapping_id}
DELETE ~/srms/{srm_id}/inventory-mappings/networks/{mapping_id}
POST   ~/srms/{srm_id}/inventory-mappings/placeholder-datastores
DELETE ~/srms/{srm_id}/inventory-mappings/placeholder-datastores/{datastore_id}
""",
    "vr": """
GET    ~/remote-session
POST   ~/remote-session
POST   ~/replications
POST   ~/replications/{replication_id}/actions/unconfigure
POST   ~/replications/{replication_id}/actions/pause
POST   ~/replications/{replication_id}/actions/resume
POST   ~/replications/{replication_id}/actions/reconfigure
POST   ~/replications/{replication_id}/actions/sync
""",
}
SERVER_DOWN: dict[str, frozenset[tuple[str, str]]] = {
    api: frozenset(_parse("\n".join(f"{line} ERROR" for line in text.strip().splitlines())))
    for api, text in _SERVER_DOWN.items()
}
LAPSE_STATUSES = (401, 400, 500)  # what each ERROR operation documents (see the module's docstring)


def check(spec: RouteSpec, req: SimRequest) -> None:
    """Refuse the call (400, ``ResponseError``) when it needs the session's remote login and that login is
    missing or has lapsed; a call that uses the remote login keeps it alive."""
    remote = req.world.other(req.site)
    if not req.world.peer_reachable(req.site) and (spec.method, spec.path) in SERVER_DOWN.get(req.api, ()):
        # "server-down": ERROR (x-dr-remote-site-connectivity-contract): refused before anything changes.
        raise SimError(500, "SERVER_DOWN", f"the paired site's server ({req.world.site(remote).srm_name}) is down")
    if not needs_remote_login(spec, req):
        return
    if not req.sim.sessions.remote_alive(req.session, req.args.get("pairing_id")):
        status = req.sim.remote_lapse_status
        code = {401: "UNAUTHENTICATED", 400: "BAD_REQUEST", 500: "INTERNAL_ERROR"}[status]
        raise SimError(status, code, "the session is not logged in to the remote site")


def needs_remote_login(spec: RouteSpec, req: SimRequest) -> bool:
    remote = req.world.other(req.site)
    if not req.world.peer_reachable(req.site):
        return False  # the "server-down" column applies (see check)
    value = NOT_AUTHENTICATED.get(req.api, {}).get((spec.method, spec.path))
    if value == ERROR:
        return True
    if value == DEPENDS and "vcenter_id" in req.args:
        return req.args["vcenter_id"] == req.world.sites[remote].vc_guid
    if value == DEPENDS and "vr_id" in req.args:  # the paired VR server's replication servers
        return req.args["vr_id"] == req.world.sites[remote].vrms_id
    if value == DEPENDS and "srm_id" in req.args:  # the placeholder-datastore reads: the paired SRM's need it
        return req.world.site_of_srm(req.args["srm_id"]).name == remote
    return spec.remote
