"""``protection.restore``: after the failback, put protection back the way it was (original site protects to
the recovery site again) by running the rebuild sequence of steps in the opposite direction.

The same sequence (:data:`REBUILD`) is what ``plan.reprotect`` falls back to under ``strategy: auto``. The
steps themselves are direction-agnostic (see :mod:`srmctl.steps.dr_state`); this module only runs them on
:meth:`StepContext.opposite` and attributes their events to the step that runs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from srmctl.errors import StepFailed
from srmctl.runbook.models import REBUILD_STEPS
from srmctl.steps.base import Action, Impact, Step, Verification, available_steps, get_step, register
from srmctl.steps.context import StepContext
from srmctl.steps.dr_state import vm_names
from srmctl.steps.vms import describe, matching

#: DESIGN §1 steps 1-7 for one direction (metadata.restore keeps the plan as it is when the run took no
#: snapshot).
REBUILD: tuple[str, ...] = (*REBUILD_STEPS, "metadata.restore")


@dataclass(frozen=True)
class SequencePlan:
    ctx: StepContext  # the direction the sequence runs in
    actions: tuple[Action, ...]


def _steps(names: tuple[str, ...]) -> list[Step]:
    implemented = {cls.name for cls in available_steps()}
    return [get_step(name)() for name in names if name in implemented]


def _fresh(ctx: StepContext) -> StepContext:
    for ops in ctx.sites.values():
        ops.invalidate()
    return replace(ctx.read_only(), in_sequence=True)


def plan_sequence(ctx: StepContext, names: tuple[str, ...]) -> SequencePlan:
    """Every sub-step's plan against current state, each action tagged with its sub-step. Later sub-steps
    are planned before earlier ones changed anything (as a whole run is planned up front); each is planned
    again right before it is applied."""
    view = _fresh(ctx)
    actions = []
    for step in _steps(names):
        for action in step.planned(view):
            details = tuple(sorted({**dict(action.details), "substep": step.name}.items()))
            actions.append(replace(action, details=details))
    return SequencePlan(ctx, tuple(actions))


def run_sequence(ctx: StepContext, parent: str, names: tuple[str, ...]) -> None:
    """Plan (fresh), apply and verify each sub-step in order, as the executor does for top-level steps; their
    journal events belong to ``parent`` and name the sub-step."""

    def emit(kind: str, step: str | None, data: Mapping[str, Any]) -> object:
        return ctx.emit(kind, parent, {**data, "substep": step})

    inner = replace(ctx, emit=emit, in_sequence=True)
    for step in _steps(names):
        actions = step.planned(_fresh(inner))
        if actions:
            step.apply(inner, actions)
        verification = step.verified(_fresh(inner))
        if not verification.ok:
            raise StepFailed(f"{parent}: {step.name} ({inner.source} -> {inner.target}) verification failed:\n"
                             + "\n".join(f"- {p}" for p in verification.problems))
        inner.emit("substep_verified", step.name, {"summary": verification.summary, "actions": len(actions)})


def verify_sequence(ctx: StepContext, names: tuple[str, ...]) -> list[str]:
    view = _fresh(ctx)
    problems = []
    for step in _steps(names):
        problems += [f"{step.name}: {p}" for p in step.verified(view).problems]
    return problems


@register
class ProtectionRestore(Step):
    """Protect the VMs again from the original site to the recovery site (cleanup after failback).

    Runs the rebuild sequence the other way round: unregister the now-stale VMs at the recovery site, remove
    the replications towards the original site (keeping disks), detach and delete the protection group
    there, replicate back with the runbook's RPO, quiescing and compression (seeded by the stale copies),
    create the protection group at the original site and attach it to the same recovery plan (and restore
    the plan's metadata from the run's snapshot). Planned once the VMs run at the original site.
    """

    name = "protection.restore"
    impact = Impact.HIGH

    def plan(self, ctx: StepContext) -> tuple[Action, ...]:
        waiting = not_running_home(ctx)
        if waiting:
            # Before plan.migrate the VMs still run at the recovery site: what to unregister there is decided
            # only once they run at home, so this is planned again right before it is applied.
            return (Action.make("restore_protection", ctx.target, list(ctx.runbook.vm_names),
                                direction=f"{ctx.target}->{ctx.source}", after="plan.migrate"),)
        return plan_sequence(ctx.opposite(), REBUILD).actions

    def apply(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        waiting = not_running_home(ctx)
        if waiting:
            raise StepFailed(f"{self.name}: the VMs do not run at {ctx.target} yet ({'; '.join(waiting)}); "
                             "run plan.migrate first")
        run_sequence(ctx.opposite(), self.name, REBUILD)

    def verify(self, ctx: StepContext) -> Verification:
        problems = not_running_home(ctx) + verify_sequence(ctx.opposite(), REBUILD)
        if problems:
            return Verification.failed(problems)
        return Verification.passed(f"{ctx.target} protects the VMs to {ctx.source} again")


def not_running_home(ctx: StepContext) -> list[str]:
    """A problem per runbook VM not running (powered on) at the original site (``ctx.target``), or still
    running at the recovery site too: after a disaster recovery the stale copy at home may be powered on
    again while the live one runs at the recovery site, and that VM is not home yet."""
    vm_names(ctx, ProtectionRestore.name)  # the runbook's VMs must be listed (or resolved from 'select')
    assert ctx.runbook.vms is not None
    home, away = ctx.ops(ctx.target).inventory(), ctx.ops(ctx.source).inventory()
    problems = []
    for vm in ctx.runbook.vms:
        if not any(r.powered_on for r in matching(home, vm)):
            problems.append(f"{describe(vm)} is not running at {ctx.target}")
        elif any(r.powered_on for r in matching(away, vm)):
            problems.append(f"{describe(vm)} still runs at {ctx.source} (its copy at {ctx.target} is stale)")
    return problems
