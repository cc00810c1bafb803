"""Two SRM servers and two VR servers, as a real site pair has them (srmsim/ids.py, srmsim/remote.py): each
server answers with its own ids and refuses the peer's, names the sites as SRM was installed, and refuses
what the connectivity contract's server-down column marks ERROR while the peer is down."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
from server_http import GROUPS, NJ, NY, PLANS, REPLICATIONS, UUID, Server, is_response_error
from srmsim_fixtures import _no_leftover_faults, launch, srmsim  # noqa: F401 - the fixtures

from srmctl.srmsim.launcher import SrmsimHandle


def test_the_same_plan_has_another_id_at_each_srm_server_and_each_refuses_the_other(srmsim: SrmsimHandle) -> None:  # noqa: F811
    """The issue's "done when": through the lab's APIs the same plan listed at both SRM servers has the same
    name and different ids, each ending in its server's GUID, and either id sent to the other is refused."""
    ny, nj = Server(srmsim, NY, "srm"), Server(srmsim, NJ, "srm")
    assert ny.guid != nj.guid
    # Pairing ids are per server too.
    assert ny.pid != nj.pid and ny.http.get(f"/pairings/{nj.pid}").status_code == 404
    at_ny, at_nj = ny.named(PLANS, "VR Failover"), nj.named(PLANS, "VR Failover")
    assert at_ny["id"] != at_nj["id"]
    for server, plan in ((ny, at_ny), (nj, at_nj)):
        assert re.fullmatch(rf"DrRecoveryRecoveryPlan:{UUID}:{server.guid}", plan["id"]), plan["id"]
        assert plan["location"] == f"DrFolder:DrRecoveryRootFolder:{server.guid}"
        assert server.get(f"{PLANS}/{plan['id']}").json()["name"] == "VR Failover"
    # Not only another suffix: each server holds its own object, linked to a peer (RecoveryPlanGetPeer).
    assert at_ny["id"].split(":")[1] != at_nj["id"].split(":")[1]
    for server, foreign in ((ny, at_nj["id"]), (nj, at_ny["id"])):
        assert server.get(f"{PLANS}/{foreign}").status_code == 404
        assert server.get(f"{PLANS}/{foreign}/vms").status_code == 404
    # srmsim's own (internal) ids are no server's.
    internal = next(p["id"] for p in srmsim.state()["plans"] if p["name"] == "VR Failover")
    assert ny.get(f"{PLANS}/{internal}").status_code == nj.get(f"{PLANS}/{internal}").status_code == 404
    # Groups alike; the peer's group id inside a body is a bad request, and nothing changes.
    groups_ny, groups_nj = ny.listed(f"{PLANS}/{at_ny['id']}/protection-groups"), nj.listed(GROUPS)
    assert {g["name"] for g in groups_ny} == {g["name"] for g in groups_nj}
    assert not {g["id"] for g in groups_ny} & {g["id"] for g in groups_nj}
    assert all(g["id"].endswith(f":{nj.guid}") and g["id"].count(":") == 2 for g in groups_nj)
    refused = ny.post(f"{PLANS}/{at_ny['id']}/actions/reconfigure", {"protection_groups": [groups_nj[0]["id"]]})
    assert refused.status_code == 400 and is_response_error(refused)
    assert {g["id"] for g in ny.listed(f"{PLANS}/{at_ny['id']}/protection-groups")} == {g["id"] for g in groups_ny}
    filtered = ny.http.get(
        f"/pairings/{ny.pid}{GROUPS}", params={"filter_property": "id", "filter": groups_nj[0]["id"]}
    ).json()
    assert filtered["list"] == []  # a filter naming the peer's id matches nothing


def test_a_replication_has_each_vr_servers_own_id(srmsim: SrmsimHandle) -> None:  # noqa: F811
    ny, nj = Server(srmsim, NY, "vr"), Server(srmsim, NJ, "vr")
    at_ny = {r["name"]: r["id"] for r in ny.listed(REPLICATIONS)}
    at_nj = {r["name"]: r["id"] for r in nj.listed(REPLICATIONS)}
    assert set(at_ny) == set(at_nj) and at_ny
    for name in at_ny:
        assert re.fullmatch(rf"HmsGroup:GID-{UUID}:{ny.guid}", at_ny[name])
        assert re.fullmatch(rf"HmsGroup:GID-{UUID}:{nj.guid}", at_nj[name])
        assert ny.get(f"{REPLICATIONS}/{at_nj[name]}").status_code == 404
        assert nj.get(f"{REPLICATIONS}/{at_ny[name]}").status_code == 404
        assert ny.get(f"{REPLICATIONS}/{at_ny[name]}").json()["name"] == name


def test_srm_names_the_sites_as_installed_not_as_the_topology_keys(srmsim: SrmsimHandle) -> None:  # noqa: F811
    plan = Server(srmsim, NY, "srm").named(PLANS, "VR Failover")
    names = (plan["protected_site_name"], plan["recovery_site_name"])
    assert not {NY, NJ} & set(names) and names[0] != names[1]


@pytest.mark.lab
def test_a_topology_names_the_srm_sites(tmp_path: Path) -> None:
    text = resources.files("srmctl.labkit").joinpath("default-topology.yaml").read_text()
    text = text.replace("  new-york:\n", "  new-york:\n    srm_site_name: Manhattan DC\n", 1)
    (tmp_path / "topology.yaml").write_text(text)
    sim = launch(tmp_path, page_size=50, topology="topology.yaml")
    try:
        group = Server(sim, NJ, "srm").listed(GROUPS)[0]
    finally:
        sim.stop()
    assert group["protected_site_name"] == "Manhattan DC" and group["recovery_site_name"] != NJ


@pytest.mark.lab
def test_a_create_task_answers_the_new_objects_id(tmp_path: Path) -> None:
    """The vendor's example reads a create task's result as the new object's id, a string."""
    sim = launch(tmp_path, page_size=50)
    try:
        ny = Server(sim, NY, "srm")
        vc = ny.http.get(f"/pairings/{ny.pid}").json()["local_vc_server"]["id"]
        task = ny.finished(ny.post(PLANS, {"name": "scratch", "protected_vc_guid": vc}).json())
        created = ny.named(PLANS, "scratch")
    finally:
        sim.stop()
    assert task["status"] == "SUCCESS" and task["result"] == created["id"]


@pytest.mark.lab
def test_operations_the_contract_marks_server_down_error_fail_while_the_peer_is_down(tmp_path: Path) -> None:
    """x-dr-remote-site-connectivity-contract, "server-down": ERROR for VR unconfigure, pause, resume,
    reconfigure and sync and SRM group delete and reconfigure: refused, and nothing changes."""
    sim = launch(tmp_path, page_size=50)
    try:
        srm, vr = Server(sim, NY, "srm"), Server(sim, NY, "vr")
        replication = vr.listed(REPLICATIONS)[0]
        group = srm.listed(GROUPS)[0]
        sim.site_down(NJ)
        answers = [
            *(vr.post(f"{REPLICATIONS}/{replication['id']}/actions/{verb}") for verb in ("pause", "resume", "sync")),
            vr.post(f"{REPLICATIONS}/{replication['id']}/actions/unconfigure"),
            vr.post(f"{REPLICATIONS}/{replication['id']}/actions/reconfigure", {}),
            srm.delete(f"{GROUPS}/{group['id']}"),
            srm.post(f"{GROUPS}/{group['id']}/actions/reconfigure", {"name": group["name"]}),
        ]
        unchanged = vr.get(f"{REPLICATIONS}/{replication['id']}").json()
        still = srm.listed(GROUPS)
        sim.site_up(NJ)
        paused = vr.finished(vr.post(f"{REPLICATIONS}/{replication['id']}/actions/pause").json())
    finally:
        sim.stop()
    assert [a.status_code for a in answers] == [500] * len(answers)
    assert all(is_response_error(a) and a.json()["error_code"] == "SERVER_DOWN" for a in answers)
    assert unchanged["status"] == replication["status"] and group["id"] in {g["id"] for g in still}
    assert paused["status"] == "SUCCESS"  # the peer is back
