"""Recovery plans that share the runbook plan's protection groups (``recovery_plan.shared_with``).

SRM lets several recovery plans hold one protection group ("You can include a protection group in more than
one recovery plan", SRM administration). Rebuilding such a group takes it out of every plan, so the steps
that touch a plan's groups and metadata (metadata.snapshot, plan.detach_groups, plan.attach_groups,
metadata.restore) act on each plan the runbook names there as on the runbook's own plan: each through a
context of its own, the same run with that plan as its recovery plan, the runbook VMs its groups hold, and
a run folder of its own for its metadata snapshot (docs/architecture.md, "SRM's states").
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from srmctl.metadata.snapshot import read_snapshot
from srmctl.runbook import PlanSettings
from srmctl.steps.base import Action, Step, Verification
from srmctl.steps.context import StepContext

#: The run folder's sub-folder per sharing plan (``shared-plans/<index>``), holding its metadata snapshot.
SHARED_DIR = "shared-plans"
#: The action detail naming the sharing plan an action is for (absent: the runbook's own plan).
SHARING = "sharing_plan"
_SNAPSHOT = "metadata-snapshot.yaml"  # the file metadata.snapshot writes into a run folder


def sharing_contexts(ctx: StepContext) -> list[tuple[str, StepContext]]:
    """Each plan of ``recovery_plan.shared_with`` with the context its steps run in."""
    found = []
    for index, name in enumerate(ctx.runbook.recovery_plan.shared_with):
        run_dir = None if ctx.run_dir is None else ctx.run_dir / SHARED_DIR / str(index)
        if run_dir is not None:
            run_dir.mkdir(parents=True, exist_ok=True)  # where its snapshot goes (local, never the sites)
        held = _held_vms(ctx, name, run_dir)
        vms = tuple(vm for vm in ctx.runbook.vms or () if vm.name in held)
        runbook = ctx.runbook.model_copy(update={"recovery_plan": PlanSettings(name=name), "vms": vms})
        found.append((name, replace(ctx, runbook=runbook, run_dir=run_dir)))
    return found


def _held_vms(ctx: StepContext, name: str, run_dir: Path | None) -> set[str]:
    """The VMs the groups of plan ``name`` hold: as its snapshot recorded them, else as SRM has them now."""
    snapshot = None if run_dir is None else run_dir / _SNAPSHOT
    if snapshot is not None and snapshot.is_file():
        recorded = read_snapshot(snapshot)
        if recorded.groups is not None:
            return {vm for group in recorded.groups.values() for vm in group.vms}
        return set(recorded.vms)
    srm = ctx.sides.dr.srm
    plan = next((p for p in srm.plans() if p.name == name), None)
    if plan is None:
        return set()
    return {vm.name for group in srm.plan_groups(plan.id) for vm in srm.group_vms(group.id)}


def _without_tag(action: Action) -> Action:
    return replace(action, details=tuple((k, v) for k, v in action.details if k != SHARING))


class ForEachPlan(Step):
    """A step that acts on the runbook's recovery plan and on each plan of ``recovery_plan.shared_with``:
    subclasses give ``plan_one``, ``apply_one`` and ``verify_one`` for one plan's context."""

    def plan_one(self, ctx: StepContext) -> tuple[Action, ...]:
        raise NotImplementedError

    def apply_one(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        raise NotImplementedError

    def verify_one(self, ctx: StepContext) -> Verification:
        raise NotImplementedError

    def plan(self, ctx: StepContext) -> tuple[Action, ...]:
        others = tuple(
            action.with_details(**{SHARING: name})
            for name, other in sharing_contexts(ctx)
            for action in self.plan_one(other)
        )
        return self.plan_one(ctx) + others

    def apply(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        own = tuple(a for a in actions if not a.detail(SHARING))
        if own:
            self.apply_one(ctx, own)
        for name, other in sharing_contexts(ctx):
            theirs = tuple(_without_tag(a) for a in actions if a.detail(SHARING) == name)
            if theirs:
                self.apply_one(other, theirs)

    def verify(self, ctx: StepContext) -> Verification:
        results = [self.verify_one(ctx)] + [self.verify_one(other) for _, other in sharing_contexts(ctx)]
        problems = [problem for result in results for problem in result.problems]
        if problems:
            return Verification.failed(problems)
        return Verification.passed("; ".join(result.summary for result in results))
