"""The protection groups a direction creates, worked out for a step: where the recorded group structure comes
from, and which of the wanted groups exist where the VMs run (see docs/architecture.md, "Protection groups")."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from srmctl.adapters.dr.models import ProtectionGroup
from srmctl.errors import Ambiguous, StepFailed
from srmctl.metadata.capture import capture_groups
from srmctl.metadata.snapshot import GroupInfo, read_snapshot
from srmctl.metadata.wanted_groups import LayoutError, WantedGroup, group_layout
from srmctl.steps.context import StepContext
from srmctl.steps.dr_state import recovery_plan, vm_names

RUN_SNAPSHOT_FILE = "metadata-snapshot.yaml"  # the same file steps/metadata.py writes


def recorded_groups(ctx: StepContext) -> Mapping[str, GroupInfo] | None:
    """The plan's original groups: from the run's snapshot, else the live plan while it still holds groups
    (planning before anything changed: read-only, kept in memory), else the runbook's snapshot file. None
    when none of them records groups."""
    run_file = None if ctx.run_dir is None else ctx.run_dir / RUN_SNAPSHOT_FILE
    if run_file is not None and run_file.is_file():
        groups = read_snapshot(run_file).groups
        if groups is not None:
            return groups
    plan = recovery_plan(ctx)
    live = capture_groups(ctx.sides.dr.srm, plan) if plan is not None else {}
    if live:
        return live
    kept = ctx.runbook.recovery_plan.metadata
    return read_snapshot(Path(kept)).groups if kept and Path(kept).is_file() else None


def wanted_groups(ctx: StepContext) -> tuple[WantedGroup, ...]:
    """The groups this direction creates where the VMs run, each with its VMs (StepFailed saying why not)."""
    rb = ctx.runbook
    one = rb.protection_group.name if rb.protection_group else None
    try:
        return group_layout(
            None if one else recorded_groups(ctx), vm_names(ctx), rename=rb.group_renames, one_group=one
        )
    except LayoutError as error:
        raise StepFailed(str(error)) from None


def groups_here(ctx: StepContext, names: tuple[str, ...]) -> dict[str, ProtectionGroup | None]:
    """Each of ``names`` as a protection group protected where the VMs run (None when it does not exist)."""
    s = ctx.sides
    found: dict[str, list[ProtectionGroup]] = {name: [] for name in names}
    for group in s.dr.srm.groups():
        if group.name in found and group.protected_vc_guid == s.running_guid:
            found[group.name].append(group)
    for name, groups in found.items():
        if len(groups) > 1:
            raise Ambiguous(f"protection group {name!r} at {s.running}", [g.id for g in groups])
    return {name: groups[0] if groups else None for name, groups in found.items()}


def group_names(ctx: StepContext) -> tuple[str, ...]:
    return tuple(w.name for w in wanted_groups(ctx))
