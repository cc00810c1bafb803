"""Planner and executor of a run: which steps run, the whole run's plan up front, then each step in turn.

The plan of the whole run is computed up front (to show, confirm and journal it); the steps then run
through the step library's executor (:mod:`srmctl.steps.executor`), which plans each again from fresh
state right before applying it, because earlier steps (or a crashed earlier attempt) may have changed the
world. The same executor runs the sequences of ``protection.restore`` and the reprotect fallback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from srmctl.engine.events import EventBus
from srmctl.errors import UsageError
from srmctl.runbook import STEP_NAMES, Runbook
from srmctl.steps.context import StepContext
from srmctl.steps.executor import StepPlan, run_steps
from srmctl.steps.executor import plan_steps as plan_each

__all__ = ["RunPlan", "StepPlan", "execute_steps", "plan_steps", "select_steps"]


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


def plan_steps(ctx: StepContext, names: Sequence[str]) -> RunPlan:
    """Plan every step against current state with read-only facades; nothing is changed."""
    rb = ctx.runbook
    return RunPlan(rb.name, rb.scenario, rb.source_site_name, rb.target_site_name, plan_each(ctx, names))


def execute_steps(ctx: StepContext, names: Sequence[str], bus: EventBus) -> None:
    """Apply and verify each step in order, journaling to ``bus``; stop at the first failure (StepFailed
    naming the step)."""
    run_steps(replace(ctx, emit=bus.emit), names)
