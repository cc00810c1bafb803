"""srmsim refuses what the appliances refuse: malformed request bodies (400, ResponseError), bad credentials on
POST /session (the documented 400), calls the specs' connectivity contract reserves for a session logged in to
the remote site, and a remote login that has lapsed; and its body models and remote-login table agree with the
vendor specs (vendor_specs.specs_dir()) so that neither can drift."""

from __future__ import annotations

import base64
import json
import re
import ssl
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from srmsim_fixtures import PASSWORD, _no_leftover_faults, launch, srmsim  # noqa: F401 - the fixtures
from vendor_specs import FILES, specs_dir

from srmctl.srmsim import bodies, remote, vr_bodies
from srmctl.srmsim.launcher import SrmsimHandle
from srmctl.srmsim.routes import NOT_AUTHENTICATED, SERVER_DOWN, TABLES, unsimulated

ROOTS = {"srm": "/api/rest/srm/v2", "vr": "/api/rest/vr/v2"}
BODY_ROUTES = [(api, spec) for api, specs in TABLES.items() for spec in specs if spec.body is not None]


def _spec(api: str) -> dict[str, Any]:
    return json.loads((specs_dir() / FILES[api]).read_text())


def _client(handle: SrmsimHandle, site: str = "new-york") -> httpx.Client:
    endpoint = handle.sites[site]
    return httpx.Client(
        base_url=f"https://{endpoint.host}:{endpoint.port}",
        verify=ssl.create_default_context(cafile=endpoint.cert),
        timeout=10,
    )


def _login(client: httpx.Client, handle: SrmsimHandle, api: str, *, remote_too: bool = True) -> dict[str, str]:
    response = client.post(f"{ROOTS[api]}/session", auth=(handle.sites["new-york"].user, PASSWORD))
    assert response.status_code == 200, response.text
    headers = {"x-dr-session": response.json()["session_id"]}
    if remote_too:
        answer = client.post(
            f"{ROOTS[api]}/pairings/{_pairing(handle, api)}/remote-session",
            headers=headers,
            auth=(handle.sites["new-jersey"].user, PASSWORD),
        )
        assert answer.status_code == 204
    return headers


def _pairing(handle: SrmsimHandle, api: str) -> str:
    """SRM and VR pairings are separate objects with their own ids."""
    return handle.vr_pairing_id if api == "vr" else handle.pairing_id


def _url(handle: SrmsimHandle, api: str, path: str) -> str:
    filled = re.sub(r"\{(\w+)\}", lambda m: _pairing(handle, api) if m[1] == "pairing_id" else f"no-such-{m[1]}", path)
    return ROOTS[api] + filled


def _is_response_error(response: httpx.Response) -> bool:
    body = response.json()
    return set(body) == {"error_code", "message", "op_id"} and all(isinstance(v, str) for v in body.values())


# --- request bodies ---------------------------------------------------------------------------------------------


def test_every_served_request_body_has_a_model_of_its_spec_schema() -> None:
    """A route with a spec request body names srmsim's model of that very schema; N1-style new routes fail here
    until they opt in with ``body=bodies.X``."""
    for api, specs in TABLES.items():
        paths = _spec(api)["paths"]
        for spec in specs:
            operation = paths.get(spec.path, {}).get(spec.method.lower())
            if operation is None or spec.handler is unsimulated.refuse:
                continue  # not served: answered "not simulated" whatever the body
            content = (operation.get("requestBody") or {}).get("content", {})
            schema = next(iter(content.values()))["schema"] if content else None
            if schema is None:
                assert spec.body is None, f"{api} {spec.method} {spec.path}: the spec has no request body"
                continue
            expected = (
                f"[{schema['items']['$ref'].split('/')[-1]}]"
                if schema.get("type") == "array"
                else schema["$ref"].split("/")[-1]
            )
            assert spec.body is not None and bodies.name(spec.body) == expected, f"{api} {spec.method} {spec.path}"


def test_body_models_mirror_required_fields_and_enums_of_the_specs() -> None:
    """Each model's required fields and enum values are the spec schema's (nested models included)."""
    from typing import Literal, get_args, get_origin

    schemas = {**_spec("srm")["components"]["schemas"], **_spec("vr")["components"]["schemas"]}
    models = {
        m
        for module in (bodies, vr_bodies)  # SRM's and VR's
        for m in vars(module).values()
        if isinstance(m, type) and issubclass(m, bodies.Body) and m is not bodies.Body
    }
    assert len(models) > 25
    for model in models:
        schema = schemas[model.spec_name()]
        required = {n for n, f in model.model_fields.items() if f.is_required()}
        assert required == set(schema.get("required", [])), model.__name__
        assert set(model.model_fields) == set(schema["properties"]), model.__name__
        nullable = {n for n, p in schema["properties"].items() if p.get("nullable")}
        assert nullable == model.NULLABLE, model.__name__
        for name, prop in schema["properties"].items():
            if "enum" not in prop:
                continue
            literal = next(
                a
                for a in (model.model_fields[name].annotation, *get_args(model.model_fields[name].annotation))
                if get_origin(a) is Literal
            )
            assert set(get_args(literal)) == set(prop["enum"]), f"{model.__name__}.{name}"


MALFORMED = {
    "missing": None,
    "not JSON": b"{not json",
    "wrong type": b"42",
    "unknown field": b'{"no_such": 1}',
    "truncated": b'{"name": ',
}


@pytest.mark.parametrize("kind", list(MALFORMED))
@pytest.mark.parametrize(("api", "route"), BODY_ROUTES, ids=[f"{a} {r.method} {r.path}" for a, r in BODY_ROUTES])
def test_malformed_bodies_answer_400_with_the_error_shape(
    srmsim: SrmsimHandle,  # noqa: F811
    api: str,
    route: Any,
    kind: str,
) -> None:
    with _client(srmsim) as client:
        headers = {**_login(client, srmsim, api), "content-type": "application/json"}
        content = MALFORMED[kind]
        response = client.request(route.method, _url(srmsim, api, route.path), headers=headers, content=content)
    assert response.status_code == 400, response.text
    assert _is_response_error(response)
    assert response.json()["error_code"] in ("INVALID_BODY", "INVALID_JSON")


def test_an_unknown_enum_or_wrong_field_type_is_named(srmsim: SrmsimHandle) -> None:  # noqa: F811
    with _client(srmsim) as client:
        headers = _login(client, srmsim, "srm")
        plans = f"{ROOTS['srm']}/pairings/{srmsim.pairing_id}/recovery-management/plans/p/vms/v/recovery-settings"
        enum = client.put(f"{plans}/priority", headers=headers, json={"priority": "P9"})
        typed = client.post(
            f"{ROOTS['srm']}/pairings/{srmsim.pairing_id}/recovery-management/plans/p/actions/test",
            headers=headers,
            json={"sync_data": "yes"},
        )
    assert enum.status_code == 400 and "priority" in enum.json()["message"]
    assert typed.status_code == 400 and "sync_data" in typed.json()["message"]


# --- sessions ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("api", ["srm", "vr"])
@pytest.mark.parametrize("password", ["wrong", "pässwörd-ü€", None])
def test_refused_login_is_the_documented_400(srmsim: SrmsimHandle, api: str, password: str | None) -> None:  # noqa: F811
    """POST /session documents 200, 400 (ResponseError) and 500; a non-ASCII password (UTF-8, RFC 7617) is refused
    like any other, not a dropped connection."""
    with _client(srmsim) as client:
        auth = None if password is None else (srmsim.sites["new-york"].user, password)
        response = client.post(f"{ROOTS[api]}/session", auth=auth)
    assert response.status_code == 400 and _is_response_error(response)


@pytest.mark.lab
def test_a_non_ascii_password_logs_in(tmp_path: Path) -> None:
    password = "pässwörd-ü€"
    sim = launch(tmp_path, sites="{new-york: {password: 'pässwörd-ü€'}, new-jersey: {password: x}}")
    try:
        with _client(sim) as client:
            header = "Basic " + base64.b64encode(f"{sim.sites['new-york'].user}:{password}".encode()).decode()
            ok = client.post(f"{ROOTS['srm']}/session", headers={"authorization": header})
            latin1 = (
                "Basic " + base64.b64encode(f"{sim.sites['new-york'].user}:{password[:7]}".encode("latin-1")).decode()
            )
            refused = client.post(f"{ROOTS['srm']}/session", headers={"authorization": latin1})
    finally:
        sim.stop()
    assert ok.status_code == 200 and ok.json()["session_id"]
    assert refused.status_code == 400


@pytest.mark.parametrize("api", ["srm", "vr"])
def test_remote_login_table_is_the_specs_connectivity_contract(api: str) -> None:
    paths = _spec(api)["paths"]
    expected = {}
    for spec in TABLES[api]:
        if spec.handler is unsimulated.refuse:
            continue  # answered "not simulated" whatever the session
        contract = paths[spec.path][spec.method.lower()].get("x-dr-remote-site-connectivity-contract") or {}
        value = contract.get("not-authenticated")
        if value in (remote.ERROR, remote.DEPENDS):
            expected[spec.method, spec.path] = value
        # A route may ask for the remote login itself only where the spec allows the call to need it.
        assert not spec.remote or value in (remote.ERROR, remote.DEPENDS), f"{spec.method} {spec.path}: {value}"
    assert NOT_AUTHENTICATED[api] == expected


@pytest.mark.parametrize("api", ["srm", "vr"])
def test_server_down_table_is_the_specs_connectivity_contract(api: str) -> None:
    """srmsim refuses, while the peer is down, exactly the served operations whose "server-down" is ERROR."""
    paths = _spec(api)["paths"]
    expected = {
        (spec.method, spec.path)
        for spec in TABLES[api]
        # an unsimulated operation answers "not simulated" whatever the peer's state
        if spec.handler is not unsimulated.refuse
        and (paths[spec.path][spec.method.lower()].get("x-dr-remote-site-connectivity-contract") or {}).get(
            "server-down"
        )
        == remote.ERROR
    }
    assert SERVER_DOWN[api] == expected


ERROR_ROUTES = [
    (api, spec)
    for api, specs in TABLES.items()
    for spec in specs
    if NOT_AUTHENTICATED[api].get((spec.method, spec.path)) == remote.ERROR
]


@pytest.mark.parametrize(("api", "route"), ERROR_ROUTES, ids=[f"{a} {r.method} {r.path}" for a, r in ERROR_ROUTES])
def test_calls_the_contract_marks_need_the_remote_login(srmsim: SrmsimHandle, api: str, route: Any) -> None:  # noqa: F811
    with _client(srmsim) as client:
        headers = _login(client, srmsim, api, remote_too=False)
        response = client.request(route.method, _url(srmsim, api, route.path), headers=headers, json={})
    assert response.status_code == 401 and not response.content  # the default lapse answer (srmsim/remote.py)


@pytest.mark.lab
@pytest.mark.parametrize("status", [400, 500])
def test_the_lapse_answer_is_configurable_among_what_the_specs_document(tmp_path: Path, status: int) -> None:
    """Each ERROR operation documents 400 and 500 with a ResponseError besides 401: srmsim answers the one
    configured, so a client cannot rely on one of them (nor on an error code no spec defines)."""
    sim = launch(tmp_path, remote_lapse_status=status)
    try:
        with _client(sim) as client:
            headers = _login(client, sim, "vr", remote_too=False)
            response = client.post(_url(sim, "vr", "/pairings/{pairing_id}/replications"), headers=headers, json=[])
            sim.lapse_remote_sessions(status=401)
            headers = _login(client, sim, "vr", remote_too=True)
            sim.lapse_remote_sessions()
            after = client.post(_url(sim, "vr", "/pairings/{pairing_id}/replications"), headers=headers, json=[])
    finally:
        sim.stop()
    assert response.status_code == status and _is_response_error(response)
    assert response.json()["error_code"] != "REMOTE_SITE_NOT_AUTHENTICATED"  # a code no spec defines
    assert after.status_code == 401  # the remote login lapsed, answered as now configured


def test_srmsim_refuses_an_unknown_lapse_answer(tmp_path: Path) -> None:
    from srmctl.srmsim.server import Simulator
    from srmctl.srmsim.world import World

    with pytest.raises(ValueError, match="remote_lapse_status 403"):
        Simulator(World(), {}, remote_lapse_status=403)


def test_a_remote_vcenter_needs_the_remote_login(srmsim: SrmsimHandle) -> None:  # noqa: F811
    """DEPENDS_ON_PROVIDED_PARAMS: VR lists the paired vCenter's datastores only through the remote login."""
    here, there = (srmsim.sites[s].vc_guid for s in ("new-york", "new-jersey"))
    with _client(srmsim) as client:
        headers = _login(client, srmsim, "vr", remote_too=False)
        base = f"{ROOTS['vr']}/pairings/{srmsim.vr_pairing_id}/vcenters"
        local = client.get(f"{base}/{here}/datastores", headers=headers)
        paired = client.get(f"{base}/{there}/datastores", headers=headers)
    assert local.status_code == 200
    assert paired.status_code == 401


@pytest.mark.lab
def test_the_remote_login_lapses_on_its_own(tmp_path: Path) -> None:
    sim = launch(tmp_path, remote_session_ttl=0.5)
    try:
        with _client(sim) as client:
            headers = _login(client, sim, "srm")
            who = f"{ROOTS['srm']}/pairings/{sim.pairing_id}/remote-session"
            assert client.get(who, headers=headers).status_code == 200
            time.sleep(0.8)
            lapsed = client.get(who, headers=headers)
            alive = client.get(f"{ROOTS['srm']}/session", headers=headers)
    finally:
        sim.stop()
    assert lapsed.status_code == 401
    assert alive.status_code == 200  # the local session is still alive
