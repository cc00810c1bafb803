"""Every operation the vendor specs document is answered as the spec allows (issue #21, point 8): srmsim serves it,
or answers 400 with the specs' ResponseError saying it is not simulated; the VR servers, replication servers,
storage policies and VM capability a configure-replication workflow reads are served, and a configure naming
a replication server or storage policy that does not exist is refused for that VM."""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from srmsim_fixtures import PASSWORD, launch, logged_in
from vendor_specs import FILES, specs_dir

from srmctl.adapters.dr import VrClient
from srmctl.adapters.dr.models import ConfigureReplicationSpec, Replication, ReplicationDiskSpec
from srmctl.srmsim.launcher import SrmsimHandle
from srmctl.srmsim.routes import TABLES, unsimulated

ROOTS = {"srm": "/api/rest/srm/v2", "vr": "/api/rest/vr/v2"}
NY, NJ = "new-york", "new-jersey"
METHODS = ("get", "post", "put", "delete", "patch")


def _named(vr: VrClient, name: str, source_vc_guid: str | None = None) -> Replication:
    """The replication of the VM ``name`` (one listing)."""
    return next(r for r in vr.replications(source_vc_guid=source_vc_guid) if r.name == name)


def _documented(api: str) -> set[tuple[str, str]]:
    paths = json.loads((specs_dir() / FILES[api]).read_text())["paths"]
    return {(m.upper(), p) for p, ops in paths.items() for m in ops if m in METHODS}


@pytest.mark.parametrize("api", ["srm", "vr"])
def test_every_documented_operation_is_served_or_answered_not_simulated(api: str) -> None:
    routes = {(s.method, s.path) for s in TABLES[api]}
    refused = {(s.method, s.path) for s in TABLES[api] if s.handler is unsimulated.refuse}
    assert routes == _documented(api)  # nothing left to a 404 or 405, and nothing undocumented
    assert refused == {(s.method, s.path) for s in unsimulated.ROUTES[api].specs}


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SrmsimHandle]:
    handle = launch(tmp_path_factory.mktemp("unsimulated"), page_size=50)
    yield handle
    handle.stop()


def _session(sim: SrmsimHandle, api: str) -> httpx.Client:
    here, there = sim.sites[NY], sim.sites[NJ]
    client = httpx.Client(
        base_url=f"https://{here.host}:{here.port}{ROOTS[api]}",
        verify=ssl.create_default_context(cafile=here.cert),
        timeout=10,
    )
    client.headers["x-dr-session"] = client.post("/session", auth=(here.user, PASSWORD)).json()["session_id"]
    pairing = sim.vr_pairing_id if api == "vr" else sim.pairing_id
    assert client.post(f"/pairings/{pairing}/remote-session", auth=(there.user, PASSWORD)).status_code == 204
    return client


@pytest.mark.lab
@pytest.mark.parametrize(
    ("api", "method", "path"),
    [("srm", "POST", "/pairings"), ("srm", "GET", "/pairings/{p}/issues"), ("vr", "DELETE", "/pairings/{p}")],
)
def test_an_unsimulated_operation_answers_400_saying_so(sim: SrmsimHandle, api: str, method: str, path: str) -> None:
    pairing = sim.vr_pairing_id if api == "vr" else sim.pairing_id
    client = _session(sim, api)
    try:
        answer = client.request(method, path.replace("{p}", pairing), json={})
    finally:
        client.close()
    assert answer.status_code == 400
    body = answer.json()
    assert set(body) == {"error_code", "message", "op_id"} and body["error_code"] == "NOT_SIMULATED"
    assert "not simulated by srmsim" in body["message"]


@pytest.mark.lab
def test_the_configure_workflow_reads_vr_servers_policies_and_capability(sim: SrmsimHandle) -> None:
    pid = sim.vr_pairing_id
    client = _session(sim, "vr")
    try:

        def get(path: str) -> Any:
            answer = client.get(path)
            assert answer.status_code == 200, answer.text
            return answer.json()

        vrs = {v["vc_guid"]: v for v in get(f"/pairings/{pid}/vrs")["list"]}
        assert set(vrs) == {sim.sites[NY].vc_guid, sim.sites[NJ].vc_guid}
        nj_vr = vrs[sim.sites[NJ].vc_guid]
        assert get(f"/pairings/{pid}/vrs/{nj_vr['id']}")["id"] == nj_vr["id"]
        servers = get(f"/pairings/{pid}/vrs/{nj_vr['id']}/replication-servers")["list"]
        assert len(servers) == 1 and servers[0]["connected"] and servers[0]["replication_count"] == 4
        nj_server = servers[0]["id"]
        assert get(f"/pairings/{pid}/vrs/{nj_vr['id']}/replication-servers/{nj_server}")["id"] == nj_server
        (ny_server,) = [s["id"] for s in get("/replication-servers")["list"]]
        assert ny_server != nj_server and get(f"/replication-servers/{ny_server}")["replication_count"] == 0
        assert client.get(f"/replication-servers/{nj_server}").status_code == 404  # the other VR's
        policies = get(f"/pairings/{pid}/vcenters/{sim.sites[NJ].vc_guid}/storage-policies")["list"]
        assert {p["storage_policy_name"] for p in policies} >= {"vSAN Default Storage Policy"}
        vms = {v["name"]: v for v in get(f"/pairings/{pid}/vcenters/{sim.sites[NY].vc_guid}/vms")["list"]}
        capability = get(f"/pairings/{pid}/vcenters/{sim.sites[NY].vc_guid}/vms/{vms['web02']['id']}/capability")
        assert capability["vm_validation_status"] == "ALREADY_CONFIGURED" and capability["min_rpo_mins"] == 5
        # Datastore browsing (what a seed is checked against): a disk is its descriptor, sized as its data.
        disks = {d["device_key"]: d for d in vms["mail04"]["disks"] if not d.get("is_vm_home")}
        ds_id = next(iter(disks.values()))["source_path"]["datastore_id"]
        answer = client.post(
            f"/pairings/{pid}/vcenters/{sim.sites[NY].vc_guid}/datastores/{ds_id}/actions/browse",
            json={"query_type": "VM_DISK", "browse_path": "", "sub_folders": True},
        )
        assert answer.status_code == 200, answer.text
        found = {f["path"]: f["size"] for f in answer.json()["list"]}
        for disk in disks.values():
            source = disk["source_path"]
            where = f"[{source['datastore_name']}] {source['path']}/{source['filename']}"
            assert found[where] == disk["capacity"] * 1024, (where, found)
        assert all(f["file_type"] == "VM_DISK" for f in answer.json()["list"])
    finally:
        client.close()
    # A configure naming new-york's replication server for a replication to new-jersey is refused for that VM.
    vr = logged_in(sim, NY, "vr")
    try:
        old = _named(vr, "web02")
        target = vr.replication_disks(old.id)[0].destination_path
        assert target is not None
        vr.unconfigure_replication(old.id, retain_replica_disks=True)
        vm = vr.vm_by_name(sim.sites[NY].vc_guid, "web02")
        disks = tuple(
            ReplicationDiskSpec(
                vm_disk=d.model_dump(mode="json", exclude_none=True),
                destination_datastore_id=target.datastore_id,
                use_seeds=None if d.is_vm_home else True,
                destination_path=None
                if d.is_vm_home or d.source_path is None
                else f"{d.source_path.path}/{d.source_path.filename}",
            )
            for d in vm.disks
        )
        spec = ConfigureReplicationSpec(vm_id=vm.id, target_vc_id=sim.sites[NJ].vc_guid, rpo=15, disks=disks)
        wrong = spec.model_copy(update={"target_replication_server_id": ny_server})
        (task,) = vr.poll_tasks(vr.configure_replications([wrong], wait=False), timeout=30)
        assert task.status == "ERROR" and task.error is not None
        assert re.search(
            r"INVALID_REFERENCE: ReplicationServer:\S+ is not a replication server", task.error.message or ""
        )
        right = spec.model_copy(update={"target_replication_server_id": nj_server})
        vr.configure_replications([right])
    finally:
        vr.close()


@pytest.mark.lab
def test_find_seeds_for_a_vm_that_does_not_exist_is_a_400(sim: SrmsimHandle) -> None:
    """An unknown id inside a request body: the specs' 400 with the error body, not a 404 (issue #21, point 7)."""
    client = _session(sim, "vr")
    try:
        ny, nj = sim.sites[NY].vc_guid, sim.sites[NJ].vc_guid
        ds = client.get(f"/pairings/{sim.vr_pairing_id}/vcenters/{nj}/datastores").json()["list"][0]["id"]
        ghost = f"VirtualMachine:vm-99999:{ny}"
        answer = client.post(
            f"/pairings/{sim.vr_pairing_id}/vcenters/{nj}/datastores/{ds}/actions/find-seeds",
            json=[{"vm_disk": {"vm_id": ghost, "device_key": 2000}, "destination_path": "x/x.vmdk"}],
        )
    finally:
        client.close()
    assert answer.status_code == 400, answer.text
    assert answer.json()["error_code"] == "INVALID_REFERENCE" and ghost in answer.json()["message"]
