"""The happy paths that drive every SRM and VR client operation against srmsim (the failback mapping table
plus plan actions, prompts, callouts and the rarer calls), recorded for the contract tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from srmsim_fixtures import PASSWORD, logged_in

from srmctl.errors import OperationFailed


def drive(client: Any, plan_id: str, start: Callable[[], Any]) -> None:
    """Start a plan run and see it through, dismissing its prompts as they come."""
    task = start()
    while not task.done:
        for prompt in client.user_prompts(plan_id):
            client.dismiss_prompt(plan_id, prompt.id)
        task = client.get_task(task.id)
        time.sleep(0.02)
    client.wait_task(task)


def run_workflow(sim: Any, hooks: dict[str, Any]) -> None:
    """Exercise every client call: the failback mapping table plus plan actions and prompt dismissal."""
    from srmctl.adapters.dr.models import CalloutSpec, ConfigureReplicationSpec, ReplicationDiskSpec

    ny, nj = sim.sites["new-york"].vc_guid, sim.sites["new-jersey"].vc_guid
    srm = logged_in(sim, "new-york", event_hooks=hooks)
    vr = logged_in(sim, "new-york", "vr", event_hooks=hooks)
    srm_nj = logged_in(sim, "new-jersey", event_hooks=hooks)
    srm.session_info(), srm.server_info(), srm.pairing(), srm.find_pairing(), srm.vcenters(), srm.groups()
    assert srm.remote_session_info().username and vr.remote_session_info().username
    vr.session_info(), vr.info(), vr.pairing(), vr.find_pairing("vc-new-jersey")
    for client in (srm, srm_nj):  # the inventory mappings preflight reads, at both SRM servers
        assert client.inventory_mappings().folders, "the lab's default folder mappings"
        assert client.placeholder_datastores(), "the lab's placeholder datastore"
    plan = srm.plan_by_name("VR Failover")
    vms = srm.plan_vms(plan.id)
    for vm in vms:
        state = srm.recovery_settings(plan.id, vm.id)
        srm.update_recovery_settings(plan.id, vm.id, state.recovery_settings)
        srm.set_priority(plan.id, vm.id, srm.priority(plan.id, vm.id))
        deps = [d.id for d in srm.dependent_vms(plan.id, vm.id)]
        assert srm.validate_dependent_vms(plan.id, vm.id, deps).valid
        srm.set_dependent_vms(plan.id, vm.id, deps)
        ip = srm.ip_customization(plan.id, vm.id)
        srm.set_ip_customization(
            plan.id,
            vm.id,
            str(
                ip.ip_customization_type.value
                if hasattr(ip.ip_customization_type, "value")
                else ip.ip_customization_type
            ),
            ip.nic_settings,
        )
        srm.plan_vm(plan.id, vm.id)
    steps = srm.recovery_steps(plan.id, "recovery")
    custom = [s for s in steps if s.plan_callout_position_spec]
    srm.create_plan_callout(
        plan.id,
        "test",
        CalloutSpec(name="Check", content="ok", callout_type="RUN_ON_SRM_SERVER", timeout_seconds=30, position=1),
    )
    new = next(s for s in srm.recovery_steps(plan.id, "test") if s.title == "Check")
    srm.edit_callout(
        plan.id,
        "test",
        new.id,
        CalloutSpec(name="Check", content="ok2", callout_type="RUN_ON_SRM_SERVER", timeout_seconds=5),
    )
    assert srm.callout_data(plan.id, "test", new.id).content == "ok2"
    srm.delete_recovery_step(plan.id, "test", new.id)
    assert custom, "the default topology has a plan-level custom step"
    # a test cancelled at its prompt and cleaned up; then test + cleanup with prompts, then planned migration
    task = srm.test_plan(plan.id, wait=False)
    while srm.plan(plan.id).status != "WAITING_FOR_USER_INPUT":
        time.sleep(0.02)
    srm.cancel_plan(plan.id)
    with pytest.raises(OperationFailed, match="CANCELLED|ERROR|cancelled"):
        srm.wait_task(task)
    drive(srm, plan.id, lambda: srm.cleanup_plan(plan.id, wait=False))
    drive(srm, plan.id, lambda: srm.test_plan(plan.id, wait=False))
    drive(srm, plan.id, lambda: srm.cleanup_plan(plan.id, wait=False))
    # Each SRM server knows the plan by its own id (srmsim/ids.py): new-jersey's is read at new-jersey.
    plan_nj = srm_nj.plan_by_name("VR Failover")
    assert plan_nj.name == plan.name and plan_nj.id != plan.id
    drive(srm_nj, plan_nj.id, lambda: srm_nj.recover_plan(plan_nj.id, planned=True, wait=False))
    assert srm.plan(plan.id).status == "RECOVERY_COMPLETE"
    # the manual failback sequence, new-jersey -> new-york. Step 1 unregisters the orphans at new-york (in
    # vCenter; here srmsim's in-memory stand-in), or SRM could not create their placeholders there.
    for name in ("db01", "mail04", "web01", "web02"):
        assert sim.unregister_vm("new-york", name)
    groups = srm.plan_groups(plan.id)
    for group in groups:
        assert all(v.status == "REPLICATION_ERROR" for v in srm.group_vms(group.id))
        srm.group(group.id)
    srm.reconfigure_plan(plan.id, protection_groups=[])
    for group in groups:
        assert srm.group_plans(group.id) == []
    # several tasks awaited together: one filtered GET /tasks (filter_property=id) per look, as the steps wait
    assert len(groups) > 1
    srm.wait_tasks([srm.delete_group(group.id, wait=False) for group in groups])
    for replication in vr.replications(source_vc_guid=ny, extended_info=True):
        vr.replication(replication.id), vr.replication_disks(replication.id)
        vr.unconfigure_replication(replication.id, retain_replica_disks=True)
    vr_nj = logged_in(sim, "new-jersey", "vr", event_hooks=hooks)
    datastores = {d.name: d for d in vr_nj.datastores(ny)}
    specs = []
    for vm in vr_nj.vms(nj, suitable_for_replication=True):
        disks = [d for d in vr_nj.vm_disks(nj, vm.id)]
        original = datastores["ESX1_LOCAL" if vm.name == "mail04" else "NY-SAN-01"]
        data_disks = [d for d in disks if not d.is_vm_home]
        seeds = vr_nj.find_seeds(
            ny, original.id, [(d, f"{d.source_path.path}/{d.source_path.filename}") for d in data_disks]
        )
        assert all(s.found_seeds for s in seeds)
        sizes = {f.path.split("] ", 1)[-1]: f.size for f in vr_nj.disk_files(ny, original.id)}
        assert all(sizes[s.found_seeds[0]] for s in seeds)  # each seed is a disk the browser sizes
        vr_nj.vm_by_name(nj, vm.name)
        specs.append(
            ConfigureReplicationSpec(
                vm_id=vm.id,
                target_vc_id=ny,
                rpo=15,
                quiesce_enabled=True,
                disks=tuple(
                    ReplicationDiskSpec(
                        vm_disk=d.model_dump(mode="json", exclude_none=True),
                        destination_datastore_id=original.id,
                        use_seeds=not d.is_vm_home or None,
                        destination_path=None if d.is_vm_home else seed.found_seeds[0],
                    )
                    for d, seed in zip([disks[0], *data_disks], [seeds[0], *seeds], strict=True)
                ),
            )
        )
    vr_nj.wait_tasks(vr_nj.configure_replications(specs, wait=False))  # one filtered GET /tasks per look
    # The configure tasks end once configured; the seeded full sync (FULL_SYNC, then OK) runs after them.
    deadline = time.monotonic() + 30
    while {r.state for r in vr_nj.replications(source_vc_guid=nj)} != {"OK"} and time.monotonic() < deadline:
        time.sleep(0.05)
    first = next(r for r in vr_nj.replications(source_vc_guid=nj) if r.vm_id == specs[0].vm_id)
    vr_nj.reconfigure_replication(first.id, specs[0].model_copy(update={"rpo": 30}))
    assert vr_nj.replication(first.id).rpo == 30
    for replication in vr_nj.replications(source_vc_guid=nj):
        assert replication.state == "OK" and replication.sync_progress.checksum_total > 0
        vr_nj.pause_replication(replication.id), vr_nj.resume_replication(replication.id)
        vr_nj.sync_replication(replication.id)
    replicated = srm_nj.replicated_vms(nj)
    task = srm_nj.create_group("VR all back", nj, [v.id for v in replicated])
    group_id = task.result_id
    srm_nj.configure_all_vms(group_id)
    srm_nj.reconfigure_plan(plan_nj.id, protected_vc_guid=nj)
    srm_nj.reconfigure_plan(plan_nj.id, protection_groups=[group_id])
    assert srm_nj.plan(plan_nj.id).status == "READY_STATE"
    temp = srm_nj.create_plan("temp", nj, [], description="scratch").result_id
    srm_nj.delete_plan(temp)
    members = [v.id for v in srm_nj.group_vms(group_id)]
    srm_nj.reconfigure_group(group_id, "VR all back", members, description="every VM home")
    # the automated way home: planned migration back to new-york, then reprotect
    drive(srm, plan.id, lambda: srm.recover_plan(plan.id, planned=True, wait=False))
    drive(srm, plan.id, lambda: srm.reprotect_plan(plan.id, wait=False))
    assert srm.plan(plan.id).status == "READY_STATE"
    # SRM's history of those runs, each at the server that ran it; the cancelled test included
    reports = srm.history_reports(plan.id)
    assert [(r.operation_type, r.result_state) for r in reports] == [
        ("TEST", "CANCELLED"),
        ("CLEANUP", "SUCCESS"),
        ("TEST", "SUCCESS"),
        ("CLEANUP", "SUCCESS"),
        ("FAILOVER", "SUCCESS"),
        ("REPROTECT", "SUCCESS"),
    ]
    assert srm.history_report(plan.id, reports[-1].report_id) == reports[-1]
    assert [r.operation_type for r in srm_nj.all_history_reports()] == ["FAILOVER"]
    assert srm.history_reports(plan.id, start_ms=(reports[-1].start_time_ms or 0) + 1) == []
    # a timeframe given by its start, and by both ends (each a request shape of its own)
    first, last = reports[0].start_time_ms or 0, (reports[-1].start_time_ms or 0) + 1
    assert len(srm.history_reports(plan.id, start_ms=first, end_ms=last)) == len(reports)
    assert len(srm.all_history_reports(start_ms=first)) == len(reports)
    assert len(srm.all_history_reports(start_ms=first, end_ms=last)) == len(reports)
    group_ny = next(g.id for g in srm.groups() if g.name == "VR all back")  # new-york's id of the group
    assert group_ny != group_id
    leaving = srm.group_vms(group_ny)[-1].id  # reprotect swapped the members for the new-york VMs
    srm.remove_vm_from_group(group_ny, leaving)
    assert leaving not in [v.id for v in srm.group_vms(group_ny)]
    # a local-only removal, as when the peer site is gone
    gone = vr.replications(source_vc_guid=ny)[-1]
    vr.delete_replication(gone.id)
    assert gone.id not in [r.id for r in vr.replications()]
    for client in (srm, vr, srm_nj, vr_nj):
        client.logout()
    assert PASSWORD
