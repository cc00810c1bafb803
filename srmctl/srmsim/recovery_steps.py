"""SRM plan-level recovery steps: the standard steps of each view mode, custom steps (callouts and
prompts) placed among them, and dismissing a raised prompt."""

from __future__ import annotations

from typing import Any

from srmctl.srmsim.model import (
    CONDITIONAL_STEPS,
    CUSTOM_VIEWS,
    STANDARD_STEPS,
    CustomStep,
    SimError,
    SimPlan,
    SimTask,
    not_found,
)
from srmctl.srmsim.world import World


def visible(world: World, plan: SimPlan, anchor: str) -> bool:
    """Whether a built-in step shows in the plan's current direction (model.CONDITIONAL_STEPS)."""
    if anchor not in CONDITIONAL_STEPS:
        return True
    return world.site(world.other(plan.protected_site)).standby_hosts


#: SRM API, every recovery-steps read and add: "Will fail if unable to retrieve recovery steps in the desired mode
#: in the current recovery plan state". A plan has cleanup steps once a test ran (until its cleanup finished),
#: and reprotect steps once a recovery completed (through the reprotect); test and recovery steps always.
_READABLE = {
    "cleanup": frozenset(
        {"TEST_COMPLETE", "TEST_INTERRUPTED", "CLEANUP_IN_PROGRESS", "CLEANUP_INCOMPLETE", "CLEANUP_INTERRUPTED"}
    ),
    "reprotect": frozenset(
        {
            "RECOVERY_COMPLETE",
            "REPROTECT_IN_PROGRESS",
            "INCOMPLETE_REPROTECT",
            "PARTIAL_REPROTECT",
            "REPROTECT_INTERRUPTED",
        }
    ),
}
#: A custom step is an edit of the plan: SRM Administration, "Customizing a Recovery Plan" edits a plan that
#: is ready; a plan that runs, or holds a test or a recovery, is not edited (the stricter reading).
_EDITABLE = frozenset({"READY_STATE"})


def require_readable(plan: SimPlan, view: str) -> None:
    if view in _READABLE and plan.status not in _READABLE[view]:
        raise SimError(
            400, "INVALID_PLAN_STATE", f"recovery plan {plan.name} has no {view} steps in state {plan.status}"
        )


def require_editable(plan: SimPlan, view: str) -> None:
    require_readable(plan, view)
    if plan.running or plan.status not in _EDITABLE:
        raise SimError(
            400, "INVALID_PLAN_STATE", f"cannot change the recovery steps of plan {plan.name} in state {plan.status}"
        )


def render_steps(world: World, plan: SimPlan, view: str) -> list[tuple[int, str, str, CustomStep | None]]:
    """Top-level steps of a view: (id, title, anchor, custom step or None), customs before their anchor.

    A built-in step keeps its id whether it shows or not; custom steps placed before a hidden one stay where
    they are (before the next visible step): the position is between steps, not on one."""
    if view not in STANDARD_STEPS:
        raise SimError(400, "INVALID_VIEW_MODE", f"view mode {view!r}")
    customs = plan.custom.get(view, [])
    out: list[tuple[int, str, str, CustomStep | None]] = []
    for index, (anchor, title) in enumerate(STANDARD_STEPS[view]):
        out += [(c.id, c.name, anchor, c) for c in customs if c.anchor == anchor]
        if visible(world, plan, anchor):
            out.append((index + 1, title, anchor, None))
    out += [(c.id, c.name, "AT_END", c) for c in customs if c.anchor == "AT_END"]
    return out


def add_custom_step(world: World, site: str, plan_id: str, view: str, spec: dict[str, Any]) -> SimTask:
    with world.lock:
        plan = world.plan(plan_id)
        if view not in CUSTOM_VIEWS:
            raise SimError(400, "INVALID_VIEW_MODE", f"custom steps are not allowed in view mode {view!r}")
        require_editable(plan, view)
        rendered = render_steps(world, plan, view)
        position = int(spec["position"])
        if position > len(rendered):
            # CalloutCreateSpec.position: "A position in the current recovery steps list. Zero-based." The list
            # has len(rendered) steps, so len(rendered) (after the last) is the largest position there is.
            raise SimError(
                400,
                "INVALID_POSITION",
                f"position {position} is past the end of the {view} steps (0 to {len(rendered)})",
            )
        customs = plan.custom.setdefault(view, [])
        step = CustomStep(
            id=world.new_id(),
            anchor="AT_END",
            name=spec["name"],
            content=spec["content"],
            callout_type=spec["callout_type"],
            timeout=int(spec["timeout_seconds"]),
        )
        if position < len(rendered):
            _, _, anchor, existing = rendered[position]
            step.anchor = anchor
            index = customs.index(existing) if existing else _after_anchor(customs, anchor)
            customs.insert(index, step)
        else:
            customs.append(step)
        return world.start_task(
            site,
            "srm",
            f"Create recovery step {step.name}",
            plan.id,
            plan.name,
            lambda ctx: {"id": str(step.id)},
            kind="srm.custom_step",
        )


def _after_anchor(customs: list[CustomStep], anchor: str) -> int:
    positions = [i for i, c in enumerate(customs) if c.anchor == anchor]
    return positions[-1] + 1 if positions else len(customs)


def custom_step(plan: SimPlan, view: str, step_id: int) -> CustomStep:
    for step in plan.custom.get(view, []):
        if step.id == step_id:
            return step
    raise not_found(f"custom recovery step {step_id}")


def delete_custom_step(world: World, site: str, plan_id: str, view: str, step_id: int) -> SimTask:
    with world.lock:
        plan = world.plan(plan_id)
        step = custom_step(plan, view, step_id)
        require_editable(plan, view)
        plan.custom[view].remove(step)
        return world.start_task(
            site,
            "srm",
            f"Delete recovery step {step.name}",
            plan.id,
            plan.name,
            lambda ctx: None,
            kind="srm.custom_step",
        )


def edit_custom_step(world: World, site: str, plan_id: str, view: str, step_id: int, spec: dict[str, Any]) -> SimTask:
    with world.lock:
        plan = world.plan(plan_id)
        step = custom_step(plan, view, step_id)
        require_editable(plan, view)
        step.name, step.content = spec["name"], spec["content"]
        step.callout_type, step.timeout = spec["callout_type"], int(spec["timeout_seconds"])
        return world.start_task(
            site, "srm", f"Edit recovery step {step.name}", plan.id, plan.name, lambda ctx: None, kind="srm.custom_step"
        )


def dismiss(world: World, plan_id: str, prompt_id: str) -> None:
    with world.lock:
        plan = world.plan(plan_id)
        prompt = plan.prompts.get(prompt_id)
        if prompt is None:
            raise not_found(f"prompt {prompt_id}")
        prompt.dismissed.set()
