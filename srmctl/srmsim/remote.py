"""Which calls need the remote login: the vendor specs' ``x-dr-remote-site-connectivity-contract`` extension,
declared on each route srmsim serves (``not_authenticated=`` and ``server_down=`` on the route decorators in
srmsim/routes/; ``NOT_AUTHENTICATED`` and ``SERVER_DOWN`` in srmsim/routes/__init__.py collect them, and
tests/srmsim/test_requests.py compares both with the specs, so a wrong or missing value fails; the specs are
never shipped). The routes that answer "not simulated" (srmsim/routes/unsimulated.py) declare none.

The extension says, per operation, what happens while the paired site is reachable but the session has not
logged in to it (``not-authenticated``): ``ERROR`` refuses the call, ``DEPENDS_ON_PROVIDED_PARAMS`` refuses it
when the parameters reach the remote site; the other values (``OK``, ``FULL_DATA``, ``PARTIAL_DATA``) answer,
and a route declares none for them. srmsim refuses every ``ERROR`` call, and a ``DEPENDS_ON_PROVIDED_PARAMS``
call whose ``vcenter_id`` names the paired site's vCenter; a route may also ask for the remote login itself
(``remote=True``, e.g. creating a recovery plan, which SRM keeps at both sites).

While the paired site is down, the ``server-down`` value applies instead: every operation whose value is
``ERROR`` is refused (``SERVER_DOWN``), before anything changes; ``DEPENDS_ON_PROVIDED_PARAMS`` is left to the
handlers (a planned migration needs the protected site, a disaster recovery does not), so a route declares
``server_down=ERROR`` or nothing.

**The lapse answer.** Neither spec names an answer for a call that needs a remote login the session lacks;
each of these operations documents 400 ("Bad request"), 401 ("Unauthorized - the client must authenticate
itself to get the requested response") and 500 ("Internal server error"). srmsim answers with the one its
configuration chooses (``remote_lapse_status``: 401 without a body, as the specs declare 401; 400 or 500 with
a ``ResponseError``), so a client that recognises only one of them fails a test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal

from srmctl.srmsim.model import SimError

if TYPE_CHECKING:
    from srmctl.srmsim.web import RouteSpec, SimRequest

ERROR: Final = "ERROR"
DEPENDS: Final = "DEPENDS_ON_PROVIDED_PARAMS"
Contract = Literal["ERROR", "DEPENDS_ON_PROVIDED_PARAMS"]  # "not-authenticated" values a route declares
ServerDown = Literal["ERROR"]  # the "server-down" value a route declares (DEPENDS: its handler decides)
LAPSE_STATUSES = (401, 400, 500)  # what each ERROR operation documents (see the module's docstring)


def check(spec: RouteSpec, req: SimRequest) -> None:
    """Refuse the call (400, ``ResponseError``) when it needs the session's remote login and that login is
    missing or has lapsed; a call that uses the remote login keeps it alive."""
    remote = req.world.other(req.site)
    if not req.world.peer_reachable(req.site) and spec.server_down == ERROR:
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
    value = spec.not_authenticated
    if value == ERROR:
        return True
    if value == DEPENDS and "vcenter_id" in req.args:
        return req.args["vcenter_id"] == req.world.sites[remote].vc_guid
    if value == DEPENDS and "vr_id" in req.args:  # the paired VR server's replication servers
        return req.args["vr_id"] == req.world.sites[remote].vrms_id
    if value == DEPENDS and "srm_id" in req.args:  # the placeholder-datastore reads: the paired SRM's need it
        return req.world.site_of_srm(req.args["srm_id"]).name == remote
    return spec.remote
