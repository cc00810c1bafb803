"""Capture a recovery plan's metadata from SRM into a :class:`Snapshot` (read-only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from srmctl.adapters.dr import SrmClient, VrClient
from srmctl.adapters.dr.models import RecoveryPlan
from srmctl.errors import Ambiguous
from srmctl.metadata.mapping import enum_text, metadata_from_settings
from srmctl.metadata.replication import capture_replications
from srmctl.metadata.secrets import redact
from srmctl.metadata.snapshot import GroupInfo, PlanInfo, PlanStep, Snapshot, Source, ViewMode, VmMetadata, now

CUSTOM_STEP_VIEWS: tuple[ViewMode, ...] = ("test", "recovery")


def direction(plan: RecoveryPlan) -> tuple[str, str]:
    """(protected site, recovery site) of a plan, by SRM site name."""
    return str(plan.protected_site_name or plan.protected_vc_guid), str(
        plan.recovery_site_name or plan.recovery_vc_guid
    )


def capture(
    srm: SrmClient,
    plan_name: str,
    *,
    site: str,
    instance_uuids: Mapping[str, str] | None = None,
    vr: VrClient | None = None,
) -> Snapshot:
    """Everything an operator customised on the plan: per-VM settings and plan-level custom steps, and (with
    ``vr``) each VM's replication settings.

    ``instance_uuids`` (VM name → vCenter instance UUID) is recorded so restore can tell equal names apart.
    """
    plan = srm.plan_by_name(plan_name)
    protected, recovery = direction(plan)
    groups = capture_groups(srm, plan)
    vms: dict[str, VmMetadata] = {}
    plan_vms = srm.plan_vms(plan.id)
    states = srm.recovery_settings_of(plan.id, [vm.id for vm in plan_vms])
    for vm in plan_vms:
        vms[vm.name] = metadata_from_settings(
            states[vm.id].recovery_settings, instance_uuid=(instance_uuids or {}).get(vm.name)
        )
    return Snapshot(
        taken_at=now(),
        source=Source(site=site, srm=srm.endpoint, plan_id=plan.id),
        plan=PlanInfo(
            name=plan.name,
            description=plan.description or "",
            protected_site=protected,
            recovery_site=recovery,
            protection_groups=tuple(groups),
        ),
        vms=dict(sorted(vms.items())),
        steps={view: steps for view in CUSTOM_STEP_VIEWS if (steps := custom_recovery_steps(srm, plan.id, view))},
        groups=groups,
        replication=None if vr is None else capture_replications(vr, vms, plan.protected_vc_guid),
    )


def capture_groups(srm: SrmClient, plan: RecoveryPlan) -> dict[str, GroupInfo]:
    """The plan's protection groups by name, each with its type, description, VMs and the plans holding it
    (read-only; two calls per group). Two groups of one name cannot be told apart by name: Ambiguous."""
    found = srm.plan_groups(plan.id)
    names = [g.name for g in found]
    for name in names:
        if names.count(name) > 1:
            raise Ambiguous(
                f"protection group {name!r} of recovery plan {plan.name!r}", [g.id for g in found if g.name == name]
            )
    return {
        g.name: GroupInfo(
            type=g.replication_type or "HBR",
            description=g.description or "",
            vms=tuple(vm.name for vm in srm.group_vms(g.id)),
            plans=tuple(p.name for p in srm.group_plans(g.id)),
        )
        for g in sorted(found, key=lambda g: g.name)
    }


def custom_recovery_steps(srm: SrmClient, plan_id: str, view: str) -> tuple[PlanStep, ...]:
    """The plan-level custom steps of a view, each with the title of the built-in step before it (``after``)
    and its zero-based position in the top-level step list (the ``position`` SRM's create call takes)."""
    top_level = [s for s in srm.recovery_steps(plan_id, view) if s.depth == 0]
    result = []
    after = ""
    for position, step in enumerate(top_level):
        if step.plan_callout_position_spec is None:
            after = step.title
            continue
        data = srm.callout_data(plan_id, view, step.id)
        result.append(
            PlanStep(
                position=position,
                after=after,
                type=enum_text(data.callout_type),  # type: ignore[arg-type]
                name=data.name,
                content=redact(data.content),
                timeout=timedelta(seconds=data.timeout_seconds),
            )
        )
    return tuple(result)


def built_in_titles(srm: SrmClient, plan_id: str, view: str) -> list[str]:
    """The titles of a view's built-in top-level steps, in order, as the plan lists them now."""
    return [s.title for s in srm.recovery_steps(plan_id, view) if s.depth == 0 and s.plan_callout_position_spec is None]


def same_placement(wanted: Sequence[PlanStep], live: Sequence[PlanStep]) -> bool:
    """Whether ``live`` holds ``wanted``: the same steps in the same order, each after the same built-in step
    (by position for a step recorded without ``after``)."""

    def place(w: PlanStep, step: PlanStep) -> bool:
        return w.after == step.after if w.after is not None else w.position == step.position

    return len(wanted) == len(live) and all(
        place(w, step)
        and w.model_copy(update={"position": 0, "after": None})
        == step.model_copy(update={"position": 0, "after": None})
        for w, step in zip(wanted, live, strict=True)
    )


def resolve_positions(wanted: Sequence[PlanStep], titles: Sequence[str]) -> tuple[PlanStep, ...]:
    """``wanted`` (in order) with each ``position`` resolved against a live list of built-in ``titles``: right
    after its ``after`` step and after the custom steps already placed there. Steps recorded without ``after``
    keep their position. Raises ValueError naming a step whose built-in step the list does not have."""
    slots: list[str | None] = list(titles)  # None = a custom step placed so far
    out = []
    for step in wanted:
        if step.after is None:
            index = step.position
        else:
            if step.after and step.after not in titles:
                raise ValueError(
                    f"custom step {step.name!r} follows {step.after!r}, which the plan no longer "
                    f"lists (it lists: {', '.join(titles)})"
                )
            index = slots.index(step.after) + 1 if step.after else 0
            while index < len(slots) and slots[index] is None:
                index += 1
        slots.insert(min(index, len(slots)), None)
        out.append(step.model_copy(update={"position": index}))
    return tuple(out)
