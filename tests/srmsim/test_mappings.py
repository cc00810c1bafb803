"""SRM inventory mappings and placeholders in srmsim (in memory): the spec's REST operations, the lab's
default mappings, explicit mappings with one missing (MISSING_MAPPING), a same-named VM in the mapped folder
(PLACEHOLDER_CREATION_ERROR), and recovery into the mapped folder."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from srmsim_fixtures import launch, logged_in

from srmctl.labkit.topology import load_topology
from srmctl.srmsim.launcher import SrmsimHandle

NY, NJ = "new-york", "new-jersey"


def _topology(tmp: Path, mappings: dict[str, Any]) -> str:
    data = load_topology().model_dump(mode="json")
    data["inventory_mappings"] = mappings
    path = tmp / "topology.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path.name


def _groups(sim: SrmsimHandle, site: str = NY) -> dict[str, dict[str, str]]:
    srm = logged_in(sim, site)
    return {g.name: {v.name: v.status for v in srm.group_vms(g.id)} for g in srm.groups()}


def test_default_mappings_give_every_vm_a_placeholder(tmp_path: Path) -> None:
    sim = launch(tmp_path, page_size=50)
    try:
        assert _groups(sim) == {"VR mail": {"mail04": "OK"}, "VR web": dict.fromkeys(("db01", "web01", "web02"), "OK")}
        placeholders = [v for v in sim.state()["sites"][NJ]["vms"] if v["role"] == "placeholder"]
        assert {v["name"]: v["folder"] for v in placeholders} == {
            "mail04": "Mail",
            "db01": "DB",
            "web01": "Web/Frontend",
            "web02": "Web/Frontend",
        }
    finally:
        sim.stop()


def test_a_missing_folder_mapping_is_missing_mapping(tmp_path: Path) -> None:
    # new-york's direction lists every folder but DB: db01 cannot be placed.
    name = _topology(
        tmp_path,
        {
            NY: {
                "folders": {"/": "/", "Mail": "Mail", "Web": "Web", "Web/Frontend": "Web"},
                "resource_pools": {"NY-Cluster": "NJ-Cluster"},
                "placeholder_datastores": ["NJ-SAN-01"],
            }
        },
    )
    sim = launch(tmp_path, page_size=50, topology=name)
    try:
        statuses = _groups(sim)
        assert statuses["VR web"] == {"db01": "MISSING_MAPPING", "web01": "OK", "web02": "OK"}
        srm, pid = logged_in(sim, NY), sim.pairing_id
        web = next(g for g in srm.groups() if g.name == "VR web")
        assert web.status == "NOT_CONFIGURED"
        vm = next(v for v in srm.group_vms(web.id) if v.name == "db01")
        assert list(vm.protection_status_details.errors or ()) == ["no folder mapping for DB of site new-york"]
        placeholders = {v["name"]: v["folder"] for v in sim.state()["sites"][NJ]["vms"] if v["role"] == "placeholder"}
        assert placeholders == {"mail04": "Mail", "web01": "Web", "web02": "Web"}  # the mapped folder, not the path
        # Map DB, then configure-all-vms creates the missing placeholder (one task, for db01 only).
        nj_db, ny_db = _reverse_db(sim)
        with _http(sim, NY) as client:
            url = f"/pairings/{pid}/srms/{sim_srm_id(client, pid)}/inventory-mappings/folders"
            response = client.post(url, json={"mapping_source_object": ny_db, "mapping_target_object": nj_db})
            assert response.status_code == 204
        tasks = srm.configure_all_vms(web.id)
        assert [t.entity_name for t in tasks] == ["db01"]
        _wait(srm, tasks)
        assert _groups(sim)["VR web"] == dict.fromkeys(("db01", "web01", "web02"), "OK")
        assert srm.configure_all_vms(web.id) == []  # "Empty list of tasks ... already protected"
        # Planned migration: the recovered VMs land where the placeholders were (web01 in Web, not Web/Frontend).
        nj_srm = logged_in(sim, NJ)
        plan = nj_srm.plan_by_name("VR Failover")
        task = nj_srm.recover_plan(plan.id, planned=True, wait=False)
        while not task.done:
            for prompt in nj_srm.user_prompts(plan.id):
                nj_srm.dismiss_prompt(plan.id, prompt.id)
            task = nj_srm.get_task(task.id)
            time.sleep(0.02)
        recovered = {v["name"]: (v["folder"], v["role"]) for v in sim.state()["sites"][NJ]["vms"] if v["registered"]}
        assert recovered == {
            "mail04": ("Mail", "replica"),
            "db01": ("DB", "replica"),
            "web01": ("Web", "replica"),
            "web02": ("Web", "replica"),
        }
    finally:
        sim.stop()


def test_a_same_named_vm_in_the_mapped_folder_fails_the_placeholder(tmp_path: Path) -> None:
    sim = launch(tmp_path, page_size=50, scenario="planned-migration")
    try:
        srm, pid = logged_in(sim, NJ), sim.pairing(NJ)
        plan = srm.plan_by_name("VR Failover")
        srm.reconfigure_plan(plan.id, protection_groups=[])
        for group in srm.groups():
            srm.delete_group(group.id)
        vr = logged_in(sim, NJ, "vr")
        for replication in vr.replications(source_vc_guid=sim.sites[NY].vc_guid):
            vr.unconfigure_replication(replication.id, retain_replica_disks=True)
        # mail04's orphan is unregistered at new-york (as srmctl does first), db01's is left in its folder.
        sim.unregister_vm(NY, "mail04")
        from srmctl.adapters.dr.models import ConfigureReplicationSpec, ReplicationDiskSpec

        # Each onto the datastore its old files are not on: VR refuses to overwrite an existing disk without
        # use_seeds, and seeding is not what this test is about.
        datastores = {d.name: d for d in vr.datastores(sim.sites[NY].vc_guid)}
        elsewhere = {"mail04": "NY-SAN-01", "db01": "ESX1_LOCAL"}
        specs = [
            ConfigureReplicationSpec(
                vm_id=vm.id,
                target_vc_id=sim.sites[NY].vc_guid,
                rpo=15,
                disks=tuple(
                    ReplicationDiskSpec(
                        vm_disk=d.model_dump(mode="json", exclude_none=True),
                        destination_datastore_id=datastores[elsewhere[vm.name]].id,
                    )
                    for d in vm.disks
                ),
            )
            for vm in vr.vms(sim.sites[NJ].vc_guid)
            if vm.name in elsewhere
        ]
        vr.configure_replications(specs)
        ids = [v.id for v in srm.replicated_vms(sim.sites[NJ].vc_guid)]
        group = srm.create_group("back", sim.sites[NJ].vc_guid, ids).result_id
        members = {v.name: v for v in srm.group_vms(group)}
        assert members["mail04"].status == "OK"
        assert members["db01"].status == "PLACEHOLDER_CREATION_ERROR"
        assert "already exists in that folder" in members["db01"].protection_status_details.errors[0]
        # restore-all-placeholders: only on the recovery site, one task for db01, which fails again.
        with _http(sim, NJ) as client:
            response = client.post(
                f"/pairings/{pid}/protection-management/groups/{group}/actions/restore-all-placeholders"
            )
            assert response.status_code == 400
        # new-york's SRM server knows the group by its own id (srmsim/ids.py): resolved there by name.
        at_ny = next(g.id for g in logged_in(sim, NY).groups() if g.name == "back")
        assert at_ny != group
        with _http(sim, NY) as client:
            ny_pid = sim.pairing(NY)  # and its own pairing id
            refused = client.post(
                f"/pairings/{ny_pid}/protection-management/groups/{group}/actions/restore-all-placeholders"
            )
            assert refused.status_code == 404
            response = client.post(
                f"/pairings/{ny_pid}/protection-management/groups/{at_ny}/actions/restore-all-placeholders"
            )
            assert response.status_code == 202
            assert [t["entity_name"] for t in response.json()["tasks"]] == ["db01"]
        sim.unregister_vm(NY, "db01")
        tasks = srm.configure_all_vms(group)
        _wait(srm, tasks)
        assert {v.name: v.status for v in srm.group_vms(group)} == {"mail04": "OK", "db01": "OK"}
    finally:
        sim.stop()


def _wait(srm: Any, tasks: list[Any]) -> None:
    for task in tasks:
        srm.wait_task(task)


@contextlib.contextmanager
def _http(sim: SrmsimHandle, site: str) -> Iterator[httpx.Client]:
    """A raw SRM REST client of ``site``, logged in there and to the paired site."""
    import ssl

    from srmsim_fixtures import PASSWORD

    endpoint = sim.sites[site]
    other = next(s for s in sim.sites if s != site)
    with httpx.Client(
        base_url=f"https://{endpoint.host}:{endpoint.port}/api/rest/srm/v2",
        verify=ssl.create_default_context(cafile=endpoint.cert),
        timeout=10,
    ) as client:
        client.headers["x-dr-session"] = client.post("/session", auth=(endpoint.user, PASSWORD)).json()["session_id"]
        assert (
            client.post(
                f"/pairings/{sim.pairing(site)}/remote-session", auth=(sim.sites[other].user, PASSWORD)
            ).status_code
            == 204
        )
        yield client


def sim_srm_id(client: httpx.Client, pid: str) -> str:
    return str(client.get(f"/pairings/{pid}").json()["local_srm_server"]["id"])


def _reverse_db(sim: SrmsimHandle) -> tuple[str, str]:
    """(new-jersey's DB folder id, new-york's), from new-jersey's default mapping DB -> DB."""
    with _http(sim, NJ) as client:
        pid = sim.pairing(NJ)
        body = client.get(
            f"/pairings/{pid}/srms/{sim_srm_id(client, pid)}/inventory-mappings/folders", params={"limit": 100}
        ).json()
    found = next(m for m in body["list"] if m["primary_object_name"] == "DB")
    return found["primary_object"], found["secondary_object"]


pytestmark = [pytest.mark.timeout(120), pytest.mark.lab]
