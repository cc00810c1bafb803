"""srmsim's HTTP layer: routing errors keep the vendor error shapes, and a dropped connection is a TCP
close without any response."""

from __future__ import annotations

import ssl

import httpx
import pytest
from srmsim_fixtures import PASSWORD, _no_leftover_faults, srmsim  # noqa: F401 - the fixtures

from srmctl.srmsim.launcher import SrmsimHandle

ROOT = "/api/rest/srm/v2"


def _client(handle: SrmsimHandle, site: str = "new-york") -> httpx.Client:
    endpoint = handle.sites[site]
    return httpx.Client(
        base_url=f"https://{endpoint.host}:{endpoint.port}",
        verify=ssl.create_default_context(cafile=endpoint.cert),
        timeout=10,
    )


def _session(client: httpx.Client, handle: SrmsimHandle, api: str = "srm") -> dict[str, str]:
    user = handle.sites["new-york"].user
    response = client.post(f"/api/rest/{api}/v2/session", auth=(user, PASSWORD))
    assert response.status_code == 200
    return {"x-dr-session": response.json()["session_id"]}


def test_unknown_paths_answer_404_without_a_body(srmsim: SrmsimHandle) -> None:  # noqa: F811
    with _client(srmsim) as client:
        headers = _session(client, srmsim)
        for path in (
            "/nowhere",
            f"{ROOT}/nowhere",
            f"{ROOT}/pairings/{srmsim.pairing_id}/nothing-here",
            f"{ROOT}/pairings/not-the-pairing/recovery-management/plans",
        ):
            response = client.get(path, headers=headers)
            assert (response.status_code, response.content) == (404, b""), path


def test_a_wrong_method_answers_405_in_the_error_shape(srmsim: SrmsimHandle) -> None:  # noqa: F811
    with _client(srmsim) as client:
        headers = _session(client, srmsim)
        response = client.put(f"{ROOT}/pairings/{srmsim.pairing_id}/recovery-management/plans", headers=headers)
        assert response.status_code == 405
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert set(body) == {"error_code", "message", "op_id"} and body["error_code"] == "METHOD_NOT_ALLOWED"
        assert "GET" in response.headers["allow"] and "POST" in response.headers["allow"]


def test_calls_without_a_session_answer_401_before_routing(srmsim: SrmsimHandle) -> None:  # noqa: F811
    with _client(srmsim) as client:
        for path in (f"{ROOT}/pairings", f"{ROOT}/nowhere"):
            response = client.get(path)
            assert (response.status_code, response.content) == (401, b"")


def test_errors_of_handlers_carry_the_response_error_shape(srmsim: SrmsimHandle) -> None:  # noqa: F811
    with _client(srmsim) as client:
        headers = _session(client, srmsim)
        response = client.post(
            f"{ROOT}/pairings/{srmsim.pairing_id}/recovery-management/plans", headers=headers, json={"name": "x"}
        )
        assert response.status_code == 401  # no remote login: srmsim's default lapse answer (srmsim/remote.py)
        response = client.post(
            f"{ROOT}/pairings/{srmsim.pairing_id}/recovery-management/plans", content=b"{not json", headers=headers
        )
        assert response.status_code == 400 and response.json()["error_code"] == "INVALID_JSON"


def test_a_dropped_connection_closes_without_a_response(srmsim: SrmsimHandle) -> None:  # noqa: F811
    with _client(srmsim) as client:
        headers = _session(client, srmsim)
        srmsim.drop_connections("/pairings", method="GET", count=1)
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.get(f"{ROOT}/pairings", headers=headers)
        assert client.get(f"{ROOT}/pairings", headers=headers).status_code == 200  # the fault was used up


def test_a_site_that_is_down_drops_every_call(srmsim: SrmsimHandle) -> None:  # noqa: F811
    with _client(srmsim) as client:
        headers = _session(client, srmsim)
        srmsim.site_down("new-york")
        try:
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                client.get(f"{ROOT}/pairings", headers=headers)
        finally:
            srmsim.site_up("new-york")
        assert client.get(f"{ROOT}/pairings", headers=headers).status_code == 200


def test_injected_status_carries_retry_after(srmsim: SrmsimHandle) -> None:  # noqa: F811
    with _client(srmsim) as client:
        headers = _session(client, srmsim)
        srmsim.fail_http("/pairings", method="GET", status=429, retry_after=7, count=1)
        response = client.get(f"{ROOT}/pairings", headers=headers)
        assert response.status_code == 429 and response.headers["retry-after"] == "7"
        assert response.json()["error_code"] == "INJECTED_FAULT" and response.headers["x-srmsim-fault"] == "1"


def test_unknown_control_endpoints_answer_404_with_an_error(srmsim: SrmsimHandle) -> None:  # noqa: F811
    with _client(srmsim) as client:
        calls = (("GET", "/srmsim/nothing"), ("PUT", "/srmsim/state"), ("POST", "/srmsim/sites/x/sideways"))
        for method, path in calls:
            response = client.request(method, path)
            assert response.status_code == 404 and "error" in response.json(), path
        assert client.post("/srmsim/sites/atlantis/down").json() == {"error": "no site atlantis"}
