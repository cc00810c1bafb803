"""``replication.cleanup`` and ``replication.reverse``: remove the old direction's replications (keeping
every replica disk) and replicate the running VMs back onto their old disks, used as seeds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from srmctl.adapters.dr import DrApiError
from srmctl.adapters.dr.models import (
    ConfigureReplicationSpec,
    ReplicationDiskSpec,
    ReplicationStatus,
    Task,
    VrVm,
)
from srmctl.errors import StepFailed
from srmctl.metadata.replication import VmReplication
from srmctl.steps.base import Action, Impact, Step, Verification, register
from srmctl.steps.context import Sides, StepContext
from srmctl.steps.dr_state import is_missing, replications_from, running_vms, running_vms_by_name, vm_names
from srmctl.steps.replication_settings import choose, differences, spec_options
from srmctl.steps.replication_sync import (
    NOT_ACTIVE_NOTE,
    SYNC_TIMEOUT,
    is_syncing,
    not_active,
    powered_off,
    record_bytes,
    resting,
    wait_for_sync,
)
from srmctl.steps.replication_targets import check_seed_sizes, choose_targets, occupied
from srmctl.steps.seeds import data_disks, free_datastores, placement_of, seeds_placed, size_mismatches
from srmctl.steps.window import await_tasks, run_tasks


@register
class ReplicationCleanup(Step):
    """Remove the runbook's VMs' stale replications of the old direction, keeping their replica disks.

    Stale means replicating from the original site (failback.to), which the VMs left; after a recovery VR
    reports them RECOVERED, and unconfigures them itself once their source VMs leave the inventory
    (orphans.unregister): one that is already gone counts as removed. Replica disks are always retained
    (retain_replica_disks=true): they are the seeds of the reverse replication.
    """

    name = "replication.cleanup"
    needs_peer = frozenset({"vr"})  # see Step.needs_peer
    done_once_home = True
    impact = Impact.LOW

    def plan(self, ctx: StepContext) -> tuple[Action, ...]:
        s = ctx.sides
        return tuple(
            Action.make(
                "remove_replication",
                s.running,
                [r.name or r.vm_id or r.id],
                replication_id=r.id,
                direction=f"{s.home}->{s.running}",
                status=r.state or "?",
                retain_replica_disks=True,
            )
            for r in replications_from(ctx, s.home_guid).values()
        )

    def apply(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        dr = ctx.sides.dr
        how: dict[Action, str] = {}

        def start(action: Action) -> Task | None:
            rid = action.detail("replication_id")
            try:
                task = dr.vr.unconfigure_replication(rid, retain_replica_disks=True, wait=False)
                how[action] = "unconfigure"
            except DrApiError as error:
                if is_missing(error):
                    ctx.action_done(action, {"already_removed": True})
                    return None
                # Graceful removal needs both sites; the local removal still keeps the replica disks.
                task = dr.vr.delete_replication(rid, retain_replica_disks=True, wait=False)
                how[action] = f"delete (unconfigure failed: {error.message})"
            return task

        run_tasks(
            ctx,
            dr.vr,
            actions,
            start,
            lambda action, _: ctx.action_done(action, {"method": how[action], "retain_replica_disks": True}),
        )

    def verify(self, ctx: StepContext) -> Verification:
        s = ctx.sides
        left = replications_from(ctx, s.home_guid)
        if left:
            return Verification.failed(
                [f"replication of {name} from {s.home} still exists ({r.id})" for name, r in sorted(left.items())]
            )
        return Verification.passed(f"no replication of the runbook's VMs from {s.home} left")


# --- reverse replication -----------------------------------------------------------------------------------


@register
class ReplicationReverse(Step):
    """Replicate the VMs from where they run back to their original datastores, with the old disks as seeds.

    One batched VR request configures every VM, each with its own settings (recorded by metadata.snapshot; the
    runbook's replication values for a VM with none, or for all with override: see
    :mod:`srmctl.steps.replication_settings`). The datastore is the runbook's vms[].datastore, else the one holding
    the orphan's files (a disk recorded on a datastore of its own at this target goes there); each disk uses the
    seed VR finds there (find-seeds), so only differing blocks travel. With seeds: required a disk without a seed
    fails the step before anything is configured; with seeds: none a disk whose file already exists at the target
    does too (VR refuses to overwrite it). Waits until every replication is in sync (an RPO violation while the full
    sync runs is progress) and journals the bytes transferred versus a full copy.
    """

    name = "replication.reverse"
    needs_peer = frozenset({"vr"})  # see Step.needs_peer
    undone_by = frozenset({"plan.migrate"})  # a migration under way moves the plan, its VMs and replications on
    done_once_home = True
    impact = Impact.LOW

    def plan(self, ctx: StepContext) -> tuple[Action, ...]:
        s = ctx.sides
        existing = replications_from(ctx, s.running_guid)
        actions, problems = [], []
        todo = [n for n in vm_names(ctx) if n not in existing]
        off = powered_off(ctx, sorted(existing)) if any(not_active(r) for r in existing.values()) else frozenset()
        for name, replication in sorted(existing.items()):
            if resting(replication, name, off):
                continue  # configured, and as in sync as a powered-off VM's replication gets (NOT_ACTIVE_NOTE)
            if is_syncing(replication):
                actions.append(
                    Action.make(
                        "wait_for_sync",
                        s.running,
                        [name],
                        replication_id=replication.id,
                        status=replication.state or "?",
                    )
                )
            elif replication.state != ReplicationStatus.OK:
                running = " although the VM is powered on" if not_active(replication) else ""
                problems.append(
                    f"replication of {name} to {s.home} exists but is {replication.state}{running} "
                    f"({replication.id}); repair or remove it in VR first"
                )
        vms, missing = running_vms_by_name(ctx)
        problems += [missing[n] for n in todo if n in missing]
        chosen, unset = choose(ctx, todo)
        problems += [unset[n] for n in todo if n in unset]
        targets = choose_targets(ctx, s, {n: vms[n] for n in todo if n in vms}, problems)
        placement = placement_of(s, {n: c for n, c in chosen.items() if n in targets})
        for name, found in seeds_placed(
            s, {n: vms[n] for n in placement}, {n: targets[n].datastore.id for n in placement}, placement
        ).items():
            targets[name] = replace(targets[name], seeds=found)
        seeds = ctx.runbook.replication.seeds
        refused, full_sync = check_seed_sizes(s, seeds, vms, targets, placement, problems)
        for name in todo:
            if name not in vms or name not in targets or name not in chosen or name in refused:
                continue
            vm, target = vms[name], targets[name]
            disks = data_disks(vm)
            unseeded = [d.label or str(d.device_key) for d in disks if d.device_key not in target.seeds]
            if seeds == "required" and unseeded:
                problems.append(
                    f"{name}: no seed at [{target.datastore.name}] for {', '.join(unseeded)} "
                    "(replication.seeds: required; seeds: preferred runs a full sync of those disks only)"
                )
                continue
            if seeds == "none" and target.seeds:
                problems.append(occupied(name, target.datastore.name, target.seeds))
                continue
            used = 0 if seeds == "none" else len(disks) - len(unseeded)
            actions.append(
                Action.make(
                    "configure_replication",
                    s.running,
                    [name],
                    vm_id=vm.id,
                    datastore=target.datastore.name,
                    datastore_id=target.datastore.id,
                    chosen_by=target.how,
                    seeds=f"{used}/{len(disks)}" + (f" ({full_sync[name]})" if name in full_sync else ""),
                    direction=f"{s.running}->{s.home}",
                    **chosen[name].details(s.home_guid),
                )
            )
        if problems:
            raise StepFailed(
                f"{len(problems)} problem(s), nothing configured:\n" + "\n".join(f"- {p}" for p in problems)
            )
        return tuple(actions)

    def apply(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        s = ctx.sides
        configure = [a for a in actions if a.kind == "configure_replication"]
        if configure:
            vms, problems = running_vms(ctx)
            for action in configure:
                vm = vms.get(action.targets[0])
                if vm is None or vm.id != action.detail("vm_id"):
                    raise StepFailed(
                        f"{action.targets[0]} changed since it was planned "
                        f"({'; '.join(problems) or 'new VM id'}); re-run to re-plan"
                    )
            chosen, unset = choose(ctx, [a.targets[0] for a in configure])
            if unset:
                raise StepFailed("; ".join(unset.values()))
            placement = placement_of(s, chosen)
            # Seeds looked up again (the plan may be old: resume), one find-seeds call per datastore.
            seeds = seeds_placed(
                s,
                {a.targets[0]: vms[a.targets[0]] for a in configure},
                {a.targets[0]: a.detail("datastore_id") for a in configure},
                placement,
            )
            # A seed that is not of its disk's size (the disk changed since the plan, or a resume): required
            # fails, preferred syncs that disk in full on a datastore where its file name is free.
            found = size_mismatches(
                s,
                {a.targets[0]: vms[a.targets[0]] for a in configure},
                seeds,
                lambda name, key: placement.get(name, {}).get(
                    key, next(a.detail("datastore_id") for a in configure if a.targets[0] == name)
                ),
            )
            if found and ctx.runbook.replication.seeds == "required":
                raise StepFailed("; ".join(m.problem() for m in found) + "; nothing configured")
            for (name, key), datastore_id in free_datastores(s, found).items():
                seeds[name] = {k: v for k, v in seeds[name].items() if k != key}
                placement = {**placement, name: {**placement.get(name, {}), key: datastore_id}}
            specs = [
                self._spec(
                    ctx,
                    s,
                    vms[a.targets[0]],
                    a,
                    seeds[a.targets[0]],
                    chosen[a.targets[0]].settings,
                    placement.get(a.targets[0], {}),
                )
                for a in configure
            ]
            tasks = s.dr.vr.configure_replications(specs, wait=False)  # one batched request for every VM
            if len(tasks) != len(configure):
                raise StepFailed(f"VR answered {len(tasks)} task(s) for {len(configure)} VM(s)")
            await_tasks(
                ctx,
                s.dr.vr,
                zip(configure, tasks, strict=True),
                lambda action, task: ctx.action_done(action, {"task": task.id, "seeds": action.detail("seeds")}),
                timeout=SYNC_TIMEOUT,
            )
        waited = wait_for_sync(ctx, s, [a.targets[0] for a in actions])
        off = powered_off(ctx, [a.targets[0] for a in actions]) if actions else frozenset()
        for action in actions:
            name = action.targets[0]
            if resting(waited[name], name, off):
                ctx.record("replication_not_active", {"vm": name, "note": NOT_ACTIVE_NOTE})
            if action.kind == "wait_for_sync":
                ctx.action_done(action, {"status": waited[name].state or "?"})
        for action in configure:
            record_bytes(ctx, waited[action.targets[0]], vms[action.targets[0]])

    def _spec(
        self,
        ctx: StepContext,
        s: Sides,
        vm: VrVm,
        action: Action,
        seeds: dict[int, str],
        settings: VmReplication,
        placement: Mapping[int, str],
    ) -> ConfigureReplicationSpec:
        """The VR configure spec of one VM with its settings, each disk on its recorded datastore (``placement``)
        or the VM's, with the seeds found there just now (looked up whatever the policy: a disk sent without
        use_seeds must not land on an existing file)."""
        datastore_id = action.detail("datastore_id")
        if ctx.runbook.replication.seeds == "none":
            if seeds:
                raise StepFailed(occupied(vm.name, action.detail("datastore"), seeds) + "; nothing configured")
            seeds = {}
        if ctx.runbook.replication.seeds == "required":
            missing = [d.label or str(d.device_key) for d in data_disks(vm) if d.device_key not in seeds]
            if missing:
                raise StepFailed(
                    f"{vm.name}: seeds for {', '.join(missing)} disappeared since the "
                    "plan (replication.seeds: required); nothing configured"
                )
        policies = {d.device_key: d.storage_policy_id for d in settings.disks} if placement else {}
        disks = []
        for disk in vm.disks:
            seed = None if disk.is_vm_home or disk.device_key is None else seeds.get(disk.device_key)
            where = datastore_id if disk.device_key is None else placement.get(disk.device_key, datastore_id)
            disks.append(
                ReplicationDiskSpec(
                    vm_disk=disk.model_dump(mode="json", exclude_none=True),
                    destination_datastore_id=where,
                    use_seeds=True if seed else None,
                    destination_path=seed,
                    destination_storage_policy_id=policies.get(disk.device_key)
                    if disk.device_key is not None
                    else None,
                )
            )
        return ConfigureReplicationSpec(
            vm_id=vm.id, target_vc_id=s.home_guid, disks=tuple(disks), **spec_options(settings)
        )

    def verify(self, ctx: StepContext) -> Verification:
        s = ctx.sides
        existing = replications_from(ctx, s.running_guid)
        chosen, unset = choose(ctx, vm_names(ctx))
        problems = list(unset.values())
        off = powered_off(ctx, vm_names(ctx)) if any(not_active(r) for r in existing.values()) else frozenset()
        resting_vms = []
        for name in vm_names(ctx):
            r = existing.get(name)
            if r is None:
                problems.append(f"{name} is not replicated from {s.running} to {s.home}")
                continue
            if resting(r, name, off):
                resting_vms.append(name)
            elif r.state != ReplicationStatus.OK:
                running = " although the VM is powered on" if not_active(r) else ""
                problems.append(f"replication of {name} is {r.state}{running}, not OK")
            if name in chosen:
                problems += differences(name, r, chosen[name].settings)
        if problems:
            return Verification.failed(problems)
        rest = f"; {', '.join(resting_vms)}: {NOT_ACTIVE_NOTE}" if resting_vms else ""
        return Verification.passed(f"{len(existing)} VM(s) replicate from {s.running} to {s.home}, in sync{rest}")
