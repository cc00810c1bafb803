"""What srmsim's route modules are written against: a request as a handler sees it, route tables, and the
vendor APIs' body shapes (``{..., _meta}`` entities, ``{list, _meta}`` pages with links, task answers,
``{error_code, message, op_id}`` errors).

A handler is a plain function ``(SimRequest) -> Reply`` that runs in a worker thread under the world lock;
it never sees Starlette. :mod:`srmctl.srmsim.server` turns a :class:`RouteTable` into Starlette routes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import urlencode

from srmctl.srmsim import list_query, render
from srmctl.srmsim.model import SimError, SimTask, not_found

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing's from Python 3.11; only the type checker reads it

    from srmctl.srmsim.bodies import Schema
    from srmctl.srmsim.remote import Contract, ServerDown
    from srmctl.srmsim.server import Simulator
    from srmctl.srmsim.sessions import SimSession
    from srmctl.srmsim.world import World

ROOTS = {"srm": "/api/rest/srm/v2", "vr": "/api/rest/vr/v2"}

Reply = tuple[int, Any]  # status, JSON body (None: no body)


@dataclass(frozen=True)
class SimRequest:
    """One API call as a handler sees it: the site and API it reached, the path below the API root, the
    path parameters, the parsed query and JSON body, and the caller's session."""

    sim: Simulator
    site: str
    api: str
    method: str
    path: str
    args: Mapping[str, str]
    query: Mapping[str, list[str]] = field(default_factory=dict)
    body: Any = None
    session: SimSession | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def world(self) -> World:
        return self.sim.world

    @property
    def base(self) -> str:
        """``https://host:port`` + API root, for paging links."""
        return f"https://127.0.0.1:{self.sim.ports[self.site]}{ROOTS[self.api]}"

    def value(self, key: str) -> str | None:
        """The first value of a query parameter, or None."""
        values = self.query.get(key) or []
        return values[0] if values else None

    def flag(self, name: str, default: bool = False) -> bool:
        values = self.query.get(name)
        return default if not values else values[0].lower() == "true"

    def step_id(self) -> int:
        """The ``recovery_step_id`` path parameter (custom steps have integer ids)."""
        value = self.args["recovery_step_id"]
        try:
            return int(value)
        except ValueError as error:
            raise not_found(f"recovery step {value}") from error

    def array(self) -> list[dict[str, Any]]:
        """The body, which must be a JSON array."""
        if not isinstance(self.body, list):
            raise SimError(400, "INVALID_BODY", "a JSON array is expected")
        return self.body


Handler = Callable[[SimRequest], Reply]


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str  # below the API root, with {name} parameters
    handler: Handler
    remote: bool  # the call acts on both sites: the session must have logged in to the remote site
    body: Schema | None = None  # the spec's request body (srmctl.srmsim.bodies), validated before the handler
    # The operation's x-dr-remote-site-connectivity-contract (srmsim/remote.py): its "not-authenticated" value
    # when ERROR or DEPENDS_ON_PROVIDED_PARAMS, its "server-down" value when ERROR; else None.
    not_authenticated: Contract | None = None
    server_down: ServerDown | None = None


class RouteOptions(TypedDict, total=False):
    """What a route declares besides its method and path (the fields of :class:`RouteSpec`)."""

    remote: bool
    body: Schema | None
    not_authenticated: Contract | None
    server_down: ServerDown | None


class RouteTable:
    """One resource family's routes, declared with decorators next to their handlers, each with the spec's
    remote-site connectivity contract (``not_authenticated=``, ``server_down=``; srmsim/remote.py)."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.specs: list[RouteSpec] = []

    def route(self, method: str, path: str = "", **options: Unpack[RouteOptions]) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            spec = RouteSpec(
                method,
                self.prefix + path,
                handler,
                options.get("remote", False),
                options.get("body"),
                options.get("not_authenticated"),
                options.get("server_down"),
            )
            self.specs.append(spec)
            return handler

        return register

    def get(self, path: str = "", **options: Unpack[RouteOptions]) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **options)

    def post(self, path: str = "", **options: Unpack[RouteOptions]) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **options)

    def put(self, path: str = "", **options: Unpack[RouteOptions]) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **options)

    def delete(self, path: str = "", **options: Unpack[RouteOptions]) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **options)


# --- bodies ---------------------------------------------------------------------------------------


def entity(body: dict[str, Any]) -> Reply:
    return 200, {**body, "_meta": {"errors": []}}


def no_content() -> Reply:
    return 204, None


def task_reply(task: SimTask) -> Reply:
    return 202, {**render.task(task), "_meta": {"errors": []}}


def tasks_reply(tasks: list[SimTask]) -> Reply:
    return 202, {
        "list": [render.task(t) for t in tasks],
        "_meta": {"errors": [], "total": len(tasks), "offset": 0, "limit": len(tasks)},
    }


def first_or_404(items: Iterable[dict[str, Any]], what: str) -> dict[str, Any]:
    for item in items:
        return item
    raise not_found(what)


def listing(req: SimRequest, items: list[dict[str, Any]], page_size: int | None = None) -> Reply:
    """A ``{list, _meta}`` page: filter_property/filter and sort_by/order_by (srmsim/list_query.py),
    offset/limit, links.next."""
    page_size = page_size or req.sim.page_size
    items = list_query.apply(req.query, items)
    try:
        offset = int(req.value("offset") or "0")
        limit = int(req.value("limit") or str(page_size))
    except ValueError as error:
        raise SimError(400, "INVALID_PARAMETER", f"offset/limit: {error}") from error
    limit = max(1, min(limit, page_size))
    page = items[offset : offset + limit]
    links: dict[str, Any] = {"self": {"href": _href(req, offset, limit)}}
    if offset + limit < len(items):
        links["next"] = {"href": _href(req, offset + limit, limit)}
    if offset > 0:
        links["previous"] = {"href": _href(req, max(0, offset - limit), limit)}
    return 200, {
        "list": page,
        "_meta": {"errors": [], "total": len(items), "offset": offset, "limit": limit, "links": links},
    }


def _href(req: SimRequest, offset: int, limit: int) -> str:
    query = {k: v for k, v in req.query.items() if k not in ("offset", "limit")}
    query["offset"], query["limit"] = [str(offset)], [str(limit)]
    return f"{req.base}{req.path}?{urlencode(query, doseq=True)}"


def error_body(code: str, message: str) -> dict[str, str]:
    """The vendor specs' ``ResponseError``."""
    return {"error_code": code, "message": message, "op_id": str(uuid.uuid4())}


def error_reply(error: SimError) -> Reply:
    """401 and 404 carry no body (as the specs declare them); every other error a ``ResponseError``."""
    return error.status, None if error.status in (401, 404) else error_body(error.code, error.message)


def encode(body: Any) -> bytes:
    return b"" if body is None else json.dumps(body).encode()
