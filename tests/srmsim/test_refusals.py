"""srmsim refuses what SRM refuses instead of ignoring it (issue #21, point 7): made-up folders and test networks
in group and plan creation, recovery steps read or changed in a plan state that has none, a step position past
the end, an unknown id inside a request body (400 with the error body; a bad URL stays 404), list filters
without their partner; nested filter fields and sorting work as the specs describe them. Raw HTTPS against an
in-memory srmsim (no vcsim)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from srmsim_fixtures import PASSWORD, launch

from srmctl.srmsim.launcher import SrmsimHandle

pytestmark = pytest.mark.lab

NY, NJ = "new-york", "new-jersey"
SRM = "/api/rest/srm/v2"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SrmsimHandle]:
    handle = launch(tmp_path_factory.mktemp("refusals"), page_size=50)
    yield handle
    handle.stop()


class Srm:
    """A logged-in SRM session (local and remote) at one site, raw."""

    def __init__(self, sim: SrmsimHandle, site: str) -> None:
        endpoint, other = sim.sites[site], sim.sites[NJ if site == NY else NY]
        self.pairing = sim.pairing(site)  # each SRM server has its own pairing id
        self.http = httpx.Client(
            base_url=f"https://{endpoint.host}:{endpoint.port}",
            verify=ssl.create_default_context(cafile=endpoint.cert),
            timeout=10,
        )
        self.base = f"{SRM}/pairings/{self.pairing}"
        token = self.http.post(f"{SRM}/session", auth=(endpoint.user, PASSWORD)).json()["session_id"]
        self.http.headers["x-dr-session"] = token
        assert self.http.post(f"{self.base}/remote-session", auth=(other.user, PASSWORD)).status_code == 204
        self.vc_guid = endpoint.vc_guid

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(self.base + path, params=params)

    def post(self, path: str, body: Any) -> httpx.Response:
        return self.http.post(self.base + path, json=body)

    def plan(self, name: str = "VR Failover") -> dict[str, Any]:
        return next(p for p in self.get("/recovery-management/plans").json()["list"] if p["name"] == name)


def _refused(response: httpx.Response, code: str, text: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"error_code", "message", "op_id"}, body  # the specs' ResponseError
    assert body["error_code"] == code and text in body["message"], body


def test_made_up_folders_and_test_networks_are_refused(sim: SrmsimHandle) -> None:
    ny = Srm(sim, NY)
    groups = {g["name"]: g for g in ny.get("/protection-management/groups").json()["list"]}
    spec = {"name": "PG x", "replication_type": "HBR", "protected_vc_guid": ny.vc_guid, "hbr_spec": {"vms": []}}
    _refused(
        ny.post("/protection-management/groups", {**spec, "location": "DrFolder:made-up"}),
        "INVALID_REFERENCE",
        "location: 'DrFolder:made-up' is not a folder",
    )
    plan = {"name": "Plan x", "protected_vc_guid": ny.vc_guid, "protection_groups": [groups["VR web"]["id"]]}
    _refused(
        ny.post("/recovery-management/plans", {**plan, "location": "DrFolder:DrReplicationRootFolder"}),
        "INVALID_REFERENCE",
        "is not a folder of this SRM server",
    )
    made_up = {"target_network": "Network:network-999:x", "test_network": "Network:network-998:x"}
    _refused(
        ny.post("/recovery-management/plans", {**plan, "test_network_mappings": [made_up]}),
        "INVALID_REFERENCE",
        "test_network_mappings.0.target_network: 'Network:network-999:x' is not a network",
    )
    _refused(
        ny.post(
            f"/recovery-management/plans/{ny.plan()['id']}/actions/reconfigure", {"test_network_mappings": [made_up]}
        ),
        "INVALID_REFERENCE",
        "is not a network of the vCenter of the recovery site new-jersey",
    )
    assert "Plan x" not in {p["name"] for p in ny.get("/recovery-management/plans").json()["list"]}
    assert "PG x" not in {g["name"] for g in ny.get("/protection-management/groups").json()["list"]}


def test_an_unknown_id_in_a_body_is_a_400_and_in_a_url_a_404(sim: SrmsimHandle) -> None:
    ny = Srm(sim, NY)
    ghost = f"VirtualMachine:vm-99999:{ny.vc_guid}"
    spec = {"name": "PG y", "replication_type": "HBR", "protected_vc_guid": ny.vc_guid, "hbr_spec": {"vms": [ghost]}}
    _refused(ny.post("/protection-management/groups", spec), "INVALID_REFERENCE", f"hbr_spec.vms: VM {ghost}")
    plan = {"name": "Plan y", "protected_vc_guid": ny.vc_guid, "protection_groups": ["no-such-group"]}
    _refused(ny.post("/recovery-management/plans", plan), "INVALID_REFERENCE", "no-such-group")
    answer = ny.post("/recovery-management/plans/no-such-plan/actions/reconfigure", {"protection_groups": []})
    assert answer.status_code == 404  # the URL names nothing: the specs' 404


def test_recovery_steps_follow_the_plan_state_and_positions_stop_at_the_end(sim: SrmsimHandle) -> None:
    nj = Srm(sim, NJ)
    plan = nj.plan()
    base = f"/recovery-management/plans/{plan['id']}/recovery-steps"
    assert plan["status"] == "READY_STATE"
    for view in ("cleanup", "reprotect"):  # no test ran, no recovery completed: no such steps yet
        _refused(nj.get(f"{base}/{view}"), "INVALID_PLAN_STATE", f"has no {view} steps in state READY_STATE")
    steps = nj.get(f"{base}/recovery").json()["list"]
    top = [s for s in steps if s["depth"] == 0]
    step = {"name": "Call", "content": "Call the team", "callout_type": "PROMPT", "timeout_seconds": 0}
    _refused(nj.post(f"{base}/recovery", {**step, "position": len(top) + 1}), "INVALID_POSITION", "past the end")
    assert nj.post(f"{base}/recovery", {**step, "position": len(top)}).status_code == 202  # after the last: fine


def test_list_filters_nested_fields_sorting_and_their_partners(sim: SrmsimHandle) -> None:
    nj = Srm(sim, NJ)
    path = "/protection-management/groups"
    names = sorted(g["name"] for g in nj.get(path).json()["list"])
    assert [g["name"] for g in nj.get(path, sort_by="name", order_by="desc").json()["list"]] == names[::-1]
    assert [g["name"] for g in nj.get(path, sort_by="name").json()["list"]] == names
    plans = nj.get("/recovery-management/plans", filter_property="status", filter="READY_STATE").json()["list"]
    assert plans and {p["status"] for p in plans} == {"READY_STATE"}
    assert nj.get(path, filter_property="name", filter=names[0].upper()).json()["list"] == []  # exact, case too
    vms = nj.get(f"/recovery-management/plans/{nj.plan()['id']}/vms").json()["list"]
    p2 = [v["name"] for v in vms if v["recovery_settings"]["priority"] == "P2"]
    nested = nj.get(
        f"/recovery-management/plans/{nj.plan()['id']}/vms",
        filter_property="recovery_settings.priority",
        filter="P2",
    ).json()["list"]
    assert p2 and [v["name"] for v in nested] == p2
    _refused(nj.get(path, filter_property="name"), "INVALID_PARAMETER", "filter_property and filter")
    _refused(nj.get(path, sort_by="name", order_by="up"), "INVALID_PARAMETER", "order_by")


def test_task_results_are_objects_or_null(sim: SrmsimHandle, tmp_path: Path) -> None:
    """SRM spec Task.result: an object or null. A placeholder datastore that cannot be added refuses the
    request (the spec's 400) instead of a task whose result is a list."""
    nj = Srm(sim, NJ)
    srm_id = nj.get("").json()["local_srm_server"]["id"]
    answer = nj.post(f"/srms/{srm_id}/inventory-mappings/placeholder-datastores", {"datastores": ["Datastore:x:y"]})
    _refused(answer, "INVALID_REFERENCE", "Datastore:x:y: not a datastore")
    tasks = nj.http.get(f"{SRM}/tasks").json()["list"]
    assert all(t.get("result") is None or isinstance(t["result"], dict) for t in tasks)
