"""The one way steps run: plan from fresh state → confirmation check → apply → verify, with events.

The engine runs a whole run's steps through :func:`run_steps`; ``protection.restore`` and the reprotect
fallback run their sequence of steps through :func:`run_sequence`, which is the same loop with the events
attributed to the step that runs the sequence. Either way each step gets a context bound to it
(:meth:`StepContext.bind`), and its errors become a :class:`StepFailed` naming it (see
:func:`failures_named`). A step that plans nothing is already done and is only verified.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from srmctl.errors import Aborted, ConnectionFailed, PeerUnreachable, SrmctlError, StepFailed, UsageError
from srmctl.steps.base import Action, Impact, Step, Verification, get_step
from srmctl.steps.context import StepContext
from srmctl.steps.whereabouts import planned, verified


@dataclass(frozen=True)
class EventKinds:
    """The event kinds one level of the loop journals (the engine's journal and report read these names)."""

    started: str
    planned: str
    verified: str
    failed: str


#: A run's own steps (the same names as ``srmctl.engine.events``; a test keeps them equal).
STEP_EVENTS = EventKinds("step_started", "step_planned", "step_verified", "step_failed")
#: The steps of a sequence run by another step: distinct kinds, so the journal never takes a sub-step's
#: outcome for the outcome of the step that runs it (a resume skips steps whose step_verified it finds).
SUBSTEP_EVENTS = EventKinds("substep_started", "substep_planned", "substep_verified", "substep_failed")


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
        return {
            "step": self.name,
            "impact": self.impact.value,
            "summary": self.summary,
            "needs_confirmation": self.needs_confirmation,
            "actions": [a.to_dict() for a in self.actions],
        }


def _names(message: str, name: str) -> bool:
    return message.startswith((f"{name}:", f"{name} "))


@contextmanager
def failures_named(name: str) -> Iterator[None]:
    """Errors inside step ``name`` become a StepFailed whose message starts with its name (exit 4), so step
    code never writes its own name into a message. Connection loss, aborts and usage errors keep their own
    meaning and exit codes."""
    try:
        yield
    except (ConnectionFailed, Aborted, UsageError):
        raise
    except SrmctlError as error:
        if isinstance(error, StepFailed) and _names(error.message, name):
            raise
        message = error.message if _names(error.message, name) else f"{name}: {error.message}"
        raise StepFailed(message) from error


def fresh(ctx: StepContext, *, unless_unchanged: bool = False) -> StepContext:
    """A read-only view observing anew: the previous step or someone else may have changed the sites.

    ``unless_unchanged``: keep an inventory this process read since its last change anywhere (see
    :func:`srmctl.adapters.guard.generation`), e.g. for the next step's plan right after a verification read
    it. A verification after a step applied actions, and the first step after the up-front plan (the operator
    may take minutes to confirm), always read live state. See docs/architecture.md, "Concurrency and batching".
    """
    for ops in ctx.sites.values():
        if unless_unchanged:
            ops.invalidate_if_changed()
        else:
            ops.invalidate()
    return ctx.read_only()


def plan_each_step(ctx: StepContext, names: Sequence[str]) -> tuple[StepPlan, ...]:
    """Every step's plan against current state, with read-only facades; nothing is changed. Later steps are
    planned before earlier ones changed anything; each is planned again right before it is applied."""
    classes = [get_step(name) for name in names]  # an unknown name fails before anything is observed
    view = fresh(ctx, unless_unchanged=ctx.in_sequence)  # a sequence is planned by a step that just observed
    plans = []
    try:
        for cls in classes:
            with failures_named(cls.name):
                plans.append(StepPlan(cls.name, cls.impact, cls.summary(), planned(cls(), view.bind(cls.name))))
    finally:
        if not ctx.in_sequence:
            for ops in ctx.sites.values():
                ops.invalidate()  # the run's first step observes anew, after the operator's confirmation
    return tuple(plans)


def reverify(ctx: StepContext, name: str) -> Verification:
    """Step ``name``'s verification again, against fresh read-only state: a resume asks whether a step its
    journal records as verified still holds. An error while looking (e.g. the plan is gone) means it does not
    hold, and says why; connection loss, aborts and usage errors are raised as they are."""
    try:
        with failures_named(name):
            return verified(get_step(name)(), fresh(ctx).bind(name))
    except StepFailed as error:
        return Verification.failed([error.message])


def require_peer(ctx: StepContext, name: str) -> None:
    """Stop (PeerUnreachable, nothing changed) when the paired site's SRM or VR server is down as the running
    site's servers see it (their pairing's remote server status, "server-down" in the connectivity contract)."""
    dr = ctx.sides.dr
    apis = get_step(name).needs_peer
    down = [
        f"{server.name or server.id} ({kind})"
        for kind, client, field in (("SRM", dr.srm, "remote_srm_server"), ("VR", dr.vr, "remote_vrms"))
        if kind.lower() in apis
        and (server := getattr(client.pairing(), field, None)) is not None
        and str(getattr(server.server_status, "value", server.server_status)) not in ("None", "OK")
    ]
    if down:
        raise PeerUnreachable(
            f"{name} needs the paired site's servers, and {', '.join(down)} seen from {ctx.source} "
            f"{'is' if len(down) == 1 else 'are'} down; nothing was changed: resume the run once "
            f"{'it is' if len(down) == 1 else 'they are'} back"
        )


def run_steps(ctx: StepContext, names: Sequence[str], kinds: EventKinds = STEP_EVENTS) -> None:
    """Run each step in order (:func:`run_step`); stop at the first failure."""
    for name in names:
        run_step(ctx, name, kinds)


def run_step(ctx: StepContext, name: str, kinds: EventKinds = STEP_EVENTS) -> None:
    """Plan ``name`` from fresh state, check the plan was confirmed if it needs to be, apply it and verify
    the outcome; journal each phase as ``kinds``. Raises StepFailed naming the step (after journaling it)."""
    cls = get_step(name)
    step: Step = cls()
    bound = ctx.bind(name)
    ctx.emit(kinds.started, name, {"impact": cls.impact.value})
    try:
        with failures_named(name):
            actions = planned(step, fresh(bound, unless_unchanged=True))
            ctx.emit(kinds.planned, name, {"actions": [a.to_dict() for a in actions]})
            if StepPlan(name, cls.impact, "", actions).needs_confirmation and not ctx.confirmed:
                raise Aborted(f"{name}: {len(actions)} high-impact action(s) were not confirmed")
            if actions and cls.needs_peer:
                require_peer(bound, name)
            if actions:
                step.apply(bound, actions)
            # After actions were applied the verification reads live state, whatever the change counter says.
            verification = verified(step, fresh(bound, unless_unchanged=not actions))
        if not verification.ok:
            # Inside a sequence the direction tells which of the two runs of the same step failed.
            where = f" ({ctx.source} -> {ctx.target})" if ctx.in_sequence else ":"
            raise StepFailed(
                f"{name}{where} verification failed:\n" + "\n".join(f"- {p}" for p in verification.problems)
            )
    except BaseException as error:
        message = error.message if isinstance(error, SrmctlError) else f"{type(error).__name__}: {error}"
        ctx.emit(kinds.failed, name, {"error": message, "code": getattr(error, "code", "internal")})
        raise
    ctx.emit(kinds.verified, name, {"summary": verification.summary, "actions": len(actions)})


# --- sequences: steps run by another step ----------------------------------------------------------------


def _in_sequence(ctx: StepContext) -> StepContext:
    """The context for the steps of a sequence run by the step ``ctx`` is bound to: their events are
    journaled under that step and name the sub-step (``substep``)."""
    parent, outer = ctx.step, ctx.emit

    def emit(kind: str, step: str | None, data: Mapping[str, Any]) -> object:
        return outer(kind, parent, {**data, "substep": step})

    return replace(ctx, emit=emit, in_sequence=True, step=None)


def plan_sequence(ctx: StepContext, names: Sequence[str]) -> tuple[Action, ...]:
    """Every sub-step's plan against current state (as :func:`plan_each_step`), each action tagged with its
    sub-step. When the step running the sequence would not ask for confirmation by itself, a sub-step's
    actions that would need it as a step of its own are marked high impact: the run asks for the same
    confirmation either way, and the sub-step's confirmation check passes."""
    parent_asks = ctx.step is not None and get_step(ctx.step).impact is Impact.HIGH
    actions = []
    for step_plan in plan_each_step(_in_sequence(ctx), names):
        mark = step_plan.needs_confirmation and not parent_asks
        for action in step_plan.actions:
            tagged = action.with_details(substep=step_plan.name)
            actions.append(replace(tagged, high_impact=True) if mark else tagged)
    return tuple(actions)


def run_sequence(ctx: StepContext, names: Sequence[str]) -> None:
    """Run the steps ``names`` (on ``ctx``'s direction) inside the step ``ctx`` is bound to: the same loop as
    a run's steps, with ``substep_*`` events under that step."""
    run_steps(_in_sequence(ctx), names, SUBSTEP_EVENTS)


def verify_sequence(ctx: StepContext, names: Sequence[str]) -> list[str]:
    """Every sub-step's verification problems, each prefixed with its sub-step."""
    view = fresh(_in_sequence(ctx), unless_unchanged=True)  # called by a verification that just observed
    problems = []
    for name in names:
        with failures_named(name):
            problems += [f"{name}: {p}" for p in verified(get_step(name)(), view.bind(name)).problems]
    return problems
