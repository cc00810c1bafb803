"""Sessions and pairings, both APIs: login (``POST /session``), logout, who am I, the pairing (one, with
both sites' servers), remote login; and SRM's ``/server/info`` and pairing vCenters, VR's ``/info``."""

from __future__ import annotations

from srmctl.srmsim import render
from srmctl.srmsim.model import SimError
from srmctl.srmsim.remote import ERROR
from srmctl.srmsim.web import Reply, RouteTable, SimRequest, entity, listing, no_content

COMMON = RouteTable()  # served under both API roots
SRM = RouteTable()
VR = RouteTable()


@COMMON.post("/session")
def login(req: SimRequest) -> Reply:
    return 200, {"session_id": req.sim.sessions.login(req.site, req.api, req.headers.get("authorization"))}


@COMMON.get("/session")
def whoami(req: SimRequest) -> Reply:
    return 200, {"username": req.session.user if req.session else ""}


@COMMON.delete("/session")
def logout(req: SimRequest) -> Reply:
    req.sim.sessions.logout(req.site, req.api, req.headers.get("x-dr-session"))
    return no_content()


@COMMON.get("/pairings")
def pairings(req: SimRequest) -> Reply:
    return listing(req, [render.pairing(req.world, req.site, req.api, req.sim.ports)])


@COMMON.get("/pairings/{pairing_id}")
def pairing(req: SimRequest) -> Reply:
    return entity(render.pairing(req.world, req.site, req.api, req.sim.ports))


@COMMON.post("/pairings/{pairing_id}/remote-session", server_down=ERROR)
def remote_login(req: SimRequest) -> Reply:
    """Log the session in to the paired site too, with that site's credentials (Basic)."""
    remote = req.world.other(req.site)
    if not req.world.sites[remote].up:
        raise SimError(500, "REMOTE_SITE_DOWN", f"site {remote} is not reachable")
    if req.sim.sessions.check_basic(remote, req.headers.get("authorization")) is None:
        raise SimError(401, "UNAUTHENTICATED", "remote credentials refused")
    assert req.session is not None  # the session middleware let the call through
    req.sim.sessions.remote_login(req.session, req.args["pairing_id"])
    return no_content()


@COMMON.get("/pairings/{pairing_id}/remote-session", not_authenticated=ERROR, server_down=ERROR)
def remote_user(req: SimRequest) -> Reply:
    return 200, {"username": req.sim.sessions.user(req.world.other(req.site))}


def _server_info(req: SimRequest, extension_key: str) -> Reply:
    site = req.world.site(req.site)
    return entity(
        {
            **render.server(site, req.api, req.sim.ports[req.site]),
            "vc_guid": site.vc_guid,
            "vc_name": f"vc-{req.site}",
            "extension_key": extension_key,
        }
    )


@SRM.get("/server/info")
def srm_info(req: SimRequest) -> Reply:
    return _server_info(req, "com.vmware.vcDr")


@SRM.get("/pairings/{pairing_id}/vcenters")
def vcenters(req: SimRequest) -> Reply:
    w = req.world
    return listing(req, [render.server(w.site(s), "vc", req.sim.ports[s]) for s in (req.site, w.other(req.site))])


@VR.get("/info")
def vr_info(req: SimRequest) -> Reply:
    return _server_info(req, "com.vmware.vcHms")
