"""Capture a recovery plan's metadata from SRM into a :class:`Snapshot` (read-only)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from srmctl.adapters.dr import SrmClient
from srmctl.adapters.dr.models import RecoveryPlan
from srmctl.metadata.mapping import enum_text, metadata_from_settings
from srmctl.metadata.secrets import redact
from srmctl.metadata.snapshot import PlanInfo, PlanStep, Snapshot, Source, ViewMode, VmMetadata, now

CUSTOM_STEP_VIEWS: tuple[ViewMode, ...] = ("test", "recovery")


def direction(plan: RecoveryPlan) -> tuple[str, str]:
    """(protected site, recovery site) of a plan, by SRM site name."""
    return str(plan.protected_site_name or plan.protected_vc_guid), str(plan.recovery_site_name or
                                                                        plan.recovery_vc_guid)


def capture(srm: SrmClient, plan_name: str, *, site: str,
            instance_uuids: Mapping[str, str] | None = None) -> Snapshot:
    """Everything an operator customised on the plan: per-VM settings and plan-level custom steps.

    ``instance_uuids`` (VM name → vCenter instance UUID) is recorded so restore can tell equal names apart.
    """
    plan = srm.plan_by_name(plan_name)
    protected, recovery = direction(plan)
    groups = tuple(sorted(g.name for g in srm.plan_groups(plan.id)))
    vms: dict[str, VmMetadata] = {}
    for vm in srm.plan_vms(plan.id):
        state = srm.recovery_settings(plan.id, vm.id)
        vms[vm.name] = metadata_from_settings(state.recovery_settings,
                                              instance_uuid=(instance_uuids or {}).get(vm.name))
    return Snapshot(
        taken_at=now(),
        source=Source(site=site, srm=srm.endpoint, plan_id=plan.id),
        plan=PlanInfo(name=plan.name, description=plan.description or "", protected_site=protected,
                      recovery_site=recovery, protection_groups=groups),
        vms=dict(sorted(vms.items())),
        steps={view: steps for view in CUSTOM_STEP_VIEWS if (steps := plan_steps(srm, plan.id, view))},
    )


def plan_steps(srm: SrmClient, plan_id: str, view: str) -> tuple[PlanStep, ...]:
    """The plan-level custom steps of a view, each at its zero-based position in the top-level step list
    (the ``position`` SRM's create call takes, so re-creating them in ascending order rebuilds the list)."""
    top_level = [s for s in srm.recovery_steps(plan_id, view) if s.depth == 0]
    result = []
    for position, step in enumerate(top_level):
        if step.plan_callout_position_spec is None:
            continue
        data = srm.callout_data(plan_id, view, step.id)
        result.append(PlanStep(position=position, type=enum_text(data.callout_type),  # type: ignore[arg-type]
                               name=data.name, content=redact(data.content),
                               timeout=timedelta(seconds=data.timeout_seconds)))
    return tuple(result)
