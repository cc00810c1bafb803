"""A run's steps: which steps run, the whole run's plan up front, their execution with API call counts,
and a resume's re-check of the steps its journal records as verified.

The plan of the whole run is computed up front (to show, confirm and journal it); the steps then run
through the one executor, the step library's (:mod:`srmctl.steps.executor`), which plans each again from
fresh state right before applying it, because earlier steps (or a crashed earlier attempt) may have changed
the world. The same executor runs the sequences of ``protection.restore`` and the reprotect fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from srmctl.engine.events import EventBus
from srmctl.errors import UsageError
from srmctl.runbook import STEP_NAMES, Runbook
from srmctl.steps.base import get_step
from srmctl.steps.context import StepContext
from srmctl.steps.executor import StepPlan, plan_each_step, reverify, run_steps

__all__ = ["Recheck", "RunPlan", "StepPlan", "execute_steps", "plan_run", "recheck_verified", "select_steps"]


@dataclass(frozen=True)
class Recheck:
    """A step the journal records as verified, verified again by a resume before it is skipped."""

    step: str
    holds: bool  # its verification passes against live state
    summary: str
    problems: tuple[str, ...] = ()
    undone_by: str | None = None  # a later, started step whose work explains a failed verification

    @property
    def stands(self) -> bool:
        """Skipped on resume unless a real failure elsewhere re-plans from an earlier step."""
        return self.holds or self.undone_by is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "holds": self.holds,
            "summary": self.summary,
            "problems": list(self.problems),
            "undone_by": self.undone_by,
        }


@dataclass(frozen=True)
class RunPlan:
    runbook: str
    scenario: str
    source: str
    target: str
    steps: tuple[StepPlan, ...]
    rechecked: tuple[Recheck, ...] = ()  # on resume: the verified steps checked again, in order

    @property
    def needs_confirmation(self) -> bool:
        return any(s.needs_confirmation for s in self.steps)

    @property
    def action_count(self) -> int:
        return sum(len(s.actions) for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "runbook": self.runbook,
            "scenario": self.scenario,
            "from": self.source,
            "to": self.target,
            "needs_confirmation": self.needs_confirmation,
            "action_count": self.action_count,
            "steps": [s.to_dict() for s in self.steps],
        }
        if self.rechecked:
            data["rechecked"] = [r.to_dict() for r in self.rechecked]
        return data


def select_steps(
    runbook: Runbook, *, only: Sequence[str] | None = None, from_step: str | None = None, until_step: str | None = None
) -> tuple[str, ...]:
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


def plan_run(ctx: StepContext, names: Sequence[str]) -> RunPlan:
    """Plan every step against current state with read-only facades; nothing is changed."""
    rb = ctx.runbook
    return RunPlan(rb.name, rb.scenario, rb.source_site_name, rb.target_site_name, plan_each_step(ctx, names))


def execute_steps(ctx: StepContext, names: Sequence[str], bus: EventBus) -> None:
    """Apply and verify each step in order, journaling to ``bus``; stop at the first failure (StepFailed
    naming the step). Each step's end event carries the API calls it made (:func:`api_calls`)."""
    run_steps(replace(ctx, emit=_counting(ctx, bus.emit)), names)


def api_calls(ctx: StepContext) -> dict[str, int]:
    """Calls sent so far (retries and task polls included) to the sites' vCenters (SOAP), SRM and VR."""
    return {
        "soap": sum(ops.api_calls for ops in ctx.sites.values()),
        "srm": sum(sum(dr.srm.calls.values()) for dr in ctx.dr_sites.values()),
        "vr": sum(sum(dr.vr.calls.values()) for dr in ctx.dr_sites.values()),
    }


def _counting(
    ctx: StepContext, emit: Callable[[str, str | None, Mapping[str, Any]], object]
) -> Callable[[str, str | None, Mapping[str, Any]], object]:
    """``emit`` that adds ``api_calls`` ({soap, srm, vr}: what the step sent, its sub-steps included) to
    each step's step_verified / step_failed event, so the journal says calls per step."""
    started: dict[str, dict[str, int]] = {}

    def counted(kind: str, step: str | None, data: Mapping[str, Any]) -> object:
        if kind == "step_started" and step is not None:
            started[step] = api_calls(ctx)
        elif kind in ("step_verified", "step_failed") and step in started:
            before, now = started.pop(step), api_calls(ctx)
            data = {**data, "api_calls": {api: now[api] - before[api] for api in now}}
        return emit(kind, step, data)

    return counted


def recheck_verified(
    ctx: StepContext, verified: Sequence[str], started: Collection[str]
) -> tuple[tuple[Recheck, ...], str | None]:
    """Verify again, in order and read-only, each step a resumed run's journal records as verified
    (``verified``); ``started`` are the steps the journal saw start. Returns the checks and the step to
    re-plan from (None: every verified step stands, skip them all).

    A failed verification is excused when a later step that the step declares in ``undone_by`` has started
    (e.g. plan.cleanup ends plan.test's TEST_COMPLETE), but only while every other verified step holds or is
    excused too: once any failure is real (the world was reset or changed by hand), the run is re-planned
    from the first step that failed, excused or not, since the excuse assumed the rest of the world stood.
    """
    checks = []
    for name in verified:
        verification = reverify(ctx, name)
        if verification.ok:
            checks.append(Recheck(name, True, verification.summary))
            continue
        later = next((s for s in sorted(get_step(name).undone_by) if s in started), None)
        checks.append(Recheck(name, False, verification.summary, verification.problems, later))
    if all(c.stands for c in checks):
        return tuple(checks), None
    return tuple(checks), next(c.step for c in checks if not c.holds)
