"""A property-based fuzzer driven by the vendor specs (schemathesis, vendor_specs.specs_dir()) against a live srmsim,
both APIs: schema-valid and schema-violating requests for every operation in the specs, sent over a logged-in
session (local and remote) with the real pairing id half the time so that calls get past the pairing check.

Every answer must be a real HTTP answer (a dropped connection fails the test: requests never re-sends), never
5xx, and conform to the spec (documented status, content type, body schema, headers) for every operation: srmsim
serves each documented operation or answers it 400 "not simulated" (srmsim/routes/unsimulated.py), so a 404 or
405 for a documented path, a status the spec does not list for it, fails the test.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from vendor_specs import FILES, specs_dir, with_task_result_ids

ROOTS = {"srm": "/api/rest/srm/v2", "vr": "/api/rest/vr/v2"}
EXAMPLES = int(os.environ.get("SRMSIM_FUZZ_EXAMPLES", "6"))  # per operation and generation mode

pytestmark = [pytest.mark.slow, pytest.mark.lab]


def _served(api: str) -> set[tuple[str, str]]:
    from srmctl.srmsim.routes import TABLES

    return {(spec.method, spec.path) for spec in TABLES[api]}


@pytest.mark.parametrize("api", ["srm", "vr"])
def test_fuzzed_requests_get_conforming_answers(tmp_path: Path, api: str) -> None:
    import requests
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis import GenerationMode
    from schemathesis import checks as st
    from srmsim_fixtures import PASSWORD, launch

    sim = launch(tmp_path, page_size=5)
    sent: Counter[str] = Counter()
    failures: list[str] = []
    try:
        here, there = sim.sites["new-york"], sim.sites["new-jersey"]
        base = f"https://{here.host}:{here.port}{ROOTS[api]}"
        http = requests.Session()
        # srmsim's own certificate, verified; no proxies from the environment
        http.verify, http.trust_env = here.cert, False

        def login() -> None:
            answer = http.post(f"{base}/session", auth=(here.user, PASSWORD), timeout=10)
            http.headers["x-dr-session"] = answer.json()["session_id"]
            http.post(
                f"{base}/pairings/{sim.pairing('new-york', api)}/remote-session",
                auth=(there.user, PASSWORD),
                timeout=10,
            )

        login()
        schema = schemathesis.openapi.from_dict(
            with_task_result_ids(json.loads((specs_dir() / FILES[api]).read_text()))
        )
        served = _served(api)
        checks = [
            st.not_a_server_error,
            st.status_code_conformance,
            st.content_type_conformance,
            st.response_schema_conformance,
            st.response_headers_conformance,
        ]
        for result in schema.get_all_operations():
            operation = result.ok()
            assert (operation.method.upper(), operation.path) in served, f"{operation.method} {operation.path}"
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _fuzz(
                    operation,
                    mode,
                    checks,
                    base,
                    http,
                    login,
                    sim.pairing("new-york", api),
                    sent,
                    failures,
                    given=given,
                    settings=settings,
                    phases=[Phase.generate],
                    health=list(HealthCheck),
                )
    finally:
        sim.stop()
    print(f"fuzz {api}: {sent['all']} requests, {len(failures)} failures")
    assert not failures, "\n\n".join(failures[:10])


def _fuzz(
    operation: Any,
    mode: Any,
    checks: list[Any],
    base: str,
    http: Any,
    login: Any,
    pairing_id: str,
    sent: Counter[str],
    failures: list[str],
    *,
    given: Any,
    settings: Any,
    phases: Any,
    health: Any,
) -> None:
    import requests

    seen: set[str] = set()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=phases,
        suppress_health_check=health,
        derandomize=True,
    )
    def run(case: Any) -> None:
        params = case.path_parameters or {}
        if "pairing_id" in params and sent["all"] % 2 == 0:
            params["pairing_id"] = pairing_id
        kwargs = case.as_transport_kwargs(base_url=base)
        kwargs.pop("verify", None)
        headers = kwargs.setdefault("headers", {})
        if (case.method, operation.path) != ("POST", "/session"):
            headers["x-dr-session"] = http.headers["x-dr-session"]
        where = f"{mode.name} {case.method} {case.formatted_path}"
        try:
            response = http.request(**kwargs, timeout=30)
        except requests.ConnectionError as error:
            failures.append(f"{where}: no answer ({error})\n{case.as_curl_command()}")
            return
        sent["all"] += 1
        try:
            case.validate_response(response, checks=checks)
        except BaseException as error:  # noqa: BLE001 - schemathesis raises a FailureGroup (an exception group)
            key = f"{case.method} {operation.path} {response.status_code} {type(error).__name__}"
            if key not in seen:
                seen.add(key)
                failures.append(f"{where}: {str(error)[:800]}")
        if case.method == "DELETE" and operation.path == "/session" or response.status_code == 401:
            login()  # the fuzzer logged itself out: carry on with a fresh session

    run()
