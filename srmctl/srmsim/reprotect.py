"""SRM reprotect as a task worker: the recovered VMs become the protected ones, replication is reversed and
placeholders are registered at the new recovery site (ReprotectPlanSpec: "Reprotect involves unregistering the
VMs on the peer site, configuring storage, and registering placeholders")."""

from __future__ import annotations

from typing import Any

from srmctl.srmsim import effects, placeholders, replication_sync
from srmctl.srmsim import replication as vr
from srmctl.srmsim.model import SimPlan, SimTask, SimVm
from srmctl.srmsim.plans import plan_vms, require_originals
from srmctl.srmsim.recovery_settings import swap_sites
from srmctl.srmsim.runs import PlanRun, runnable, set_groups, start_run
from srmctl.srmsim.world import Failed, World


def run_reprotect(world: World, site: str, plan_id: str, spec: dict[str, Any], *, user: str) -> SimTask:
    """Reverse the direction: unregister the old VMs (files kept as seeds), replicate back onto them, flip."""
    with world.lock:
        allowed = {
            "RECOVERY_COMPLETE",
            "DISASTER_RECOVERY_COMPLETE",
            "INCOMPLETE_REPROTECT",
            "PARTIAL_REPROTECT",
            "REPROTECT_INTERRUPTED",
        }
        if spec.get("forced"):
            # ReprotectPlanSpec.forced: "ignore all errors and return the plan to the Ready state".
            allowed.add("RECOVERY_SPLIT_BRAIN")
        plan = runnable(world, plan_id, allowed, "reprotect")
        old_site, new_site = plan.protected_site, world.other(plan.protected_site)
        for name in (old_site, new_site):
            world.require_up(name)

        # INCOMPLETE_REPROTECT: "Items that have already been successfully reprotected will not be affected by
        # running reprotect again": a run that reversed the replications and failed at the placeholders
        # only creates the placeholders.
        reversed_already = reprotected(world, plan)

        def work(run: PlanRun) -> str:
            mapping: dict[str, tuple[SimVm, str]] = {}

            def reverse() -> None:
                mapping.update(_unregister_old(world, plan))
                _reverse(world, run, mapping)

            if not reversed_already:
                run.step("BEFORE_REVERSE_REPLICATION", reverse)
                run.step("BEFORE_CREATE_PLACEHOLDER_VMS", lambda: _flip(world, plan, mapping, new_site))
            # Reprotect "involves unregistering the VMs on the peer site, configuring storage, and
            # registering placeholders" (ReprotectPlanSpec): placeholders at the new recovery site. A VM whose
            # placeholder cannot be created fails the reprotect (the groups end Partially Reprotected).
            unplaced = []
            for group_id in plan.group_ids:
                group = world.group(group_id)
                placeholders.configure_group(world, group)
                unplaced += [
                    f"{world.find_vm(v).name}: {group.configured[v][0]} {'; '.join(group.configured[v][1])}".rstrip()
                    for v in group.vm_ids
                    if group.configured.get(v, ("NOT_CONFIGURED", []))[0] != "OK"
                ]
            if unplaced:
                raise Failed(f"placeholder VMs could not be created: {', '.join(unplaced)}")
            run.step("BEFORE_FINALIZE_STORAGE")  # the reverse syncs ran in BEFORE_REVERSE_REPLICATION
            return "READY_STATE"

        set_groups(world, plan, "REPROTECTING")
        return start_run(world, site, plan, "Reprotect", "REPROTECT_IN_PROGRESS", work, "INCOMPLETE_REPROTECT", user)


def reprotected(world: World, plan: SimPlan) -> bool:
    """Whether an earlier reprotect of ``plan`` already reversed it and failed after (at the placeholders):
    the plan is INCOMPLETE_REPROTECT and every VM of its groups is replicated from the plan's protected site
    by a live replication (not one a recovery stopped)."""
    vms = plan_vms(world, plan)
    return (
        plan.status == "INCOMPLETE_REPROTECT"
        and bool(vms)
        and all(
            (r := world.replication_of_vm(vm.id)) is not None
            and r.source_site == plan.protected_site
            and not r.recovered
            # A powered-off source's replication is NOT_ACTIVE (VR) yet reprotected all the same.
            and r.status not in replication_sync.INACTIVE - {"NOT_ACTIVE"}
            for vm, _ in vms
        )
    )


def _unregister_old(world: World, plan: SimPlan) -> dict[str, tuple[SimVm, str]]:
    """Old VM id -> (old VM, recovered VM id); the old VMs leave the inventory, their files stay."""
    mapping = {}
    with world.lock:
        recovery = world.site(world.other(plan.protected_site))
        replicas: dict[str, SimVm] = {}
        for v in recovery.vms.values():  # one pass over the site, not one per VM
            if v.role == "replica":
                replicas.setdefault(v.name, v)
        for vm, _ in plan_vms(world, plan):
            replica = replicas.get(vm.name)
            if replica is None:
                raise Failed(f"no recovered VM {vm.name} at {recovery.name}")
            mapping[vm.id] = (vm, replica.id)
    require_originals(world, plan, [vm for vm, _ in mapping.values()])

    def unregister(vm: SimVm) -> None:
        effects.unregister(world, vm)
        with world.lock:
            world.site(vm.site).vms.pop(vm.id, None)

    world.parallel(unregister, [vm for vm, _ in mapping.values()])
    return mapping


def _reverse(world: World, run: PlanRun, mapping: dict[str, tuple[SimVm, str]]) -> None:
    """Replicate each recovered VM back onto its old disks, used as seeds; the syncs run in parallel (the step
    waits for the longest, srmsim/latency.py)."""

    def reverse_one(item: tuple[str, tuple[SimVm, str]]) -> float:
        old_id, (old_vm, new_id) = item
        with world.lock:
            old = world.replication_of_vm(old_id)
            if old is not None:
                del world.replications[old.id]
            replica = world.find_vm(new_id)
            old_files = {d.device_key: d.filename for d in old_vm.disks}
            disks: list[dict[str, Any]] = [
                {"vm_disk": {"vm_id": new_id, "is_vm_home": True}, "destination_datastore_id": old_vm.datastore_id}
            ]
            disks += [
                {
                    "vm_disk": {"vm_id": new_id, "device_key": d.device_key},
                    "destination_datastore_id": old_vm.datastore_id,
                    "use_seeds": True,
                    "destination_path": old_files[d.device_key],
                    "enabled_for_replication": True,
                }
                for d in replica.disks
            ]
            # SRM's reprotect keeps every setting of the replication it reverses.
            spec = {
                "vm_id": new_id,
                "target_vc_id": world.site(old_vm.site).vc_guid,
                "disks": disks,
                **(vr.settings_spec(old) if old else {"rpo": 15}),
            }
            reverse = vr.new_replication(world, replica, old_vm.site, spec)
            world.replications[reverse.id] = reverse
        effects.footprint(world, reverse, active=True)
        return replication_sync.sync(run.ctx, reverse, paced=False)

    seconds = world.parallel(reverse_one, list(mapping.items()))
    run.ctx.spend(world.latency.duration("vr.configure") + max(seconds) if seconds else 0.0)


def _flip(world: World, plan: SimPlan, moved: dict[str, tuple[SimVm, str]], new_site: str) -> None:
    mapping = {old: new for old, (_, new) in moved.items()}
    with world.lock:
        for group_id in plan.group_ids:
            group = world.group(group_id)
            group.vm_ids = [mapping.get(v, v) for v in group.vm_ids]
            group.protected_site, group.status = new_site, "OK"
            group.configured = {}
        for vm_id in list(plan.settings):
            settings = plan.settings.pop(vm_id)
            settings.dependent = [mapping.get(d, d) for d in settings.dependent]
            swap_sites(settings)
            plan.settings[mapping.get(vm_id, vm_id)] = settings
        for vm_id in mapping.values():
            world.find_vm(vm_id).role = "vm"
        plan.protected_site = new_site
        plan.vm_status.clear()
