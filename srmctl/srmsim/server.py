"""srmsim's HTTPS front: Starlette apps served by uvicorn, one port (and one TLS certificate) per site, each
serving ``/api/rest/srm/v2``, ``/api/rest/vr/v2`` and srmsim's ``/srmsim/*`` control endpoints.

Per API the layers are, outermost first: :class:`~srmctl.srmsim.faults.FaultMiddleware` (site down,
injected faults), :class:`~srmctl.srmsim.sessions.SessionMiddleware` (``x-dr-session``), then the routes of
:mod:`srmctl.srmsim.routes`. Each route's endpoint checks the pairing id and, for calls that act on both
sites, the remote login, then runs its handler in a worker thread under the world lock. Errors keep the
vendor specs' shapes: 401 and 404 without a body, others ``{error_code, message, op_id}``; a wrong method
answers 405 ``METHOD_NOT_ALLOWED`` in that shape.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from srmctl.srmsim import bodies, body_refs, ids, remote
from srmctl.srmsim.faults import FaultMiddleware, FaultStore, droppable_protocol
from srmctl.srmsim.model import SimError
from srmctl.srmsim.routes import TABLES, control
from srmctl.srmsim.routes.vr_servers import NO_404
from srmctl.srmsim.sessions import SESSION, SessionMiddleware, SessionStore, below_root
from srmctl.srmsim.web import ROOTS, Reply, RouteSpec, SimRequest, encode, error_body, error_reply
from srmctl.srmsim.world import World


class Simulator:
    """The world plus what HTTP needs: credentials and sessions, injected faults, each site's port."""

    def __init__(
        self,
        world: World,
        credentials: dict[str, tuple[str, str]],
        *,
        session_ttl: float = 1800.0,
        remote_session_ttl: float | None = None,
        page_size: int = 50,
        remote_lapse_status: int = 401,
    ) -> None:
        if remote_lapse_status not in remote.LAPSE_STATUSES:
            raise ValueError(f"remote_lapse_status {remote_lapse_status}: choose from {remote.LAPSE_STATUSES}")
        self.remote_lapse_status = remote_lapse_status  # the answer to a call whose remote login lapsed
        self.world = world
        self.sessions = SessionStore(credentials, session_ttl, remote_session_ttl)
        self.faults = FaultStore()
        self.page_size = page_size
        self.ports: dict[str, int] = {}

    def is_up(self, site: str) -> bool:
        return self.world.sites[site].up


# --- apps -----------------------------------------------------------------------------------------


def site_app(sim: Simulator, site: str) -> Starlette:
    """Everything one site's port serves; any other path answers 404 without a body."""
    mounts = [Mount(root, app=_api_app(sim, site, api)) for api, root in ROOTS.items()]
    mounts.append(Mount("/srmsim", app=_control_app(sim, site)))
    return Starlette(routes=mounts, exception_handlers={HTTPException: _api_http_error})


def _api_app(sim: Simulator, site: str, api: str) -> Starlette:
    app = Starlette(
        routes=_routes(sim, site, api, TABLES[api], locked=True),
        middleware=[
            Middleware(FaultMiddleware, faults=sim.faults, is_up=sim.is_up, site=site, api=api),
            Middleware(SessionMiddleware, store=sim.sessions, site=site, api=api),
        ],
        exception_handlers={SimError: _sim_error, HTTPException: _api_http_error, Exception: _internal_error},
    )
    app.router.redirect_slashes = False  # the appliance has no trailing-slash redirects: 404
    return app


def _control_app(sim: Simulator, site: str) -> Starlette:
    routes = _routes(sim, site, "control", control.ROUTES.specs, locked=False)
    app = Starlette(routes=routes, exception_handlers={SimError: _sim_error, HTTPException: _control_http_error})
    app.router.redirect_slashes = False
    return app


def _routes(sim: Simulator, site: str, api: str, specs: list[RouteSpec], *, locked: bool) -> list[Route]:
    """One Starlette route per path with all its methods, so that a 405 lists them all in ``Allow``."""
    by_path: dict[str, dict[str, RouteSpec]] = {}
    for spec in specs:
        by_path.setdefault(spec.path, {})[spec.method] = spec
    return [
        Route(path, _endpoint(sim, site, api, methods, locked=locked), methods=list(methods))
        for path, methods in by_path.items()
    ]


def _endpoint(
    sim: Simulator, site: str, api: str, specs: dict[str, RouteSpec], *, locked: bool
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        spec = specs["GET" if request.method == "HEAD" else request.method]
        req = SimRequest(
            sim=sim,
            site=site,
            api=api,
            method=request.method,
            path=below_root(request.scope),
            args=dict(request.path_params),
            query=parse_qs(request.url.query),
            body=await _json_body(request),
            session=request.scope.get(SESSION),
            headers=request.headers,
        )
        return _respond(*await run_in_threadpool(_call, spec, req, locked))

    return endpoint


def _call(spec: RouteSpec, req: SimRequest, locked: bool) -> Reply:
    """The checks every call passes, in order: the pairing, the remote login where the specs' connectivity
    contract requires it (:mod:`srmctl.srmsim.remote`), the request body against the spec's schema
    (:mod:`srmctl.srmsim.bodies`); then the handler."""
    if not locked:  # srmsim's own control endpoints
        return spec.handler(req)
    world = req.world
    with world.lock:
        try:
            if "pairing_id" in req.args:
                with body_refs.in_body("pairing_id") if (spec.method, spec.path) in NO_404 else nullcontext():
                    world.check_pairing(req.args["pairing_id"], req.api, req.site)
            remote.check(spec, req)
            if spec.body is not None:
                bodies.check(spec.body, req.body)
            # Each server answers with its own ids and refuses the peer's (srmsim/ids.py).
            req = ids.inbound(req)
            status, body = spec.handler(req)
            return status, ids.outbound(world, req.site, req.api, body)
        except SimError as failure:
            raise ids.error(world, req.site, req.api, failure) from failure


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as error:
        raise SimError(400, "INVALID_JSON", f"request body is not JSON: {error}") from error


def _respond(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        encode(body), status_code=status, headers=headers, media_type=None if body is None else "application/json"
    )


async def _sim_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, SimError)
    return _respond(*error_reply(error))


async def _api_http_error(request: Request, error: Exception) -> Response:
    """Routing errors: an unknown path is 404 (no body), a known path with another method 405."""
    assert isinstance(error, HTTPException)
    if error.status_code == 405:
        message = f"{request.method} not supported on {below_root(request.scope)}"
        return _respond(405, error_body("METHOD_NOT_ALLOWED", message), dict(error.headers or {}))
    return _respond(error.status_code, None)


async def _control_http_error(request: Request, error: Exception) -> Response:
    return _respond(404, {"error": f"no control endpoint {request.method} {request.url.path}"})


async def _internal_error(request: Request, error: Exception) -> Response:
    return _respond(500, error_body("INTERNAL_ERROR", f"srmsim internal error: {error!r}"))


# --- serving --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listener:
    """A site's bound socket and TLS certificate."""

    site: str
    sock: socket.socket
    cert: str
    key: str


def listen(sim: Simulator, site: str, host: str, port: int, cert: str, key: str) -> Listener:
    """Bind a site's port now (0: any free one), so that its number is known before serving starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sim.ports[site] = sock.getsockname()[1]
    return Listener(site, sock, cert, key)


def serve(sim: Simulator, listeners: list[Listener], *, timeout: float = 30.0) -> threading.Thread:
    """Serve every site from one event loop in a daemon thread; returns once all of them accept calls.

    The loop runs outside the main thread so that uvicorn leaves the signal handlers alone: SIGTERM ends
    srmsim at once and SIGINT reaches the main thread, as for any simulator process the lab stops by pid.
    uvicorn is imported here, not at module level: its package imports click for its own command line, and
    srmsim's modules must import without click (tests/test_boundaries.py).
    """
    import uvicorn

    protocol = droppable_protocol()
    servers = [
        (
            uvicorn.Server(
                uvicorn.Config(
                    site_app(sim, listener.site),
                    ssl_certfile=listener.cert,
                    ssl_keyfile=listener.key,
                    http=protocol,
                    ws="none",
                    lifespan="off",
                    loop="asyncio",
                    log_config=None,
                    log_level="warning",
                    access_log=False,
                    server_header=False,
                    headers=[("server", "srmsim/1")],
                    timeout_keep_alive=3600,
                )
            ),
            listener.sock,
        )  # keep-alive as long as the clients want it, as before
        for listener in listeners
    ]
    started = threading.Event()
    failure: list[BaseException] = []

    async def run() -> None:
        tasks = [asyncio.create_task(server.serve(sockets=[sock])) for server, sock in servers]
        while not all(server.started for server, _ in servers):
            if any(task.done() for task in tasks):
                raise RuntimeError("a site's server stopped while starting")
            await asyncio.sleep(0.005)
        started.set()
        await asyncio.gather(*tasks)

    def main() -> None:
        try:
            asyncio.run(run())
        except BaseException as error:  # noqa: BLE001 - reported to the caller waiting for the start
            failure.append(error)
        finally:
            started.set()

    thread = threading.Thread(target=main, name="srmsim-http", daemon=True)
    thread.start()
    if not started.wait(timeout) or failure:
        raise RuntimeError(f"srmsim's HTTPS servers did not start: {failure[0] if failure else 'timeout'}")
    return thread
