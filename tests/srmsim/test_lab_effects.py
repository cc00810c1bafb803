"""srmsim's effects are real in the lab's vcsim sites: every scenario state (protected, planned migration,
disaster recovery; see docs/architecture.md) is checked
through the SRM/VR REST APIs and through vCenter, on a real lab (two vcsim processes + srmsim), no mocks."""

from __future__ import annotations

import json
import os
import re
import time

import pytest
from srmsim_lab import NJ, NY, Lab, LabFactory, digest, tree

from srmctl.adapters.dr.models import ConfigureReplicationSpec, ReplicationDiskSpec, Task
from srmctl.adapters.dr.site import DrSite
from srmctl.adapters.vcenter import operations
from srmctl.errors import OperationFailed
from srmctl.srmsim.model import BLOCK

VMS = ("db01", "mail04", "web01", "web02")
FOLDERS = {"db01": "DB", "mail04": "Mail", "web01": "Web/Frontend", "web02": "Web/Frontend"}
# The default topology's NIC 0 addresses (protected = new-york, recovery = new-jersey); web02 has none.
IP = {
    "db01": ("10.10.0.21", "10.20.0.21"),
    "mail04": ("10.10.0.14", "10.20.0.14"),
    "web01": ("fd00:10::31", "fd00:20::31"),
}


def applied_ip(lab: Lab, site: str, name: str) -> str | None:
    """The address SRM's IP customisation gave NIC 0 of ``name`` at ``site`` (srmsim.effects), or None."""
    text = lab.extra_config(site, name).get("srmsim.ip.0")
    if text is None:
        return None
    ip = json.loads(text)
    return str((ip.get("ip_v4") or ip.get("ip_v6"))["ip_address"])


def _moref_number(moref: str) -> int:
    return int(moref.rsplit("-", 1)[1])


def _answering_prompts(site: DrSite, plan_id: str, task: Task) -> Task:
    """Wait for a plan run, dismissing its prompts (mail04's post-power-on prompt, the plan's prompt step)."""
    deadline = time.monotonic() + 60
    while not task.done and time.monotonic() < deadline:
        for prompt in site.srm.user_prompts(plan_id):
            site.srm.dismiss_prompt(plan_id, prompt.id)
        time.sleep(0.05)
        task = site.srm.get_task(task.id)
    return site.srm.wait_task(task, timeout=1)


def _plan(dr: dict[str, DrSite], site: str = NJ) -> str:
    """The plan's id at one SRM server: each server knows it by its own id (srmsim/ids.py)."""
    return dr[site].srm.plan_by_name("VR Failover").id


@pytest.mark.timeout(90)
def test_protected_world_is_the_vcenters(make_lab: LabFactory) -> None:
    lab = make_lab("protected")
    ny = lab.inventory(NY)
    with lab.dr() as dr:
        site = dr[NY]
        session = lab.session(NY)
        try:
            assert site.local_vc_guid == session.instance_uuid  # srmsim adopted vcsim's instance UUID
        finally:
            session.close()
        vr_vms = {v.name: v for v in site.vr.vms(site.local_vc_guid)}
        assert {n: v.id for n, v in vr_vms.items()} == {
            v.name: f"VirtualMachine:{v.moref}:{site.local_vc_guid}" for v in ny.vms
        }
        datastores = {d.name: d.id for d in site.vr.datastores(site.local_vc_guid)}
        assert datastores == {d.name: f"Datastore:{d.moref}:{site.local_vc_guid}" for d in ny.datastores}
        replications = {r.name: r for r in site.vr.replications(source_vc_guid=site.local_vc_guid)}
        assert sorted(replications) == sorted(VMS)
        assert all(r.status is not None and r.status.status == "OK" for r in replications.values())
        local_vrms = site.vr.pairings()[0].local_vrms
        vr_guid = str(local_vrms.id if local_vrms else "")
    # VR's footprint on each source VM, as a real vCenter shows it.
    for vm in ny.vms:
        # VR's id is the group's GID between the VR form's type and the serving VR server's GUID (ids.py).
        kind, gid, server = replications[vm.name].id.split(":")
        assert (kind, server) == ("HmsGroup", vr_guid)
        assert vm.replication is not None and vm.replication.replication_id == gid
        assert vm.replication.rpo_minutes == replications[vm.name].rpo
        extra = lab.extra_config(NY, vm.name)
        assert extra["hbr_filter.gid"] == gid
        assert extra["hbr_filter.rpo"] == str(vm.replication.rpo_minutes)
    assert any("sync of mail04" in message for message in lab.events(NY, "mail04"))
    # The replica is the VM folder's files, byte for byte; srmsim kept no datastore of its own.
    source, replica = lab.datastore_dir(NY, "ESX1_LOCAL") / "mail04", lab.datastore_dir(NJ, "ESX3_LOCAL") / "mail04"
    assert tree(replica) == tree(source)
    assert {p.name for p in replica.iterdir()} >= {
        "mail04.vmx",
        "mail04.nvram",
        "vmware.log",
        "mail04.vmdk",
        "mail04-flat.vmdk",
        "mail04_1-flat.vmdk",
    }
    assert not (lab.directory / "srmsim" / "datastores").exists()
    # SRM's placeholders at new-jersey: one per protected VM, named as it, in the mapped folder, managed by
    # SRM's extension, on the placeholder datastore (ESX3_LOCAL, the first), in a folder of their own.
    placeholders = {v.name: v for v in lab.inventory(NJ).vms}
    assert sorted(placeholders) == sorted(VMS)
    for name, vm in placeholders.items():
        assert (vm.managed_by, vm.managed_by_type, vm.is_placeholder) == ("com.vmware.vcDr", "placeholderVm", True)
        assert vm.folder == FOLDERS[name] and vm.datastores == ("ESX3_LOCAL",) and vm.disks == ()
        assert vm.power_state == "poweredOff" and vm.replication is None
    assert placeholders["mail04"].vmx_path != "[ESX3_LOCAL] mail04/mail04.vmx"  # the replica's folder untouched


@pytest.mark.timeout(90)
def test_planned_migration_state(make_lab: LabFactory) -> None:
    lab = make_lab("planned-migration")
    ny, nj = lab.inventory(NY), lab.inventory(NJ)
    with lab.dr() as dr:
        site = dr[NY]
        plan = site.srm.plan_by_name("VR Failover")
        assert plan.status == "RECOVERY_COMPLETE"
        for group in site.srm.groups():
            assert group.status == "RECOVERED"
            members = site.srm.group_vms(group.id)
            assert {v.status for v in members} == {"REPLICATION_ERROR"}
        replications = site.vr.replications(source_vc_guid=site.local_vc_guid)
        assert {r.status.status for r in replications if r.status} == {"RECOVERED"}
        raw = lab.srmsim().state()["replications"]
        assert {r["status"] for r in raw} == {"RECOVERED"}
        recovered = {v.name: v for v in dr[NJ].vr.vms(site.remote_vc_guid)}
        assert {v.name: v.power_state for v in recovered.values()} == dict.fromkeys(VMS, "POWERED_ON")
    # vCenter: the orphans stay registered and powered off at new-york; the recovered VMs run at new-jersey,
    # in the mirrored folders, from the replica's .vmx, carrying the original instance UUID.
    assert {v.name: v.power_state for v in ny.vms} == dict.fromkeys(VMS, "poweredOff")
    assert {v.name: v.power_state for v in nj.vms} == dict.fromkeys(VMS, "poweredOn")
    for vm in nj.vms:
        original = ny.vm(vm.name)
        assert vm.folder == FOLDERS[vm.name]
        assert vm.instance_uuid == original.instance_uuid
        assert recovered[vm.name].id.split(":")[1] == vm.moref
        assert lab.extra_config(NJ, vm.name)["srmsim.original_moref"] == original.moref
        assert [d.capacity_bytes for d in vm.disks] == [d.capacity_bytes for d in original.disks]
        assert vm.replication is None
    assert nj.vm("mail04").vmx_path == "[ESX3_LOCAL] mail04/mail04.vmx"
    # NicSettings: a recovery to the recovery site (a new vCenter Server) applies the secondary settings.
    assert {name: applied_ip(lab, NJ, name) for name in VMS} == {
        name: IP[name][1] if name in IP else None for name in VMS
    }
    # Priority order: P1 db01, P2 mail04, P3 web02 before web01 (web01 depends on it). MoRefs are sequential.
    order = sorted(nj.vms, key=lambda v: _moref_number(v.moref))
    assert [v.name for v in order] == ["db01", "mail04", "web02", "web01"]
    state = lab.state()
    assert {v["name"]: v["original_instance_uuid"] for v in state["sites"][NJ]["vms"]} == {
        v.name: v.instance_uuid for v in ny.vms
    }


@pytest.mark.timeout(90)
def test_disaster_recovery_state(make_lab: LabFactory) -> None:
    lab = make_lab("disaster-recovery")
    with lab.dr() as dr:
        site = dr[NY]
        # The protected site came back after a disaster recovery that could not shut its VMs down: SRM shows
        # the plan as RECOVERY_SPLIT_BRAIN ("Run recovery again", srm-api-v2 RecoveryPlanInfo.status).
        assert site.srm.plan_by_name("VR Failover").status == "RECOVERY_SPLIT_BRAIN"
        assert {g.status for g in site.srm.groups()} == {"RECOVERED"}
        replications = site.vr.replications(source_vc_guid=site.local_vc_guid)
        assert {r.status.status for r in replications if r.status} == {"RPO_VIOLATION"}
    # Split brain: new-york came back and its old VMs booted again, while the live copies run at new-jersey.
    assert {v.name: v.power_state for v in lab.inventory(NY).vms} == dict.fromkeys(VMS, "poweredOn")
    assert {v.name: v.power_state for v in lab.inventory(NJ).vms} == dict.fromkeys(VMS, "poweredOn")
    assert any("RPO violation" in message for message in lab.events(NY, "db01"))


@pytest.mark.timeout(90)
def test_test_recovery_and_cleanup_touch_only_test_copies(make_lab: LabFactory) -> None:
    lab = make_lab("protected")
    replicas = {ds: tree(lab.datastore_dir(NJ, ds)) for ds in ("ESX3_LOCAL", "NJ-SAN-01")}
    with lab.dr() as dr:
        site, plan_id = dr[NJ], _plan(dr)
        _answering_prompts(site, plan_id, site.srm.test_plan(plan_id, wait=False))
        assert site.srm.plan(plan_id).status == "TEST_COMPLETE"
        nj = lab.inventory(NJ)
        # SRM's test VMs take their placeholders' place under the VMs' own names (not placeholders any more).
        assert {v.name: v.power_state for v in nj.vms} == dict.fromkeys(VMS, "poweredOn")
        assert not any(v.is_placeholder for v in nj.vms)
        assert nj.vm("mail04").vmx_path == "[ESX3_LOCAL] mail04-test/mail04.vmx"
        assert nj.vm("mail04").folder == "Mail"
        assert {v.power_state for v in lab.inventory(NY).vms} == {"poweredOn"}  # production untouched
        site.srm.cleanup_plan(plan_id)
        assert site.srm.plan(plan_id).status == "READY_STATE"
    # The test VMs ran in the placeholders' place (none registered during the test); cleanup put them back.
    after = lab.inventory(NJ).vms
    assert sorted(v.name for v in after) == sorted(VMS)
    assert all(v.is_placeholder and v.folder == FOLDERS[v.name] for v in after)
    # Placeholder homes (their vmware.log records the re-registration) are SRM's files, not replica files.
    homes = tuple(v.vmx_path.split("] ", 1)[1].rsplit("/", 1)[0] + "/" for v in after)
    for ds, files in replicas.items():
        kept = {p: h for p, h in tree(lab.datastore_dir(NJ, ds)).items() if not p.startswith(homes)}
        assert kept == {p: h for p, h in files.items() if not p.startswith(homes)}, (
            f"{ds}: cleanup changed replica files"
        )


def _failback_to_new_york(
    lab: Lab, dr: dict[str, DrSite], *, keep_orphan: str | None = None
) -> dict[str, dict[str, int]]:
    """What srmctl's failback does, by hand: unregister the orphans, drop the old direction, replicate back
    (mail04 with seeds, db01 without, to compare), regroup and flip the plan. Returns bytes per VM."""
    ny, nj = dr[NY], dr[NJ]
    session = lab.session(NY)
    try:
        for vm in lab.inventory(NY).vms:
            if vm.name != keep_orphan:
                operations.unregister(session, vm.moref)
    finally:
        session.close()
    # VR lists VMs as vCenter has them: the unregistered orphans are gone from new-york's list.
    assert {v.name for v in ny.vr.vms(ny.local_vc_guid)} == ({keep_orphan} if keep_orphan else set())
    # A RECOVERED replication goes away once its source VM left the inventory; the kept orphan's stays.
    left = ny.vr.replications(source_vc_guid=ny.local_vc_guid)
    assert {(r.name, r.state) for r in left} == ({(keep_orphan, "RECOVERED")} if keep_orphan else set())
    for replication in ny.vr.replications(source_vc_guid=ny.local_vc_guid):
        ny.vr.unconfigure_replication(replication.id, retain_replica_disks=True)
    old_groups = [g.id for g in ny.srm.groups()]
    ny.srm.reconfigure_plan(_plan(dr, NY), protection_groups=[])
    for group in old_groups:
        ny.srm.delete_group(group)
    # Guest writes at new-jersey since the failover: one block per disk differs from the old disks.
    for ds, vm in (("ESX3_LOCAL", "mail04"), ("NJ-SAN-01", "db01")):
        flat = lab.datastore_dir(NJ, ds) / vm / f"{vm}-flat.vmdk"
        with flat.open("r+b") as handle:
            handle.write(os.urandom(BLOCK))
    ny_ds = {d.name: d.id for d in nj.vr.datastores(ny.local_vc_guid)}
    specs, targets = [], {"mail04": "ESX1_LOCAL", "db01": "NY-SAN-01", "web01": "NY-SAN-01", "web02": "NY-SAN-01"}
    for vm in nj.vr.vms(nj.local_vc_guid):
        seeded = vm.name != "db01"
        disks = [
            ReplicationDiskSpec(
                vm_disk=d.model_dump(mode="json", exclude_none=True),
                destination_datastore_id=ny_ds[targets[vm.name]],
                use_seeds=True if seeded and not d.is_vm_home else None,
                destination_path=f"{d.source_path.path}/{d.source_path.filename}"
                if seeded and not d.is_vm_home and d.source_path
                else None,
            )
            for d in vm.disks
        ]
        specs.append(
            ConfigureReplicationSpec(
                vm_id=vm.id, target_vc_id=ny.local_vc_guid, rpo=15, disks=tuple(disks), quiesce_enabled=True
            )
        )
    # VR never overwrites an existing disk without use_seeds ("you must change the target location"): db01's
    # old disks are still in its folder, so db01's task fails (VR answers a batch per VM) and nothing of it
    # changes; the other VMs are configured.
    db01_dir = lab.datastore_dir(NY, "NY-SAN-01") / "db01"
    before = tree(db01_dir)
    ended = {t.entity_name: t for t in nj.vr.poll_tasks(nj.vr.configure_replications(specs, wait=False), timeout=30)}
    assert ended["db01"].status == "ERROR" and ended["db01"].error is not None
    assert re.search(r"FILE_ALREADY_EXISTS.*db01/db01\.vmdk already exists", ended["db01"].error.message or "")
    assert {t.status for n, t in ended.items() if n != "db01"} == {"SUCCESS"}
    assert "db01" not in {r.name for r in nj.vr.replications(source_vc_guid=nj.local_vc_guid)}
    assert tree(db01_dir) == before
    specs = [s for s in specs if s.vm_id == next(v.id for v in nj.vr.vms(nj.local_vc_guid) if v.name == "db01")]
    # The operator moves the old disks aside (the orphan stays registered from its .vmx) and configures again.
    aside = db01_dir.parent / "db01-old-disks"
    aside.mkdir()
    for disk in db01_dir.glob("*.vmdk"):
        disk.rename(aside / disk.name)
    nj.vr.configure_replications(specs)
    # The configure tasks end once configured; the initial (seeded: checksum) full sync runs after them.
    deadline = time.monotonic() + 60
    while {r.state for r in nj.vr.replications(source_vc_guid=nj.local_vc_guid)} != {"OK"}:
        assert time.monotonic() < deadline, "initial syncs did not finish"
        time.sleep(0.05)
    vm_ids = [v.id for v in nj.vr.vms(nj.local_vc_guid)]
    group = nj.srm.create_group("VR back", nj.local_vc_guid, vm_ids).result_id
    assert group is not None
    nj.srm.reconfigure_plan(_plan(dr, NJ), protected_vc_guid=nj.local_vc_guid)
    nj.srm.reconfigure_plan(_plan(dr, NJ), protection_groups=[group])
    return {r["name"]: r["bytes"] for r in lab.state()["replications"] if r["source"] == NJ}


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_failback_seeds_and_reverse_migration(make_lab: LabFactory) -> None:
    lab = make_lab("planned-migration")
    old_disk = lab.datastore_dir(NY, "ESX1_LOCAL") / "mail04" / "mail04_1-flat.vmdk"
    with lab.dr() as dr:
        sizes = _failback_to_new_york(lab, dr, keep_orphan="db01")
        # Seeds: only the block that differs travels; without seeds the whole disk does.
        mail, db = sizes["mail04"], sizes["db01"]
        assert mail["full"] == 6 * 1024**2 and mail["transferred"] == BLOCK and mail["checksummed"] == mail["full"]
        assert db["transferred"] == db["full"] == 4 * 1024**2
        assert digest(old_disk) == digest(lab.datastore_dir(NJ, "ESX3_LOCAL") / "mail04" / "mail04_1-flat.vmdk")
        nj_inventory = lab.inventory(NJ)
        assert all(v.replication is not None and v.replication.rpo_minutes == 15 for v in nj_inventory.vms)
        plan_id, nj = _plan(dr), dr[NJ]
        # db01's orphan is still registered at new-york in the folder its placeholder needs: SRM cannot create
        # db01's placeholder, so db01 is not protected (a recovery would not recover it).
        group = nj.srm.groups()[0]
        assert {v.name: v.status for v in nj.srm.group_vms(group.id)}["db01"] == "PLACEHOLDER_CREATION_ERROR"
        session = lab.session(NY)
        try:
            operations.unregister(session, lab.inventory(NY).vm("db01").moref)
        finally:
            session.close()
        nj.srm.configure_all_vms(group.id)  # db01's placeholder can be created now
        task = nj.srm.recover_plan(plan_id, planned=True, wait=False)
        _answering_prompts(nj, plan_id, task)
        assert nj.srm.plan(plan_id).status == "RECOVERY_COMPLETE"
    ny = lab.inventory(NY)
    assert {v.name: v.power_state for v in ny.vms} == dict.fromkeys(VMS, "poweredOn")
    assert ny.vm("mail04").vmx_path == "[ESX1_LOCAL] mail04/mail04.vmx"
    assert {v.instance_uuid for v in ny.vms} == {v.instance_uuid for v in nj_inventory.vms}
    assert {v.name: v.power_state for v in lab.inventory(NJ).vms} == dict.fromkeys(VMS, "poweredOff")


@pytest.mark.timeout(90)
def test_reprotect_fails_when_injected_then_reverses(make_lab: LabFactory) -> None:
    lab = make_lab("planned-migration")
    old_files = tree(lab.datastore_dir(NY, "NY-SAN-01"))
    lab.srmsim().fail_task("Reprotect*", message="Injected reprotect failure")
    with lab.dr() as dr:
        nj, plan_id = dr[NJ], _plan(dr)
        with pytest.raises(OperationFailed, match="Injected reprotect failure"):
            nj.srm.reprotect_plan(plan_id)
        assert nj.srm.plan(plan_id).status == "INCOMPLETE_REPROTECT"
        assert {v.name for v in lab.inventory(NY).vms} == set(VMS)  # nothing happened
        nj.srm.reprotect_plan(plan_id)
        plan = nj.srm.plan(plan_id)
        assert plan.status == "READY_STATE" and plan.protected_vc_guid == nj.local_vc_guid
        assert {g.status for g in nj.srm.groups()} == {"OK"}
        # IP settings follow their site: new-jersey (now protected) holds the primary ones, and only the SRM
        # at the recovery site (new-york now) says the recovery site is local.
        db01 = next(v for v in nj.srm.plan_vms(plan_id) if v.name == "db01")
        ny_plan_id = dr[NY].srm.plan_by_name("VR Failover").id  # each SRM server knows the plan by its own id
        at_nj, at_ny = nj.srm.ip_customization(plan_id, db01.id), dr[NY].srm.ip_customization(ny_plan_id, db01.id)
        nic = at_nj.nic_settings[0]
        assert nic.primary_ip_settings is not None and nic.secondary_ip_settings is not None
        assert nic.primary_ip_settings.ip_v4 is not None and nic.secondary_ip_settings.ip_v4 is not None
        assert (nic.primary_ip_settings.ip_v4.ip_address, nic.secondary_ip_settings.ip_v4.ip_address) == (
            IP["db01"][1],
            IP["db01"][0],
        )
        assert (at_nj.is_recovery_site_local, at_ny.is_recovery_site_local) == (False, True)
        replications = nj.vr.replications(source_vc_guid=nj.local_vc_guid)
        assert sorted(r.name or "" for r in replications) == sorted(VMS)
        assert {r.status.status for r in replications if r.status} == {"OK"}
    # The old VMs left new-york's inventory, their files stayed (they were the seeds: nothing differed);
    # reprotect registered placeholders in their place, in the folders new-jersey's mappings give.
    ny_vms = lab.inventory(NY).vms
    assert sorted(v.name for v in ny_vms) == sorted(VMS)
    assert all(v.is_placeholder and v.folder == FOLDERS[v.name] and v.disks == () for v in ny_vms)
    assert set(old_files) <= set(tree(lab.datastore_dir(NY, "NY-SAN-01")))
    state = lab.state()
    assert all(r["bytes"]["transferred"] == 0 for r in state["replications"] if r["source"] == NJ)
    nj_vms = lab.inventory(NJ).vms
    assert all(v.replication is not None and v.power_state == "poweredOn" for v in nj_vms)


@pytest.mark.timeout(90)
def test_reprotect_fails_when_the_originals_were_unregistered(make_lab: LabFactory) -> None:
    """Reprotect "involves unregistering the VMs on the peer site" (srm-api-v2): with an original gone from
    the old protected site's inventory it fails, naming it, and changes nothing."""
    lab = make_lab("planned-migration")
    session = lab.session(NY)
    try:
        operations.unregister(session, lab.inventory(NY).vm("mail04").moref)
    finally:
        session.close()
    with lab.dr() as dr:
        nj, plan_id = dr[NJ], _plan(dr)
        with pytest.raises(OperationFailed, match=r"mail04 .*no longer registered at new-york"):
            nj.srm.reprotect_plan(plan_id)
        plan = nj.srm.plan(plan_id)
        assert plan.status == "INCOMPLETE_REPROTECT" and plan.protected_vc_guid == dr[NY].local_vc_guid
        assert nj.vr.replications(source_vc_guid=nj.local_vc_guid) == []
    assert {v.name for v in lab.inventory(NY).vms} == set(VMS) - {"mail04"}
