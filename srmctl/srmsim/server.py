"""HTTPS front of srmsim: one port per site serving both ``/api/rest/srm/v2`` and ``/api/rest/vr/v2``,
plus the ``/srmsim/*`` control endpoints (fault injection, state) used by tests and the lab.

Handlers only translate: parse the request, check the session, call the world's operations, render.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import secrets
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from srmctl.srmsim import protection as srm
from srmctl.srmsim import render
from srmctl.srmsim import replication as vr
from srmctl.srmsim.model import SimError, TaskFault, World, not_found

ROOTS = {"srm": "/api/rest/srm/v2", "vr": "/api/rest/vr/v2"}


@dataclass
class Session:
    user: str
    expires: float
    remote: set[str] = field(default_factory=set)


@dataclass
class HttpFault:
    method: str
    path: str  # fnmatch pattern on the path below the API root, e.g. "/pairings/*/replications"
    kind: str  # status | drop | delay
    count: int
    status: int = 503
    retry_after: int | None = None
    delay: float = 0.0
    site: str | None = None
    api: str | None = None


@dataclass
class Request:
    site: str
    api: str
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    args: dict[str, str]
    session: Session | None
    base: str  # https://host:port + root, for paging links

    def flag(self, name: str, default: bool = False) -> bool:
        values = self.query.get(name)
        return default if not values else values[0].lower() == "true"


Response = tuple[int, Any]
Handler = Callable[[Request], Response]


class Simulator:
    """The world plus everything HTTP needs: credentials, sessions, faults, routes."""

    def __init__(self, world: World, credentials: dict[str, tuple[str, str]], *, session_ttl: float = 1800.0,
                 page_size: int = 50) -> None:
        self.world = world
        self.credentials = credentials  # site -> (user, password)
        self.session_ttl = session_ttl
        self.page_size = page_size
        self.ports: dict[str, int] = {}
        self.sessions: dict[tuple[str, str], dict[str, Session]] = {}
        self.faults: list[HttpFault] = []
        self.lock = threading.Lock()
        self.routes: dict[str, list[tuple[str, re.Pattern[str], Handler, bool]]] = {"srm": [], "vr": []}
        _register_routes(self)

    def route(self, api: str, method: str, template: str, handler: Handler, remote: bool = False) -> None:
        pattern = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$")
        self.routes[api].append((method, pattern, handler, remote))

    # -- sessions --------------------------------------------------------------------------------

    def check_basic(self, site: str, header: str | None) -> str | None:
        if not header or not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None
        expected_user, expected_password = self.credentials[site]
        ok = secrets.compare_digest(user, expected_user) and secrets.compare_digest(password, expected_password)
        return user if ok else None

    def session(self, site: str, api: str, token: str | None) -> Session | None:
        if not token:
            return None
        with self.lock:
            store = self.sessions.setdefault((site, api), {})
            found = store.get(token)
            if found is None or found.expires < time.monotonic():
                store.pop(token, None)
                return None
            found.expires = time.monotonic() + self.session_ttl  # sliding expiry, like the appliance
            return found

    def expire_sessions(self, site: str | None = None) -> int:
        with self.lock:
            count = 0
            for (s, _), store in self.sessions.items():
                if site is None or s == site:
                    count += len(store)
                    store.clear()
            return count

    def take_fault(self, site: str, api: str, method: str, path: str) -> HttpFault | None:
        with self.lock:
            for fault in self.faults:
                if fault.count <= 0 or (fault.site and fault.site != site) or (fault.api and fault.api != api):
                    continue
                if fault.method in ("*", method) and fnmatch.fnmatchcase(path, fault.path):
                    fault.count -= 1
                    return fault
            return None


# --- list / entity helpers ------------------------------------------------------------------------


def query_value(req: Request, key: str) -> str | None:
    """The first value of a query parameter, or None."""
    values = req.query.get(key) or []
    return values[0] if values else None


def no_content(action: Callable[..., object], *args: Any) -> Response:
    """Run ``action`` for its effect and answer 204."""
    action(*args)
    return 204, None


def first_or_404(items: Iterable[dict[str, Any]], what: str) -> dict[str, Any]:
    for item in items:
        return item
    raise not_found(what)


def entity(body: dict[str, Any]) -> Response:
    return 200, {**body, "_meta": {"errors": []}}


def listing(req: Request, items: list[dict[str, Any]], page_size: int) -> Response:
    """A ``{list, _meta}`` page: filter_property/filter, offset/limit, links.next."""
    prop = query_value(req, "filter_property")
    wanted = req.query.get("filter") or []
    if prop and wanted:
        items = [i for i in items if str(i.get(prop)) in wanted]
    try:
        offset = int((req.query.get("offset") or ["0"])[0])
        limit = int((req.query.get("limit") or [str(page_size)])[0])
    except ValueError as error:
        raise SimError(400, "INVALID_PARAMETER", f"offset/limit: {error}") from error
    limit = max(1, min(limit, page_size))
    page = items[offset:offset + limit]
    links: dict[str, Any] = {"self": {"href": _href(req, offset, limit)}}
    if offset + limit < len(items):
        links["next"] = {"href": _href(req, offset + limit, limit)}
    if offset > 0:
        links["previous"] = {"href": _href(req, max(0, offset - limit), limit)}
    return 200, {"list": page, "_meta": {"errors": [], "total": len(items), "offset": offset, "limit": limit,
                                         "links": links}}


def _href(req: Request, offset: int, limit: int) -> str:
    query = {k: v for k, v in req.query.items() if k not in ("offset", "limit")}
    query["offset"], query["limit"] = [str(offset)], [str(limit)]
    return f"{req.base}{req.path}?{urlencode(query, doseq=True)}"


def task_response(task: Any) -> Response:
    return 202, {**render.task(task), "_meta": {"errors": []}}


def tasks_response(tasks: list[Any]) -> Response:
    return 202, {"list": [render.task(t) for t in tasks], "_meta": {"errors": [], "total": len(tasks),
                                                                     "offset": 0, "limit": len(tasks)}}


# --- routes ---------------------------------------------------------------------------------------


def _register_common_routes(sim: Simulator, api: str) -> None:
    """Session, pairing and task routes that SRM and VR share."""
    w = sim.world
    task_key = "taskId" if api == "srm" else "task_id"
    sim.route(api, "GET", "/session", lambda req: (200, {"username": req.session.user if req.session else ""}))
    sim.route(api, "GET", "/pairings", lambda req: listing(req, [render.pairing(w, req.site, api, sim.ports)],
                                                           sim.page_size))
    sim.route(api, "GET", "/pairings/{pairing_id}", lambda req: entity(render.pairing(w, req.site, api, sim.ports)))
    # POST remote-session is answered by the dispatcher itself (it needs the Authorization header).
    sim.route(api, "POST", "/pairings/{pairing_id}/remote-session", lambda req: (204, None))
    sim.route(api, "GET", "/pairings/{pairing_id}/remote-session",
              lambda req: (200, {"username": sim.credentials[w.other(req.site)][0]}))
    sim.route(api, "GET", "/tasks", lambda req: listing(
        req, [render.task(t) for t in w.tasks.values() if t.site == req.site and t.api == api], sim.page_size))
    sim.route(api, "GET", "/tasks/{" + task_key + "}", lambda req: entity(render.task(_task(w, req, task_key))))


def _register_routes(sim: Simulator) -> None:  # noqa: C901 - a flat route table reads best
    w = sim.world

    def pairing_check(req: Request) -> None:
        if req.args.get("pairing_id") not in (None, w.pairing_id):
            raise not_found(f"pairing {req.args['pairing_id']}")

    def plan_of(req: Request) -> Any:
        return w.plan(req.args["plan_id"])

    for api in ("srm", "vr"):
        _register_common_routes(sim, api)

    # SRM
    sim.route("srm", "GET", "/server/info", lambda req: entity({
        **render.server(w.site(req.site), "srm", sim.ports[req.site]), "vc_guid": w.site(req.site).vc_guid,
        "vc_name": f"vc-{req.site}", "extension_key": "com.vmware.vcDr"}))
    sim.route("srm", "GET", "/pairings/{pairing_id}/vcenters", lambda req: listing(
        req, [render.server(w.site(s), "vc", sim.ports[s]) for s in (req.site, w.other(req.site))], sim.page_size))
    sim.route("srm", "GET", "/pairings/{pairing_id}/vcenters/{vcenter_id}/replicated-vms", lambda req: listing(
        req, [{"id": vm.id, "name": vm.name, "template": False, "inside_vapp": False,
               "replication_status": _srm_replication_status(w, vm.id)}
              for vm in w.site_of_vc(req.args["vcenter_id"]).vms.values()
              if w.replication_of_vm(vm.id) and not any(vm.id in g.vm_ids for g in w.groups.values())],
        sim.page_size))
    pg = "/pairings/{pairing_id}/protection-management/groups"
    sim.route("srm", "GET", pg, lambda req: listing(req, [render.group(w, g) for g in w.groups.values()],
                                                    sim.page_size))
    sim.route("srm", "POST", pg, lambda req: task_response(srm.create_group(w, req.site, req.body)), remote=True)
    sim.route("srm", "GET", pg + "/{group_id}", lambda req: entity(render.group(w, w.group(req.args["group_id"]))))
    sim.route("srm", "DELETE", pg + "/{group_id}",
              lambda req: task_response(srm.delete_group(w, req.site, req.args["group_id"])))
    sim.route("srm", "POST", pg + "/{group_id}/actions/reconfigure",
              lambda req: task_response(srm.reconfigure_group(w, req.site, req.args["group_id"], req.body)))
    sim.route("srm", "POST", pg + "/{group_id}/actions/configure-all-vms",
              lambda req: tasks_response([]) if w.group(req.args["group_id"]) else tasks_response([]))
    sim.route("srm", "GET", pg + "/{group_id}/vms", lambda req: listing(
        req, [render.group_vm(w, w.group(req.args["group_id"]), v) for v in w.group(req.args["group_id"]).vm_ids],
        sim.page_size))
    sim.route("srm", "GET", pg + "/{group_id}/vms/{vm_id}", lambda req: entity(
        render.group_vm(w, w.group(req.args["group_id"]), _member(w.group(req.args["group_id"]).vm_ids,
                                                                 req.args["vm_id"]))))
    sim.route("srm", "POST", pg + "/{group_id}/vms/{vm_id}/actions/remove-from-group", lambda req: task_response(
        srm.reconfigure_group(w, req.site, req.args["group_id"], {"hbr_spec": {"vms": [
            v for v in w.group(req.args["group_id"]).vm_ids
            if v != _member(w.group(req.args["group_id"]).vm_ids, req.args["vm_id"])]}})))
    sim.route("srm", "GET", pg + "/{group_id}/recovery-plans", lambda req: listing(
        req, [render.plan(w, p) for p in srm.plans_of_group(w, w.group(req.args["group_id"]).id)], sim.page_size))

    pl = "/pairings/{pairing_id}/recovery-management/plans"
    sim.route("srm", "GET", pl, lambda req: listing(req, [render.plan(w, p) for p in w.plans.values()],
                                                    sim.page_size))
    sim.route("srm", "POST", pl, lambda req: task_response(srm.create_plan(w, req.site, req.body)), remote=True)
    sim.route("srm", "GET", pl + "/{plan_id}", lambda req: entity(render.plan(w, plan_of(req))))
    sim.route("srm", "DELETE", pl + "/{plan_id}", lambda req: task_response(srm.delete_plan(w, req.site,
                                                                                            req.args["plan_id"])))
    sim.route("srm", "POST", pl + "/{plan_id}/actions/reconfigure",
              lambda req: task_response(srm.reconfigure_plan(w, req.site, req.args["plan_id"], req.body)))
    runs = {"test": srm.run_test, "cleanup": srm.run_cleanup, "recovery": srm.run_recovery,
            "reprotect": srm.run_reprotect}
    for action, run in runs.items():
        sim.route("srm", "POST", pl + "/{plan_id}/actions/" + action, _plan_action(w, run),
                  remote=action != "recovery")
    sim.route("srm", "POST", pl + "/{plan_id}/actions/cancel",
              lambda req: no_content(srm.cancel, w, req.args["plan_id"]))
    sim.route("srm", "GET", pl + "/{plan_id}/protection-groups", lambda req: listing(
        req, [render.group(w, w.group(g)) for g in plan_of(req).group_ids], sim.page_size))
    sim.route("srm", "GET", pl + "/{plan_id}/vms", lambda req: listing(
        req, [render.plan_vm(w, plan_of(req), vm, g) for vm, g in srm.plan_vms(w, plan_of(req))], sim.page_size))
    sim.route("srm", "GET", pl + "/{plan_id}/vms/{vm_id}", lambda req: entity(first_or_404(
        (render.plan_vm(w, plan_of(req), vm, g) for vm, g in srm.plan_vms(w, plan_of(req))
         if vm.id == req.args["vm_id"]), f"VM {req.args['vm_id']} in plan")))

    rs = pl + "/{plan_id}/vms/{vm_id}/recovery-settings"

    def settings_args(req: Request) -> tuple[Any, str]:
        plan = plan_of(req)
        srm.settings_of(w, plan, req.args["vm_id"])
        return plan, req.args["vm_id"]

    sim.route("srm", "GET", rs, lambda req: entity({"recovery_settings": render.settings(w, *settings_args(req)),
                                                    "status": "OK", "protection_group_support_vmotion": False,
                                                    "vmotion_migration_supported": False}))
    sim.route("srm", "POST", rs + "/actions/update", lambda req: task_response(
        srm.update_settings(w, req.site, req.args["plan_id"], req.args["vm_id"], req.body)))
    sim.route("srm", "GET", rs + "/priority", lambda req: entity(
        {"priority": srm.settings_of(w, plan_of(req), req.args["vm_id"]).priority}))
    sim.route("srm", "PUT", rs + "/priority", lambda req: task_response(
        srm.set_priority(w, req.site, req.args["plan_id"], req.args["vm_id"], req.body["priority"])))
    sim.route("srm", "GET", rs + "/dependent-vms", lambda req: listing(
        req, render.dependent_vms(w, *settings_args(req)), sim.page_size))
    sim.route("srm", "POST", rs + "/dependent-vms/actions/update", lambda req: task_response(
        srm.set_dependencies(w, req.site, req.args["plan_id"], req.args["vm_id"], req.body.get("dependent_vms") or [])))

    def validate(req: Request) -> Response:
        plan, vm_id = settings_args(req)
        deps = req.body.get("dependent_vms") or []
        if any(d not in plan.settings for d in deps):
            return 200, {"valid": False, "issue_type": "UNKNOWN"}
        issue = srm.check_dependencies(w, plan, vm_id, deps)
        return 200, {"valid": issue is None, **({"issue_type": issue} if issue else {})}

    sim.route("srm", "POST", rs + "/dependent-vms/actions/validate", validate)
    sim.route("srm", "GET", rs + "/ip-customization", lambda req: entity(render.ip_customization(
        *settings_args(req))))
    sim.route("srm", "POST", rs + "/ip-customization/actions/update", lambda req: task_response(
        srm.set_ip(w, req.site, req.args["plan_id"], req.args["vm_id"], req.body)))
    sim.route("srm", "GET", rs + "/summary", lambda req: entity(render.summary(w, *settings_args(req))))

    prompts = pl + "/{plan_id}/recovery-steps/user-prompts"
    sim.route("srm", "GET", prompts, lambda req: listing(
        req, [render.prompt(p) for p in list(plan_of(req).prompts.values())], sim.page_size))
    sim.route("srm", "GET", prompts + "/{prompt_id}", lambda req: entity(render.prompt(
        plan_of(req).prompts.get(req.args["prompt_id"]) or _raise(not_found("prompt")))))
    sim.route("srm", "POST", prompts + "/{prompt_id}/actions/dismiss-prompt",
              lambda req: no_content(srm.dismiss, w, req.args["plan_id"], req.args["prompt_id"]))
    st = pl + "/{plan_id}/recovery-steps/{view_mode}"
    sim.route("srm", "GET", st, lambda req: listing(req, render.steps(plan_of(req), req.args["view_mode"]),
                                                    sim.page_size))
    sim.route("srm", "POST", st, lambda req: task_response(
        srm.add_custom_step(w, req.site, req.args["plan_id"], req.args["view_mode"], req.body)))
    sim.route("srm", "GET", st + "/{recovery_step_id}", lambda req: entity(first_or_404(
        (s for s in render.steps(plan_of(req), req.args["view_mode"]) if str(s["id"]) == req.args["recovery_step_id"]),
        "recovery step")))
    sim.route("srm", "DELETE", st + "/{recovery_step_id}", lambda req: task_response(srm.delete_custom_step(
        w, req.site, req.args["plan_id"], req.args["view_mode"], _int(req.args["recovery_step_id"]))))
    sim.route("srm", "GET", st + "/{recovery_step_id}/callout-data", lambda req: entity(render.callout(
        srm.custom_step(plan_of(req), req.args["view_mode"], _int(req.args["recovery_step_id"])))))
    sim.route("srm", "POST", st + "/{recovery_step_id}/callout-data/actions/edit", lambda req: task_response(
        srm.edit_custom_step(w, req.site, req.args["plan_id"], req.args["view_mode"],
                             _int(req.args["recovery_step_id"]), req.body)))

    # VR
    sim.route("vr", "GET", "/info", lambda req: entity({
        **render.server(w.site(req.site), "vr", sim.ports[req.site]), "vc_guid": w.site(req.site).vc_guid,
        "vc_name": f"vc-{req.site}", "extension_key": "com.vmware.vcHms"}))
    rp = "/pairings/{pairing_id}/replications"

    def replications(req: Request) -> Response:
        source = query_value(req, "source_vc_guid")
        items = [r for r in w.replications.values() if not source or w.site(r.source_site).vc_guid == source]
        return listing(req, [render.replication(w, r) for r in items], sim.page_size)

    sim.route("vr", "GET", rp, replications)
    sim.route("vr", "POST", rp, lambda req: tasks_response(vr.configure(w, req.site, _array(req.body))),
              remote=True)
    sim.route("vr", "GET", rp + "/{replication_id}", lambda req: entity(render.replication(
        w, w.replication(req.args["replication_id"]))))
    sim.route("vr", "DELETE", rp + "/{replication_id}", lambda req: task_response(vr.remove(
        w, req.site, req.args["replication_id"], req.flag("retain_replica_disks"), "Delete")))
    sim.route("vr", "POST", rp + "/{replication_id}/actions/unconfigure", lambda req: task_response(vr.remove(
        w, req.site, req.args["replication_id"], req.flag("retain_replica_disks"), "Unconfigure")))
    sim.route("vr", "POST", rp + "/{replication_id}/actions/pause", lambda req: task_response(
        vr.set_paused(w, req.site, req.args["replication_id"], True)))
    sim.route("vr", "POST", rp + "/{replication_id}/actions/resume", lambda req: task_response(
        vr.set_paused(w, req.site, req.args["replication_id"], False)))
    sim.route("vr", "POST", rp + "/{replication_id}/actions/sync", lambda req: task_response(
        vr.sync_now(w, req.site, req.args["replication_id"])))
    sim.route("vr", "POST", rp + "/{replication_id}/actions/reconfigure", lambda req: task_response(
        vr.reconfigure(w, req.site, req.args["replication_id"], req.body)))
    sim.route("vr", "GET", rp + "/{replication_id}/disks", lambda req: listing(req, render.replicated_disk(
        w, w.replication(req.args["replication_id"]), w.find_vm(w.replication(req.args["replication_id"]).vm_id)),
        sim.page_size))
    vc = "/pairings/{pairing_id}/vcenters/{vcenter_id}"
    def vcenter_vms(req: Request) -> Response:
        site = w.site_of_vc(req.args["vcenter_id"])
        w.refresh(site.name)
        return listing(req, [render.vr_vm(w, vm) for vm in sorted(site.vms.values(), key=lambda v: v.name)
                             if vm.registered
                             and not (req.flag("suitable_for_replication") and w.replication_of_vm(vm.id))],
                       sim.page_size)

    sim.route("vr", "GET", vc + "/vms", vcenter_vms)
    sim.route("vr", "GET", vc + "/vms/{vm_id}/disks", lambda req: listing(req, render.vm_disks(
        w, _vm_at(w, req.args["vcenter_id"], req.args["vm_id"])), sim.page_size))
    sim.route("vr", "GET", vc + "/datastores", lambda req: listing(req, [
        render.datastore(w.site_of_vc(req.args["vcenter_id"]), ds)
        for ds in w.site_of_vc(req.args["vcenter_id"]).datastores], sim.page_size))
    sim.route("vr", "POST", vc + "/datastores/{datastore_id}/actions/find-seeds", lambda req: listing(
        req, vr.find_seeds(w, req.args["datastore_id"], _array(req.body)), 10_000))

    sim.pairing_check = pairing_check  # type: ignore[attr-defined]


def _srm_replication_status(world: World, vm_id: str) -> str:
    replication = world.replication_of_vm(vm_id)
    status = replication.status if replication else "UNKNOWN"
    return "ERROR_OCCURRED" if status == "ERROR" else status  # SRM's enum spells VR's ERROR differently


def _plan_action(world: World, run: Callable[..., Any]) -> Handler:
    """The handler of a plan action (test, cleanup, recovery, reprotect): start it and answer with its task."""
    return lambda req: task_response(run(world, req.site, req.args["plan_id"], req.body or {}))


def _task(world: World, req: Request, key: str) -> Any:
    task = world.tasks.get(req.args[key])
    if task is None or task.site != req.site or task.api != req.api:
        raise not_found(f"task {req.args[key]}")
    return task


def _member(ids: list[str], vm_id: str) -> str:
    if vm_id not in ids:
        raise not_found(f"VM {vm_id} in protection group")
    return vm_id


def _vm_at(world: World, vc_guid: str, vm_id: str) -> Any:
    site = world.site_of_vc(vc_guid)
    if vm_id not in site.vms:
        raise not_found(f"VM {vm_id}")
    return site.vms[vm_id]


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError as error:
        raise not_found(f"recovery step {value}") from error


def _array(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, list):
        raise SimError(400, "INVALID_BODY", "a JSON array is expected")
    return body


def _raise(error: Exception) -> Any:
    raise error


# --- the HTTP handler -----------------------------------------------------------------------------


def make_handler(sim: Simulator, site: str, control: Callable[[Any, str, str, Any], Response]) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "srmsim/1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if not raw:
                return None
            try:
                return json.loads(raw)
            except ValueError as error:
                raise SimError(400, "INVALID_JSON", f"request body is not JSON: {error}") from error

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _drop(self) -> None:
            self.close_connection = True
            self.connection.shutdown(2) if hasattr(self.connection, "shutdown") else None

        def _handle(self, method: str) -> None:
            split = urlsplit(self.path)
            path = unquote(split.path)
            query = parse_qs(split.query)
            try:
                body = self._body()
                if path.startswith("/srmsim/"):
                    status, payload = control(sim, site, method, (path, query, body))
                    self._send(status, payload)
                    return
                api = next((a for a, root in ROOTS.items() if path.startswith(root + "/")), None)
                if api is None:
                    self._send(404, None)
                    return
                sub = path[len(ROOTS[api]):]
                if not sim.world.sites[site].up:
                    self._drop()
                    return
                fault = sim.take_fault(site, api, method, sub)
                if fault is not None and self._inject(fault):
                    return
                status, payload = self._dispatch(api, method, sub, query, body)
                self._send(status, payload)
            except SimError as error:
                payload = None if error.status in (401, 404) else {
                    "error_code": error.code, "message": error.message, "op_id": str(uuid.uuid4())}
                self._send(error.status, payload)

        def _inject(self, fault: HttpFault) -> bool:
            """Apply an injected fault; True when the request is answered (or dropped) by it."""
            if fault.kind == "drop":
                self._drop()
                return True
            if fault.kind == "delay":
                time.sleep(fault.delay)
                return False
            headers = {"X-Srmsim-Fault": "1"}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            payload = {"error_code": "INJECTED_FAULT", "message": f"srmsim injected HTTP {fault.status}",
                       "op_id": str(uuid.uuid4())}
            self._send(fault.status, payload, headers)
            return True

        def _dispatch(self, api: str, method: str, sub: str, query: dict[str, list[str]], body: Any) -> Response:
            token = self.headers.get("x-dr-session")
            if sub == "/session" and method == "POST":
                user = sim.check_basic(site, self.headers.get("Authorization"))
                if user is None:
                    raise SimError(401, "UNAUTHENTICATED", "bad credentials")
                session_id = secrets.token_hex(16)
                with sim.lock:
                    sim.sessions.setdefault((site, api), {})[session_id] = Session(
                        user=user, expires=time.monotonic() + sim.session_ttl)
                return 200, {"session_id": session_id}
            session = sim.session(site, api, token)
            if session is None:
                raise SimError(401, "UNAUTHENTICATED", "no valid x-dr-session")
            if sub == "/session" and method == "DELETE":
                with sim.lock:
                    sim.sessions[(site, api)].pop(token or "", None)
                return 204, None
            for route_method, pattern, handler, needs_remote in sim.routes[api]:
                match = pattern.match(sub)
                if route_method != method or match is None:
                    continue
                args = match.groupdict()
                req = Request(site=site, api=api, method=method, path=sub, query=query, body=body, args=args,
                              session=session, base=f"https://127.0.0.1:{sim.ports[site]}{ROOTS[api]}")
                if "pairing_id" in args:
                    sim.pairing_check(req)  # type: ignore[attr-defined]
                if sub.endswith("/remote-session") and method == "POST":
                    return self._remote_login(session, args["pairing_id"])
                if needs_remote and args.get("pairing_id") not in session.remote:
                    raise SimError(400, "REMOTE_SITE_NOT_AUTHENTICATED", "log in to the remote site first "
                                   "(POST /pairings/{pairing_id}/remote-session)")
                with sim.world.lock:
                    return handler(req)
            if any(p.match(sub) for _, p, _, _ in sim.routes[api]) or sub.endswith("/remote-session"):
                if sub.endswith("/remote-session") and method == "POST":
                    raise not_found(f"pairing {sub}")
                raise SimError(400, "METHOD_NOT_ALLOWED", f"{method} not supported on {sub}")
            raise not_found(sub)

        def _remote_login(self, session: Session, pairing_id: str) -> Response:
            remote = sim.world.other(site)
            if not sim.world.sites[remote].up:
                raise SimError(500, "REMOTE_SITE_DOWN", f"site {remote} is not reachable")
            if sim.check_basic(remote, self.headers.get("Authorization")) is None:
                raise SimError(401, "UNAUTHENTICATED", "remote credentials refused")
            session.remote.add(pairing_id)
            return 204, None

        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            self._handle("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._handle("POST")

        def do_PUT(self) -> None:  # noqa: N802
            self._handle("PUT")

        def do_DELETE(self) -> None:  # noqa: N802
            self._handle("DELETE")

    return Handler


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve_site(sim: Simulator, site: str, host: str, port: int, cert: str, key: str,
               control: Callable[[Any, str, str, Any], Response]) -> SiteServer:
    server = SiteServer((host, port), make_handler(sim, site, control))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    sim.ports[site] = server.server_address[1]
    threading.Thread(target=server.serve_forever, name=f"srmsim-{site}", daemon=True).start()
    return server


def add_task_fault(world: World, spec: dict[str, Any]) -> None:
    with world.lock:
        world.task_faults.append(TaskFault(pattern=spec.get("task", "*"), kind=spec.get("kind", "error"),
                                           count=int(spec.get("count", 1)),
                                           message=spec.get("message", "Injected failure"),
                                           factor=float(spec.get("factor", 10.0))))
