"""``replication.cleanup`` and ``replication.reverse``: remove the old direction's replications (keeping
every replica disk) and replicate the running VMs back onto their old disks, used as seeds."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

from srmctl.adapters.dr import DrApiError
from srmctl.adapters.dr.models import (
    ConfigureReplicationSpec,
    Datastore,
    Replication,
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
from srmctl.steps.seeds import data_disks, find_seeds, placement_of, seeds_placed
from srmctl.steps.vms import matching
from srmctl.steps.window import await_tasks, run_tasks

#: Statuses of a replication that is still copying or comparing: wait for it, do not configure again.
#: A (checksum) full sync of large disks routinely runs past the RPO, and VR then reports the sync's
#: RPO-violation state (vSphere Replication admin guide, "Replication States": FullSync(RPO violation),
#: Sync(RPO violation) are warnings, not errors): progress, shown as such, never a failure.
SYNCING = frozenset(
    {
        ReplicationStatus.FULL_SYNC,
        ReplicationStatus.INITIAL_FULL_SYNC,
        ReplicationStatus.SYNC,
        ReplicationStatus.CONFIGURING,
        ReplicationStatus.FULL_SYNC_RPO_VIOLATION,
        ReplicationStatus.SYNC_RPO_VIOLATION,
        ReplicationStatus.DISK_RESIZING,
    }
)
#: Statuses that end a sync wait at once: the replication failed (the admin guide's "Error" states).
FAILED = frozenset({ReplicationStatus.ERROR, ReplicationStatus.ERROR_RPO_VIOLATION})
SYNC_TIMEOUT = 24 * 3600.0  # a first full sync over a WAN can take many hours


@register
class ReplicationCleanup(Step):
    """Remove the runbook's VMs' stale replications of the old direction, keeping their replica disks.

    Stale means replicating from the original site (failback.to), which the VMs left; after a recovery VR
    reports them RECOVERED, and unconfigures them itself once their source VMs leave the inventory
    (orphans.unregister): one that is already gone counts as removed. Replica disks are always retained
    (retain_replica_disks=true): they are the seeds of the reverse replication.
    """

    name = "replication.cleanup"
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


@dataclass(frozen=True)
class _Target:
    datastore: Datastore
    seeds: dict[int, str]  # device key -> seed path found at the datastore
    how: str  # how the datastore was chosen, for the plan


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
    undone_by = frozenset({"plan.migrate"})  # a migration under way moves the plan, its VMs and replications on
    done_once_home = True
    impact = Impact.LOW

    def plan(self, ctx: StepContext) -> tuple[Action, ...]:
        s = ctx.sides
        existing = replications_from(ctx, s.running_guid)
        actions, problems = [], []
        todo = [n for n in vm_names(ctx) if n not in existing]
        for name, replication in sorted(existing.items()):
            if _syncing(replication):
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
                problems.append(
                    f"replication of {name} to {s.home} exists but is {replication.state} "
                    f"({replication.id}); repair or remove it in VR first"
                )
        vms, missing = running_vms_by_name(ctx)
        problems += [missing[n] for n in todo if n in missing]
        chosen, unset = choose(ctx, todo)
        problems += [unset[n] for n in todo if n in unset]
        targets = _targets(ctx, s, {n: vms[n] for n in todo if n in vms}, problems)
        placement = placement_of(s, {n: c for n, c in chosen.items() if n in targets})
        for name, found in seeds_placed(
            s, {n: vms[n] for n in placement}, {n: targets[n].datastore.id for n in placement}, placement
        ).items():
            targets[name] = replace(targets[name], seeds=found)
        seeds = ctx.runbook.replication.seeds
        for name in todo:
            if name not in vms or name not in targets or name not in chosen:
                continue
            vm, target = vms[name], targets[name]
            disks = data_disks(vm)
            unseeded = [d.label or str(d.device_key) for d in disks if d.device_key not in target.seeds]
            if seeds == "required" and unseeded:
                problems.append(
                    f"{name}: no seed at [{target.datastore.name}] for {', '.join(unseeded)} "
                    "(replication.seeds: required)"
                )
                continue
            if seeds == "none" and target.seeds:
                problems.append(_occupied(name, target.datastore.name, target.seeds))
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
                    seeds=f"{used}/{len(disks)}",
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
        waited = _wait_for_sync(ctx, s, [a.targets[0] for a in actions])
        for action in actions:
            if action.kind == "wait_for_sync":
                ctx.action_done(action, {"status": waited[action.targets[0]].state or "?"})
        for action in configure:
            _record_bytes(ctx, waited[action.targets[0]], vms[action.targets[0]])

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
                raise StepFailed(_occupied(vm.name, action.detail("datastore"), seeds) + "; nothing configured")
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
        for name in vm_names(ctx):
            r = existing.get(name)
            if r is None:
                problems.append(f"{name} is not replicated from {s.running} to {s.home}")
                continue
            if r.state != ReplicationStatus.OK:
                problems.append(f"replication of {name} is {r.state}, not OK")
            if name in chosen:
                problems += differences(name, r, chosen[name].settings)
        if problems:
            return Verification.failed(problems)
        return Verification.passed(f"{len(existing)} VM(s) replicate from {s.running} to {s.home}, in sync")


def _state(replication: Replication) -> object:
    return replication.status.status if replication.status is not None else None


def _syncing(replication: Replication) -> bool:
    return _state(replication) in SYNCING


def _occupied(name: str, datastore: str, files: Mapping[int, str]) -> str:
    """vSphere Replication never configures a disk without use_seeds onto an existing file ("you must change
    the target location", admin guide "Replicating Virtual Machines Using Replication Seeds"): srmctl never
    asks it to, so the old disks stay untouched."""
    paths = ", ".join(f"[{datastore}] {path}" for path in sorted(files.values()))
    return (
        f"{name}: {paths} already exist(s) and replication.seeds is none; VR does not overwrite them: use "
        "them as seeds (seeds: preferred or required), or set vms[].datastore to another datastore"
    )


def _targets(ctx: StepContext, s: Sides, vms: Mapping[str, VrVm], problems: list[str]) -> dict[str, _Target]:
    """The destination datastore and seeds of each VM: the runbook's datastore, else the orphan's (while it is
    still registered), else the datastore on which VR finds the most of the VM's disks."""
    if not vms:
        return {}
    datastores = {d.name: d for d in s.dr.vr.datastores(s.home_guid)}
    home_inventory = ctx.ops(s.home).inventory() if s.home in ctx.sites else None
    chosen: dict[str, tuple[Datastore, str]] = {}
    undecided: dict[str, VrVm] = {}
    runbook_vms = {v.name: v for v in ctx.runbook.vms or ()}  # by name: no scan of the runbook per VM
    for name, vm in vms.items():
        runbook_vm = runbook_vms[name]
        orphans = matching(home_inventory, runbook_vm) if home_inventory is not None else ()
        if runbook_vm.datastore is not None:
            wanted, how = runbook_vm.datastore, "runbook"
        elif len(orphans) == 1:
            wanted, how = orphans[0].home[0], "orphan"
        else:
            undecided[name] = vm
            continue
        if wanted not in datastores:
            problems.append(f"{name}: datastore {wanted} ({how}) is not a VR target datastore at {s.home}")
        else:
            chosen[name] = (datastores[wanted], how)
    result: dict[str, _Target] = {}
    by_datastore: dict[str, dict[str, VrVm]] = {}
    for name, (datastore, _) in chosen.items():
        by_datastore.setdefault(datastore.id, {})[name] = vms[name]
    for datastore_id, group in by_datastore.items():
        for name, seeds in find_seeds(s, datastore_id, group).items():
            datastore, how = chosen[name]
            result[name] = _Target(datastore, seeds, how)
    if undecided:
        # One find-seeds call per datastore for all undecided VMs; the datastore with most seeds wins.
        best: dict[str, _Target] = {}
        for datastore in datastores.values():
            for name, seeds in find_seeds(s, datastore.id, undecided).items():
                if seeds and len(seeds) > len(best[name].seeds if name in best else {}):
                    best[name] = _Target(datastore, seeds, "seeds found")
        for name in undecided:
            if name in best:
                result[name] = best[name]
            else:
                problems.append(
                    f"{name}: no copy of its disks found on any datastore at {s.home}; set "
                    f"vms[].datastore in the runbook"
                )
    return result


def _wait_for_sync(ctx: StepContext, s: Sides, names: list[str]) -> dict[str, Replication]:
    """Poll the replications (one listing per round) until none of ``names`` is still syncing; emit progress
    at every 10 % and at every change of state (an RPO violation while a full sync runs is shown, and waited
    out). Fails at once when one is in an error state, or after :data:`SYNC_TIMEOUT`."""
    deadline = time.monotonic() + SYNC_TIMEOUT
    reported: dict[str, tuple[int, str | None]] = {}
    while True:
        current = replications_from(ctx, s.running_guid)
        missing = [n for n in names if n not in current]
        if missing:
            raise StepFailed(f"replication of {', '.join(missing)} disappeared while waiting for sync")
        for name in names:
            replication = current[name]
            progress = replication.sync_progress
            percent = progress.progress if progress and progress.progress is not None else 0
            last = reported.get(name)
            if last is None or percent // 10 != last[0] // 10 or replication.state != last[1]:
                reported[name] = (percent, replication.state)
                event: dict[str, object] = {"vm": name, "status": replication.state, "percent": percent}
                if replication.status is not None and replication.status.rpo_violation:
                    event["rpo_violation_minutes"] = replication.current_rpo_violation or 0
                ctx.progress(event)
        failed = [f"{n}: {current[n].state}" for n in names if _state(current[n]) in FAILED]
        if failed:
            raise StepFailed(f"replication failed while syncing: {'; '.join(failed)}")
        syncing = [n for n in names if _syncing(current[n])]
        if not syncing:
            errors = [f"{n}: {current[n].state}" for n in names if current[n].state != ReplicationStatus.OK]
            if errors:
                raise StepFailed(f"replication not OK after sync: {'; '.join(errors)}")
            return current
        if time.monotonic() > deadline:
            raise StepFailed(
                f"still syncing after {SYNC_TIMEOUT:.0f}s: " + ", ".join(f"{n} ({current[n].state})" for n in syncing)
            )
        time.sleep(s.dr.srm.poll_interval)


def _record_bytes(ctx: StepContext, replication: Replication, vm: VrVm) -> None:
    """Journal what the seeds saved: bytes transferred and checksummed versus a full copy of the disks."""
    progress = replication.sync_progress
    full = sum((d.capacity or 0) * 1024 for d in data_disks(vm))  # VR reports capacity in KB
    ctx.record(
        "replication_bytes",
        {
            "vm": vm.name,
            "replication_id": replication.id,
            "full_bytes": full,
            "transferred_bytes": (progress.transferred_current or 0) if progress else 0,
            "checksummed_bytes": (progress.checksum_current or 0) if progress else 0,
        },
    )
