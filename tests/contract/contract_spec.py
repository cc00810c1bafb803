"""The contract machinery: STRICT copies of the vendor OpenAPI documents (additionalProperties: false
everywhere, fields srmctl reads required), a recorder for what srmctl's clients send and srmsim answers, the
validator, and the catalogue of every operation the SRM and VR clients can call (derived by driving each
public client method, so a new method shows up without anyone listing it)."""

from __future__ import annotations

import contextlib
import copy
import enum
import inspect
import json
import re
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx
from pydantic import BaseModel
from vendor_specs import FILES, specs_dir, with_task_result_ids

from srmctl.adapters.dr import Credentials, Pace, SrmClient, VrClient
from srmctl.adapters.dr.changes import changes_state
from srmctl.adapters.dr.models import CalloutSpec, Priority, Task, TaskStatus, ViewMode
from srmctl.adapters.guard import ReadOnlyViolation

ROOTS = {"srm": "/api/rest/srm/v2", "vr": "/api/rest/vr/v2"}
# Fields srmctl reads, required in the strict copy so that srmsim cannot silently omit or misspell them.
READ = {
    "SessionIdData": ["session_id"],
    "Pairing": ["pairing_id", "local_vc_server", "remote_vc_server"],
    "ServerInfo": ["id", "name"],
    "ProtectionGroupInfo": ["id", "name", "status", "protected_vc_guid"],
    "RecoveryPlanInfo": ["protected_vc_guid", "progress", "is_running"],
    "ProtectionGroupVmInfo": ["protection_status_details"],
    "VmProtectionStatusDetails": ["status"],
    "RecoveryPlanVmInfo": ["id", "name", "status", "recovery_settings"],
    "VmRecoverySettings": ["change_version", "dependent_vms", "pre_power_on_steps", "post_power_on_steps"],
    "ReplicationInfo": ["id", "name", "vm_id", "status", "rpo"],
    "CompoundReplicationStatus": ["status"],
    "VirtualMachine": ["id", "name", "disks"],
    "Datastore": ["id", "name"],
    "VmDiskSeedInformation": ["found_seeds"],
    "Task": ["progress", "description"],
    "MetadataList": ["total", "offset", "limit"],
    "HistoryReport": ["operation_type", "result_state", "start_time_ms", "run_key", "username"],
    # DrApiError reads these from every error answer (ResponseError); op_id is optional in the spec.
    "ResponseError": ["error_code", "message"],
}
Operation = tuple[str, str, str]  # (api, METHOD, spec path template with its parameters named "{}")
Shape = tuple[str, str, str, tuple[str, ...]]  # an operation and the names of the query parameters sent


def normalise(template: str) -> str:
    return re.sub(r"{[^}]*}", "{}", template)


def strict(spec: dict[str, Any]) -> dict[str, Any]:
    """allOf flattened (so additionalProperties cannot reject the other branch's fields), every object
    closed, and the READ fields required."""
    spec = copy.deepcopy(spec)
    schemas = spec["components"]["schemas"]

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        return schemas[node["$ref"].split("/")[-1]] if "$ref" in node else node

    def flatten(schema: dict[str, Any]) -> None:
        for part in schema.pop("allOf", []):
            part = resolve(part)
            flatten(part)
            schema.setdefault("properties", {}).update(part.get("properties", {}))
            required = sorted(set(schema.get("required", [])) | set(part.get("required", [])))
            if required:  # OpenAPI 3.0 forbids an empty required list
                schema["required"] = required
            schema.setdefault("type", "object")

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if "allOf" in node:
                flatten(node)
            if node.get("type") == "object" and "properties" in node:
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(spec)
    # One request body is declared as "*/*" (ip-customization update); a JSON body is one of those, and
    # openapi-core only parses a body as JSON when the media type says so.
    for operations in spec["paths"].values():
        for operation in operations.values():
            content = (operation.get("requestBody") or {}).get("content", {}) if isinstance(operation, dict) else {}
            if "*/*" in content:
                content["application/json"] = content.pop("*/*")
    for name, fields in READ.items():
        if name in schemas:
            schemas[name]["required"] = sorted(set(schemas[name].get("required", [])) | set(fields))
    return spec


class Recorder:
    def __init__(self) -> None:
        self.pairs: list[tuple[httpx.Request, httpx.Response]] = []

    def hook(self, response: httpx.Response) -> None:
        response.read()
        self.pairs.append((response.request, response))


@cache
def _apis() -> dict[str, Any]:
    from openapi_core import OpenAPI

    folder = specs_dir()
    return {
        kind: OpenAPI.from_dict(strict(with_task_result_ids(json.loads((folder / name).read_text()))))
        for kind, name in FILES.items()
    }


@cache
def _templates(kind: str) -> list[tuple[re.Pattern[str], int, str]]:
    """The spec's paths as patterns, most literal segments first (``/recovery-steps/user-prompts`` must win
    over ``/recovery-steps/{view_mode}``, as in the gateway's routing)."""
    paths = json.loads((specs_dir() / FILES[kind]).read_text())["paths"]
    rows = []
    for template in paths:
        parts = template.split("/")
        pattern = "/".join("[^/]+" if "{" in part else re.escape(part) for part in parts)
        rows.append((re.compile(f"^{pattern}$"), sum(1 for part in parts if part and "{" not in part), template))
    return sorted(rows, key=lambda row: -row[1])


def spec_operation(request: httpx.Request) -> Operation | None:
    kind = "srm" if request.url.path.startswith(ROOTS["srm"]) else "vr"
    path = request.url.path[len(ROOTS[kind]) :]
    for pattern, _, template in _templates(kind):
        if pattern.match(path):
            return kind, request.method, normalise(template)
    return None


@dataclass
class Validation:
    requests: int = 0
    responses: int = 0
    violations: list[str] = field(default_factory=list)
    operations: set[Operation] = field(default_factory=set)  # request and response both conform
    shapes: set[Shape] = field(default_factory=set)  # the same, with the query parameters' names
    errors: set[tuple[Operation, int]] = field(default_factory=set)  # conforming 4xx answers, by status


def validate(pairs: Iterable[tuple[httpx.Request, httpx.Response]]) -> Validation:
    from openapi_core.datatypes import RequestParameters
    from werkzeug.datastructures import Headers, ImmutableMultiDict

    apis = _apis()

    class Req:
        def __init__(self, kind: str, request: httpx.Request) -> None:
            self.host_url = f"{request.url.scheme}://{request.url.netloc.decode()}"
            self.path = request.url.path[len(ROOTS[kind]) :]
            self.full_url_pattern = self.host_url + self.path
            self.method = request.method.lower()
            self.parameters = RequestParameters(
                query=ImmutableMultiDict(list(request.url.params.multi_items())),
                header=Headers(dict(request.headers)),
                cookie=ImmutableMultiDict(),
            )
            self.content_type = request.headers.get("content-type", "application/json")
            self.body = request.content or None

    class Resp:
        def __init__(self, response: httpx.Response) -> None:
            self.status_code = response.status_code
            self.content_type = response.headers.get("content-type", "application/json")
            self.headers = Headers(dict(response.headers))
            self.data = response.content

    result = Validation()
    for request, response in pairs:
        kind = "srm" if request.url.path.startswith(ROOTS["srm"]) else "vr"
        if response.headers.get("X-Srmsim-Fault"):
            continue  # deliberately off-contract (injected 5xx/429)
        req, resp = Req(kind, request), Resp(response)
        where = f"{request.method} {request.url.path}"
        conforming = True
        try:
            apis[kind].validate_request(req)
            result.requests += 1
        except Exception as error:  # noqa: BLE001 - collect every violation
            conforming = False
            result.violations.append(f"request {where}: {error}: {getattr(error, '__cause__', '')}")
        try:
            apis[kind].validate_response(req, resp)
            result.responses += 1
        except Exception as error:  # noqa: BLE001
            conforming = False
            cause = error.__cause__
            detail = getattr(cause, "schema_errors", None) or cause
            result.violations.append(f"response {response.status_code} {where}: {error}: {detail}")
        operation = spec_operation(request)
        if conforming and operation is not None:
            if response.status_code < 400:
                result.operations.add(operation)
                result.shapes.add((*operation, tuple(sorted(set(request.url.params.keys())))))
            else:
                result.errors.add((operation, response.status_code))
    return result


# -- the catalogue of client operations ------------------------------------------------------------

# Methods that take the template from their caller (the plumbing every operation goes through); each
# operation is reached through the public method that names its template.
PLUMBING = {
    "request",
    "get_model",
    "get_list",
    "task",
    "tasks",
    "run",
    "close",
    "bound",
    "read_only_view",
    "read_each",
    "invalidate",
}


class _Sent(Exception):
    """Stops a client method at its first request, before anything reaches the network."""


def _sample(annotation: Any, where: str, items: int = 2) -> Any:
    """A value of a parameter's type, enough for the method to build its request; a sequence holds ``items``
    distinct samples (one and several take different paths, e.g. one task is read by id, several by a filter)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        enums = [arg for arg in typing.get_args(annotation) if arg in (ViewMode, Priority)]
        return _sample(enums[0] if enums else typing.get_args(annotation)[0], where, items)
    if origin is not None and isinstance(origin, type) and issubclass(origin, Sequence):
        (inner, *_) = typing.get_args(annotation) or (str,)
        one = _sample(inner, where)
        values = [f"{one}-{n}" if isinstance(one, str) else one for n in range(items)]
        return tuple(values) if origin is tuple else values
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return next(iter(annotation))
    if annotation is Pace:
        return Pace()
    if annotation is Credentials:
        return Credentials("user", "password")
    if annotation is Task:
        return Task.model_construct(id="task", status=TaskStatus.RUNNING)
    if annotation is CalloutSpec:
        return CalloutSpec.model_construct(position=1)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = {
            name: _sample(info.annotation, f"{where}.{name}")
            for name, info in annotation.model_fields.items()
            if info.is_required()
        }
        return annotation.model_construct(**fields)
    samples = {str: "id", int: 1, bool: False, float: 1.0}
    if annotation in samples:
        return samples[annotation]
    if origin is dict or annotation is dict:
        return {}
    if origin is tuple:
        return tuple(_sample(arg, where) for arg in typing.get_args(annotation))
    raise TypeError(f"{where}: no sample for a parameter of type {annotation!r}; add one to _sample")


# Keyword arguments that change how a call is awaited or reported, never what is sent.
NOT_SENT = {"wait", "on_progress", "timeout"}


def _variants(method: Callable[..., Any], where: str) -> list[dict[str, Any]]:
    """Argument sets that reach every request shape a method can send first: its required parameters with
    sequences of one and of two items, then its optional parameters given (a flag flipped) one more at a time."""
    hints = typing.get_type_hints(method)
    parameters = [
        (name, parameter)
        for name, parameter in list(inspect.signature(method).parameters.items())[1:]
        if parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
    ]
    # An optional srm_id defaults to a lookup of the client's own SRM (GET /pairings/{id}); given, the method's
    # first request is the inventory-mapping call itself.
    required = [
        (name, parameter) for name, parameter in parameters if parameter.default is parameter.empty or name == "srm_id"
    ]
    variants = [{name: _sample(hints[name], f"{where}({name})", items) for name, _ in required} for items in (1, 2)]
    for name, parameter in parameters:
        if (name, parameter) in required or name in NOT_SENT:
            continue
        given = (
            not parameter.default if isinstance(parameter.default, bool) else _sample(hints[name], f"{where}({name})")
        )
        variants.append({**variants[-1], name: given})
    return variants


def _first_request(
    client: Any, method: Callable[..., Any], args: dict[str, Any]
) -> tuple[str, str, tuple[str, ...]] | None:
    """(METHOD, template as the client names it, query names) of the first request ``method`` sends with
    ``args``, or None."""
    sent: list[tuple[str, str, tuple[str, ...]]] = []

    def intercept(key: str, *_: Any, params: Any = None, **__: Any) -> httpx.Response:
        verb, template = key.split(" ", 1)
        query = tuple(sorted(k for k, v in (params or {}).items() if v is not None))
        sent.append((verb, template, query))
        raise _Sent

    client.http._retrying_send = intercept
    with contextlib.suppress(_Sent):
        method(client, **args)
    return sent[0] if sent else None


def _client(cls: type) -> Any:
    client = cls("127.0.0.1", 9, credentials=Credentials("user", "password"), pairing_id="pairing", poll_interval=0)
    client.http.conn.session = "session"  # no login first: the method's own request comes first
    return client


def _public_methods(cls: type) -> Iterable[tuple[str, Callable[..., Any]]]:
    for name, method in inspect.getmembers(cls, inspect.isfunction):
        if not name.startswith("_") and name not in PLUMBING:
            yield name, method


@dataclass(frozen=True)
class Changes:
    """A client's public methods by what their first request is: one the transport's rule says changes state
    (``by_verb``), and those a read-only view refused without sending anything (``refused``)."""

    by_verb: frozenset[str]
    refused: frozenset[str]
    sent_read_only: frozenset[str]  # methods a read-only view let send a request


def changes(cls: type) -> Changes:
    by_verb: set[str] = set()
    refused: set[str] = set()
    sent_read_only: set[str] = set()
    for name, method in _public_methods(cls):
        args = _variants(method, f"{cls.__name__}.{name}")[0]
        sent = _first_request(_client(cls), method, args)
        if sent is not None and changes_state(sent[0], sent[1]):
            by_verb.add(name)
        view = _client(cls).read_only_view()
        try:
            if _first_request(view, method, args) is not None:
                sent_read_only.add(name)
        except ReadOnlyViolation:
            refused.add(name)
    return Changes(frozenset(by_verb), frozenset(refused), frozenset(sent_read_only))


def client_operations(
    classes: Sequence[tuple[type, str]] = ((SrmClient, "srm"), (VrClient, "vr")),
) -> dict[Shape, list[str]]:
    """Every request shape srmctl's SRM and VR clients can send first, with the methods that send it."""
    found: dict[Shape, list[str]] = {}
    for cls, kind in classes:
        for name, method in _public_methods(cls):
            for args in _variants(method, f"{cls.__name__}.{name}"):
                sent = _first_request(_client(cls), method, args)
                if sent is not None:
                    verb, template, query = sent
                    names = found.setdefault((kind, verb, normalise(template), query), [])
                    if name not in names:
                        names.append(name)
    return found
