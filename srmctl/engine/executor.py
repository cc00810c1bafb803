"""Planner and executor: observe → ordered actions per step, then for each step apply → verify.

The plan of the whole run is computed up front (to show, confirm and journal it); right before a step is
applied it is planned again from fresh state, because earlier steps (or a crashed earlier attempt) may have
changed the world. A step that plans nothing is already done and is only verified.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from srmctl.engine import events as ev
from srmctl.engine.events import EventBus
from srmctl.errors import Aborted, ConnectionFailed, SrmctlError, StepFailed, UsageError
from srmctl.runbook import STEP_NAMES, Runbook
from srmctl.steps.base import Action, Impact, get_step
from srmctl.steps.context import StepContext


@dataclass(frozen=True)
class StepPlan:
    name: str
    impact: Impact
    summary: str
    actions: tuple[Action, ...]

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.actions) and (self.impact is Impact.HIGH or any(a.high_impact for a in self.actions))

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.name, "impact": self.impact.value, "summary": self.summary,
                "needs_confirmation": self.needs_confirmation, "actions": [a.to_dict() for a in self.actions]}


@dataclass(frozen=True)
class RunPlan:
    runbook: str
    scenario: str
    source: str
    target: str
    steps: tuple[StepPlan, ...]

    @property
    def needs_confirmation(self) -> bool:
        return any(s.needs_confirmation for s in self.steps)

    @property
    def action_count(self) -> int:
        return sum(len(s.actions) for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {"runbook": self.runbook, "scenario": self.scenario, "from": self.source, "to": self.target,
                "needs_confirmation": self.needs_confirmation, "action_count": self.action_count,
                "steps": [s.to_dict() for s in self.steps]}


def select_steps(runbook: Runbook, *, only: Sequence[str] | None = None, from_step: str | None = None,
                 until_step: str | None = None) -> tuple[str, ...]:
    """The steps to run, in canonical order: the runbook's (or ``only``), cut to ``[from_step, until_step]``."""
    for name in [*(only or ()), *filter(None, (from_step, until_step))]:
        if name not in STEP_NAMES:
            raise UsageError(f"unknown step {name!r}; steps are: {', '.join(STEP_NAMES)}")
    names = list(runbook.effective_steps) if not only else [s for s in runbook.step_order if s in set(only)]
    for bound in filter(None, (from_step, until_step)):
        if bound not in names:
            raise UsageError(f"step {bound} is not among the steps of this run: {', '.join(names)}")
    first = names.index(from_step) if from_step else 0
    last = names.index(until_step) if until_step else len(names) - 1
    names = names[first : last + 1]
    if not names:
        raise UsageError("no steps selected (--from comes after --until?)")
    return tuple(names)


@contextmanager
def _as_step_failure(name: str) -> Iterator[None]:
    """Errors inside a step become StepFailed naming it (exit 4). Connection loss, aborts and usage errors
    keep their own meaning and exit codes."""
    try:
        yield
    except (StepFailed, ConnectionFailed, Aborted, UsageError):
        raise
    except SrmctlError as error:
        message = error.message if error.message.startswith(name) else f"{name}: {error.message}"
        raise StepFailed(message) from error


def _fresh(ctx: StepContext) -> StepContext:
    # Each phase observes anew: the previous step or someone else may have changed the site meanwhile.
    for ops in ctx.sites.values():
        ops.invalidate()
    return ctx.read_only()


def plan_steps(ctx: StepContext, names: Sequence[str]) -> RunPlan:
    """Plan every step against current state with read-only facades; nothing is changed."""
    classes = [get_step(name) for name in names]  # fails on a not-yet-implemented step before observing
    plans = []
    view = _fresh(ctx)
    for cls in classes:
        with _as_step_failure(cls.name):
            plans.append(StepPlan(cls.name, cls.impact, cls.summary(), cls().planned(view)))
    rb = ctx.runbook
    return RunPlan(rb.name, rb.scenario, rb.source_site_name, rb.target_site_name, tuple(plans))


def execute_steps(ctx: StepContext, names: Sequence[str], bus: EventBus) -> None:
    """Apply and verify each step in order; stop at the first failure (StepFailed naming the step)."""
    for name in names:
        cls = get_step(name)
        step = cls()
        bus.emit(ev.STEP_STARTED, name, {"impact": cls.impact.value})
        try:
            with _as_step_failure(name):
                actions = step.planned(_fresh(ctx))
                plan = StepPlan(name, cls.impact, cls.summary(), actions)
                bus.emit(ev.STEP_PLANNED, name, {"actions": [a.to_dict() for a in actions]})
                if plan.needs_confirmation and not ctx.confirmed:
                    raise Aborted(f"{name}: {len(actions)} high-impact action(s) were not confirmed")
                if actions:
                    step.apply(ctx, actions)
                verification = step.verified(_fresh(ctx))
            if not verification.ok:
                raise StepFailed(f"{name}: verification failed:\n" + "\n".join(f"- {p}" for p in verification.problems))
        except BaseException as error:
            message = error.message if isinstance(error, SrmctlError) else f"{type(error).__name__}: {error}"
            bus.emit(ev.STEP_FAILED, name, {"error": message, "code": getattr(error, "code", "internal")})
            raise
        bus.emit(ev.STEP_VERIFIED, name, {"summary": verification.summary, "actions": len(actions)})
