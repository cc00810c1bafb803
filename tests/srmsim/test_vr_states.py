"""vSphere Replication's states and seeds as VR documents them (issue #21, points 2-4), on a real lab (two
vcsim sites + srmsim) and on an in-memory srmsim: a powered-off source's replication is NOT_ACTIVE and syncs
once the VM runs; a recovery plan's sync fails on a paused or failed replication instead of skipping or
healing it; a seed must match its disk's size and belong to no registered VM, and a batch configure is
answered per VM."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from labstate import grown_topology
from srmsim_fixtures import launch, logged_in
from srmsim_lab import NJ, NY, Lab, LabFactory

from srmctl.adapters.dr import VrClient
from srmctl.adapters.dr.models import ConfigureReplicationSpec, Replication, ReplicationDiskSpec, VrVm
from srmctl.adapters.vcenter import operations
from srmctl.errors import OperationFailed
from srmctl.lab import lab
from srmctl.labkit.topology import load_topology
from srmctl.srmsim.launcher import SrmsimHandle

pytestmark = pytest.mark.lab

MIB = 1024 * 1024


def _named(vr: VrClient, name: str, source_vc_guid: str | None = None) -> Replication:
    """The replication of the VM ``name`` (one listing)."""
    return next(r for r in vr.replications(source_vc_guid=source_vc_guid) if r.name == name)


def _seeded_spec(vm: VrVm, target_vc: str, datastore_id: str) -> ConfigureReplicationSpec:
    """Every disk of ``vm`` onto the same path at ``datastore_id``, as a seed (the old disks of a failback)."""
    disks = tuple(
        ReplicationDiskSpec(
            vm_disk=d.model_dump(mode="json", exclude_none=True),
            destination_datastore_id=datastore_id,
            use_seeds=None if d.is_vm_home else True,
            destination_path=None
            if d.is_vm_home or d.source_path is None
            else f"{d.source_path.path}/{d.source_path.filename}",
        )
        for d in vm.disks
    )
    return ConfigureReplicationSpec(vm_id=vm.id, target_vc_id=target_vc, rpo=15, disks=disks)


def _state(vr: VrClient, name: str, source_vc_guid: str) -> str | None:
    return next(r.state for r in vr.replications(source_vc_guid=source_vc_guid) if r.name == name)


def _until(vr: VrClient, name: str, source_vc_guid: str, state: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while (now := _state(vr, name, source_vc_guid)) != state:
        assert time.monotonic() < deadline, f"{name} stayed {now}, never {state}"
        time.sleep(0.05)


@pytest.mark.timeout(120)
def test_reverse_replications_after_a_migration_follow_power_and_seed_rules(make_lab: LabFactory) -> None:
    """After a planned migration, replicating back: a VM powered off at new-jersey is NOT_ACTIVE, not synced,
    until it is powered on; a disk grown at new-jersey has no seed of its size at new-york; an orphan still
    registered owns its disks; and the batch is answered VM by VM."""
    lab = make_lab("planned-migration")
    nj_session, ny_session = lab.session(NJ), lab.session(NY)
    try:
        operations.power_off(nj_session, lab.inventory(NJ).vm("web02").moref)
        for vm in lab.inventory(NY).vms:
            if vm.name != "db01":  # db01's orphan stays registered: its disks are no seeds
                operations.unregister(ny_session, vm.moref)
        grown = lab.datastore_dir(NJ, "ESX3_LOCAL") / "mail04" / "mail04-flat.vmdk"
        old_size = grown.stat().st_size
        with grown.open("ab") as handle:  # mail04's disk grew by 1 MiB at new-jersey after the failover
            handle.truncate(old_size + MIB)
        with lab.dr() as dr:
            nj, ny = dr[NJ], dr[NY]
            home = {"db01": "NY-SAN-01", "mail04": "ESX1_LOCAL", "web01": "NY-SAN-01", "web02": "NY-SAN-01"}
            ny_ds = {d.name: d.id for d in nj.vr.datastores(ny.local_vc_guid)}
            vms = {v.name: v for v in nj.vr.vms(nj.local_vc_guid)}
            specs = [_seeded_spec(vms[n], ny.local_vc_guid, ny_ds[home[n]]) for n in sorted(home)]
            tasks = nj.vr.configure_replications(specs, wait=False)
            assert len(tasks) == 4  # one task per VM, as VR's TaskDrResponseList
            ended = {t.entity_name: t for t in nj.vr.poll_tasks(tasks, timeout=30)}
            errors = {n: (t.error.message or "") if t.error else "" for n, t in ended.items()}
            assert {n: t.status for n, t in ended.items()} == {
                "db01": "ERROR",
                "mail04": "ERROR",
                "web01": "SUCCESS",
                "web02": "SUCCESS",
            }, errors
            assert re.search(r"SEED_IN_USE: seed \[NY-SAN-01\] db01/db01\.vmdk is a disk of VM db01", errors["db01"])
            assert re.search(
                rf"SEED_SIZE_MISMATCH: seed \[ESX1_LOCAL\] mail04/mail04\.vmdk is {old_size} bytes "
                rf"but disk \d+ of mail04 is {old_size + MIB} bytes",
                errors["mail04"],
            ), errors["mail04"]
            source = nj.local_vc_guid
            assert {r.name for r in nj.vr.replications(source_vc_guid=source)} == {"web01", "web02"}
            _until(nj.vr, "web01", source, "OK")
            # web02 runs nowhere: VR reports NOT_ACTIVE and syncs nothing until it is powered on.
            time.sleep(0.5)
            web02 = _named(nj.vr, "web02", source_vc_guid=source)
            assert web02.state == "NOT_ACTIVE" and not web02.last_sync_time
            with pytest.raises(OperationFailed, match="INVALID_STATE: replication is NOT_ACTIVE"):
                nj.vr.sync_replication(web02.id)
            operations.power_on(nj_session, lab.inventory(NJ).vm("web02").moref)
            _until(nj.vr, "web02", source, "OK")
            assert nj.vr.replication(web02.id).last_sync_time
            # Powered off again: NOT_ACTIVE again; SRM's view of the replicated VM says so too.
            operations.power_off(nj_session, lab.inventory(NJ).vm("web02").moref)
            _until(nj.vr, "web02", source, "NOT_ACTIVE")
    finally:
        nj_session.close()
        ny_session.close()


@pytest.mark.timeout(120)
def test_a_disk_grown_at_the_recovery_site_after_the_failover(tmp_path: Path) -> None:
    """The topology's grow_after_failover: once the failover ran, mail04's first disk at new-jersey is 1 MiB
    larger in vCenter and in its file, so its old disk at new-york is no seed for it."""
    before = {vm.name: [d.size for d in vm.disks] for vm in load_topology().vms}
    config = lab.up(tmp_path / "lab", grown_topology("mail04", MIB), scenario="planned-migration")
    try:
        handle = Lab(config, tmp_path / "lab")
        grown = handle.inventory(NJ).vm("mail04")
        sizes = [d.capacity_bytes for d in sorted(grown.disks, key=lambda d: d.key)]
        assert sizes == [before["mail04"][0] + MIB, *before["mail04"][1:]]
        flat = handle.datastore_dir(NJ, "ESX3_LOCAL") / "mail04" / "mail04-flat.vmdk"
        assert flat.stat().st_size == before["mail04"][0] + MIB
        assert [d.capacity_bytes for d in handle.inventory(NJ).vm("web01").disks] == before["web01"]
    finally:
        lab.down(tmp_path / "lab")


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SrmsimHandle]:
    handle = launch(tmp_path)
    yield handle
    handle.stop()


def test_a_plan_sync_fails_on_a_paused_replication_and_leaves_it_paused(sim: SrmsimHandle) -> None:
    """SRM: a planned migration "will attempt to restore the protection site to the original state if an error
    ... occurs before the storage steps"; a paused replica is stale, so the sync fails and nothing moves."""
    ny_vr, nj_srm = logged_in(sim, NY, "vr"), logged_in(sim, NJ, "srm")
    try:
        web01 = _named(ny_vr, "web01")
        ny_vr.pause_replication(web01.id)
        plan = nj_srm.plan_by_name("VR Failover")
        with pytest.raises(OperationFailed, match="cannot synchronize storage: the replication of web01 is PAUSED"):
            nj_srm.test_plan(plan.id)
        nj_srm.cleanup_plan(plan.id)  # the interrupted test, cleaned up
        with pytest.raises(OperationFailed, match="cannot synchronize storage: the replication of web01 is PAUSED"):
            nj_srm.recover_plan(plan.id, planned=True)
        assert ny_vr.replication(web01.id).state == "PAUSED"  # not skipped, not healed
        state = sim.state()
        ny_vms = {v["name"]: v for v in state["sites"][NY]["vms"]}
        assert all(ny_vms[n]["power_state"] == "POWERED_ON" for n in ("db01", "mail04", "web01", "web02"))
        assert not [v for v in state["sites"][NJ]["vms"] if v["role"] in ("replica", "test")]
    finally:
        ny_vr.close()
        nj_srm.close()


def test_a_plan_sync_fails_on_a_replication_in_error(sim: SrmsimHandle) -> None:
    ny_vr, nj_srm = logged_in(sim, NY, "vr"), logged_in(sim, NJ, "srm")
    try:
        old = _named(ny_vr, "web02")
        target = ny_vr.replication_disks(old.id)[0].destination_path
        assert target is not None
        ny_vr.unconfigure_replication(old.id, retain_replica_disks=True)
        vm = next(v for v in ny_vr.vms(sim.sites[NY].vc_guid) if v.name == "web02")
        sim.fail_task("Configure replication for web02", message="host unreachable")
        with pytest.raises(OperationFailed, match="host unreachable"):
            ny_vr.configure_replications([_seeded_spec(vm, sim.sites[NJ].vc_guid, target.datastore_id)])
        assert _named(ny_vr, "web02").state == "ERROR"
        plan = nj_srm.plan_by_name("VR Failover")
        with pytest.raises(OperationFailed, match="the replication of web02 is ERROR"):
            nj_srm.test_plan(plan.id)
        assert _named(ny_vr, "web02").state == "ERROR"  # a sync never turns ERROR into OK
    finally:
        ny_vr.close()
        nj_srm.close()
