"""``metadata.snapshot`` and ``metadata.restore``: keep the recovery plan's customisation across the rebuild.

Removing and deleting protection groups throws away every per-VM setting of the plan (priorities,
dependencies, callouts, prompts, re-IP) and SRM offers no export. The snapshot is taken into the run's
journal folder before anything is changed, and restored once the plan holds the VMs again; a resumed run
reads the same file, so a crash after the groups were removed can never snapshot an emptied plan.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace
from pathlib import Path

from srmctl.errors import RunbookInvalid, StepFailed
from srmctl.metadata.capture import capture
from srmctl.metadata.diff import diff_snapshots
from srmctl.metadata.forecast import forecast, shown
from srmctl.metadata.restore import RestorePlan, apply_restore, plan_restore
from srmctl.metadata.snapshot import Snapshot, read_snapshot, write_snapshot
from srmctl.steps.base import Action, Impact, Step, Verification, register
from srmctl.steps.context import StepContext
from srmctl.steps.dr_state import recovery_plan, vm_names

SNAPSHOT_FILE = "metadata-snapshot.yaml"
#: The plan's metadata as metadata.restore last verified it: the "after" beside the snapshot's "before" in the
#: evidence pack (protection.restore verifies last, so a whole failback leaves the plan's final state here).
AFTER_FILE = "metadata-snapshot-after.yaml"


def run_snapshot_path(ctx: StepContext) -> Path | None:
    return None if ctx.run_dir is None else ctx.run_dir / SNAPSHOT_FILE


def _saved(ctx: StepContext) -> tuple[Snapshot, Path] | None:
    """The snapshot this run took (journal folder), else the runbook's snapshot file, with its path."""
    for path in (run_snapshot_path(ctx), ctx.runbook.recovery_plan.metadata):
        if path is not None and Path(path).is_file():
            return read_snapshot(Path(path)), Path(path)
    return None


def saved_snapshot(ctx: StepContext) -> Snapshot | None:
    """The snapshot this run took, else the runbook's snapshot file, else None."""
    saved = _saved(ctx)
    return None if saved is None else saved[0]


def _stale_file(ctx: StepContext, path: Path, snapshot: Snapshot, problem: str) -> str:
    """Why the runbook's snapshot file cannot be applied, naming the file and what to do about it."""
    name = ctx.runbook.recovery_plan.name
    return (
        f"recovery_plan.metadata {path} (a snapshot of {snapshot.plan.name!r} taken "
        f"{snapshot.taken_at:%Y-%m-%d %H:%M %Z}) does not fit the live recovery plan {name!r}: {problem}. "
        "The file is older than the live plan or from another plan. Check the live plan, then refresh the "
        f"file with 'srmctl snapshot export --plan \"{name}\" -f {path}' (or remove recovery_plan.metadata "
        "from the runbook)."
    )


def _live_uuids(ctx: StepContext) -> dict[str, str]:
    """Instance UUIDs of the runbook's VMs where they run (powered on at exactly one site)."""
    found: dict[str, list[str]] = {}
    for ops in ctx.sites.values():
        for vm in ops.inventory().vms:
            if vm.powered_on:
                found.setdefault(vm.name, []).append(vm.instance_uuid)
    return {name: uuids[0] for name, uuids in found.items() if len(uuids) == 1}


@register
class MetadataSnapshot(Step):
    """Capture the recovery plan's metadata (per-VM priority, dependencies, callouts, prompts, IP settings,
    startup/shutdown; plan-level custom steps) into the run's journal folder, and to
    ``recovery_plan.metadata`` when the runbook names a file. A richer snapshot already in that file is
    never overwritten by an emptier live plan: it is kept and used instead."""

    name = "metadata.snapshot"
    done_once_home = True  # the VMs are home: the customisation to protect is already back in place
    impact = Impact.READ_ONLY

    def plan(self, ctx: StepContext) -> tuple[Action, ...]:
        path = run_snapshot_path(ctx)
        if path is not None and path.is_file():
            return ()
        return (Action.make("capture_metadata", ctx.source, [ctx.runbook.recovery_plan.name]),)

    def apply(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        path = run_snapshot_path(ctx)
        for action in actions:
            dr = ctx.dr(ctx.source)
            live = capture(dr.srm, action.targets[0], site=dr.site, instance_uuids=_live_uuids(ctx), vr=dr.vr)
            kept_file = ctx.runbook.recovery_plan.metadata
            kept = read_snapshot(Path(kept_file)) if kept_file and Path(kept_file).is_file() else None
            if kept is not None and kept.plan.name == live.plan.name and kept.replication:
                # A VM whose replication is already gone (removed by an earlier run, or by hand) keeps the
                # settings the file recorded: the live world has none left to read.
                live = live.model_copy(update={"replication": {**kept.replication, **(live.replication or {})}})
            chosen = live
            if kept is not None and kept.plan.name == live.plan.name and kept.richness > live.richness:
                # The live plan already lost settings (e.g. an earlier, manual rebuild). A file written before
                # groups were recorded takes the live plan's groups: the best record there is.
                chosen = kept.model_copy(
                    update={
                        "groups": kept.groups if kept.groups is not None else live.groups,
                        "replication": live.replication,
                    }
                )
            elif kept_file is not None:
                write_snapshot(live, Path(kept_file))
            if path is not None:
                write_snapshot(chosen, path)
            ctx.record(
                "metadata_snapshot",
                {
                    "plan": chosen.plan.name,
                    "vms": len(chosen.vms),
                    "richness": chosen.richness,
                    "source": "live plan" if chosen is live else "runbook file (richer than the live plan)",
                    "file": str(path) if path else None,
                },
            )
            ctx.record(
                "replication_settings",
                {  # each VM's, before any replication is removed
                    "vms": {name: r.model_dump(mode="json") for name, r in (chosen.replication or {}).items()}
                },
            )
            ctx.action_done(action, {"vms": len(chosen.vms)})

    def verify(self, ctx: StepContext) -> Verification:
        path = run_snapshot_path(ctx)
        if path is None or not path.is_file():
            return Verification.failed([f"no metadata snapshot in the run folder ({SNAPSHOT_FILE})"])
        snapshot = read_snapshot(path)
        return Verification.passed(
            f"snapshot of {snapshot.plan.name}: {len(snapshot.vms)} VMs, "
            f"{sum(len(s) for s in snapshot.steps.values())} custom steps"
        )


@register
class MetadataRestore(Step):
    """Re-apply the snapshot to the recovery plan: only what differs, dependencies validated first, VMs
    matched by name. IP settings stay with their site when the plan's direction has flipped. Done when the
    live plan's metadata equals the snapshot."""

    name = "metadata.restore"
    done_once_home = True
    impact = Impact.LOW

    def _restore_plan(self, ctx: StepContext, *, strict: bool = True) -> tuple[Snapshot, RestorePlan]:
        saved = _saved(ctx)
        if saved is None:
            raise StepFailed(
                "no metadata snapshot to restore: run metadata.snapshot first (or set "
                "recovery_plan.metadata to a snapshot file)"
            )
        snapshot, path = saved
        try:
            if path != run_snapshot_path(ctx) and snapshot.plan.name != ctx.runbook.recovery_plan.name:
                raise StepFailed(f"it holds plan {snapshot.plan.name!r}")
            restore = plan_restore(ctx.dr(ctx.source).srm, ctx.runbook.recovery_plan.name, snapshot)
            if restore.unplaced and strict:
                raise StepFailed(
                    f"the recovery plan does not hold {', '.join(restore.unplaced)} from "
                    "the snapshot; their settings cannot be placed"
                )
        except (RunbookInvalid, StepFailed) as error:
            if path == run_snapshot_path(ctx):
                raise
            # The runbook's file, read before this run took its own snapshot: say which file and why.
            raise StepFailed(_stale_file(ctx, path, snapshot, "; ".join(error.message.splitlines()))) from error
        return snapshot, restore

    def plan(self, ctx: StepContext) -> tuple[Action, ...]:
        if self._nothing_to_restore(ctx):
            return ()
        saved = _saved(ctx)
        if saved is None:
            return _forecast(ctx) if _rebuild_ahead(ctx) else ()  # without a rebuild: the live plan onto itself
        if ctx.in_sequence and saved[1] == run_snapshot_path(ctx) and _rebuild_ahead(ctx):
            # protection.restore's plan, before its sequence rebuilds the groups: the run's own snapshot, which
            # this run's failback already checked against the live plan and restored. A forecast is what this
            # plan shows either way, so every VM's settings are not read for it (one GET per VM); the step is
            # planned in full, from live state, right before it runs.
            return _forecast(ctx)
        _, restore = self._restore_plan(ctx, strict=False)  # checks the snapshot against the live plan first
        if restore.unplaced or _rebuild_ahead(ctx):
            # Planned (up front, or on resume) while the plan's groups are detached: the VMs come back with
            # SRM's defaults in plan.attach_groups, and the step is planned again right before it runs.
            return _forecast(ctx)
        planned = _exact(ctx, restore)
        self._planned = (planned, restore)
        return planned

    _planned: tuple[tuple[Action, ...], RestorePlan] | None = None  # the last plan() of this step object

    def apply(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        # The executor plans right before it applies, on this step object: what plan() read (every VM's
        # settings) is reused rather than read again; any other actions are planned again here.
        if self._planned is not None and self._planned[0] == actions:
            restore = self._planned[1]
        else:
            restore = self._restore_plan(ctx)[1]
        if _exact(ctx, restore) != actions:
            raise StepFailed("the plan's settings changed since this step was planned; run it again to re-plan")
        srm = ctx.dr(ctx.source).srm
        for phase in _phases(restore):
            if phase.actions[0].kind in _PER_VM:
                # Per-VM updates are independent of each other: at most `concurrency` in flight, awaited
                # together; a phase ends before the next starts (dependencies need the priorities set).
                with srm.tasks_together(ctx.runbook.concurrency):
                    apply_restore(srm, phase)
            else:
                apply_restore(srm, phase)
        for action in actions:
            ctx.action_done(action)

    @staticmethod
    def _nothing_to_restore(ctx: StepContext) -> bool:
        # Inside another step's sequence (protection.restore, the reprotect fallback) of a run that took no
        # snapshot (its runbook left metadata.snapshot out): the plan keeps whatever it has. Run on its own,
        # the step insists on a snapshot.
        return ctx.in_sequence and saved_snapshot(ctx) is None

    def verify(self, ctx: StepContext) -> Verification:
        if self._nothing_to_restore(ctx):
            return Verification.passed("no metadata snapshot in this run: the plan's metadata is left as is")
        srm = ctx.dr(ctx.source).srm
        with srm.reading_settings_once():  # both read every VM's settings: once is enough
            snapshot, restore = self._restore_plan(ctx)
            live = capture(srm, ctx.runbook.recovery_plan.name, site=ctx.dr(ctx.source).site)
        changes = diff_snapshots(snapshot, live, groups=False)  # groups: groups.create's check
        ctx.record("metadata_diff", {"plan": snapshot.plan.name, "changes": [str(c) for c in changes]})
        if ctx.run_dir is not None:
            write_snapshot(live, ctx.run_dir / AFTER_FILE)
        if restore.actions or changes:
            return Verification.failed([str(c) for c in changes] or [a.summary for a in restore.actions])
        return Verification.passed(f"{snapshot.plan.name}: metadata equals the snapshot ({len(snapshot.vms)} VMs)")


#: Restore actions made of one call per VM, independent of each other.
_PER_VM = frozenset({"vm_settings", "vm_dependencies"})


def _phases(restore: RestorePlan) -> list[RestorePlan]:
    """The restore's actions cut into runs of the same kind, in order (settings, then dependencies, …)."""
    phases: list[RestorePlan] = []
    for action in restore.actions:
        if phases and phases[-1].actions[-1].kind == action.kind:
            phases[-1] = replace(phases[-1], actions=(*phases[-1].actions, action))
        else:
            phases.append(replace(restore, actions=(action,)))
    return phases


# --- what metadata.restore will set, per VM (see docs/architecture.md, "Dry run") ------------------------------


def _exact(ctx: StepContext, restore: RestorePlan) -> tuple[Action, ...]:
    """The restore's actions as observed: each VM's changes against what SRM holds now."""
    return tuple(
        Action.make(a.kind, ctx.source, [a.target], summary=a.summary, changes=a.changes) for a in restore.actions
    )


def _rebuild_ahead(ctx: StepContext) -> bool:
    """The run still rebuilds the plan's groups before this step (the plan holds groups protected at the site
    the VMs left): SRM will then hold its defaults for every VM, not what it holds now."""
    if not (ctx.in_sequence or "groups.delete" in ctx.runbook.effective_steps):
        return False
    plan = recovery_plan(ctx)
    return (
        plan is not None
        and plan.protected_vc_guid == ctx.sides.home_guid
        and bool(ctx.sides.dr.srm.plan_groups(plan.id))
    )


def _forecast(ctx: StepContext) -> tuple[Action, ...]:
    """Per VM, the snapshot's settings (the run's, else captured now from the live plan, read-only and kept in
    memory) against SRM's defaults for a VM that joins a plan: what the step will set after the rebuild.
    Labelled as a forecast: the step is planned again from live state right before it runs."""
    plan = recovery_plan(ctx)
    if plan is None:
        return ()
    srm = ctx.sides.dr.srm
    snapshot = saved_snapshot(ctx) or capture(srm, plan.name, site=ctx.sides.dr.site)
    names = (plan.protected_site_name or "", plan.recovery_site_name or "")
    after = names if plan.protected_vc_guid == ctx.sides.running_guid else names[::-1]
    with suppress(ValueError):  # a snapshot of another pair of sites is shown as recorded
        snapshot = snapshot.oriented(after)
    sites = snapshot.direction
    return tuple(
        Action.make("vm_settings", ctx.source, [c.vm], forecast=True, changes=c.changes).with_details(
            **shown(c.wanted, sites)
        )
        for c in forecast(snapshot.vms, vm_names(ctx), sites)
    )
