"""Re-apply a snapshot to a recovery plan: plan first (what differs, as values), then apply exactly that.

Validation comes before any change: dependencies must name VMs of the snapshot, stay inside one priority
group (as SRM requires) and form no cycle. VMs are matched by name; a snapshot VM the plan does not hold is
reported as unplaced (and :func:`require_placed` refuses the restore), a plan VM the snapshot does not know is
left alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from srmctl.adapters.dr import SrmClient
from srmctl.adapters.dr.models import Callout as RestCallout
from srmctl.adapters.dr.models import CalloutSpec, VmRecoverySettings
from srmctl.errors import Ambiguous, NotFound, RunbookInvalid
from srmctl.metadata.capture import (
    CUSTOM_STEP_VIEWS,
    built_in_titles,
    custom_recovery_steps,
    direction,
    resolve_positions,
    same_placement,
)
from srmctl.metadata.diff import SYNC_CONFLICT
from srmctl.metadata.forecast import field_changes
from srmctl.metadata.mapping import metadata_from_settings, settings_from_metadata
from srmctl.metadata.secrets import has_redaction, redact
from srmctl.metadata.snapshot import PlanStep, Snapshot, VmMetadata


@dataclass(frozen=True)
class RestoreAction:
    kind: str  # vm_settings | vm_dependencies | plan_steps | plan_description
    target: str  # VM name, view mode, or the plan name
    summary: str
    settings: VmRecoverySettings | None = field(default=None, compare=False, repr=False)
    dependency_ids: tuple[str, ...] = ()
    steps: tuple[PlanStep, ...] = ()
    description: str | None = None
    changes: tuple[str, ...] = ()  # per field, "field: live → snapshot" (see metadata/forecast.py)


@dataclass(frozen=True)
class RestorePlan:
    plan_id: str
    plan_name: str
    actions: tuple[RestoreAction, ...]
    unplaced: tuple[str, ...]  # in the snapshot, not in the plan
    unmanaged: tuple[str, ...]  # in the plan, not in the snapshot: left as they are
    sites: tuple[str, str] = ("", "")  # the plan's (protected, recovery) site names the settings are oriented to


def validate(snapshot: Snapshot) -> list[str]:
    """Problems that would make a restore fail half-way; empty when the snapshot can be applied."""
    problems = []
    vms = snapshot.vms
    for name, meta in vms.items():
        for dep in meta.dependencies:
            if dep not in vms:
                problems.append(f"vms.{name}.dependencies: {dep!r} is not a VM of the snapshot")
            elif vms[dep].priority != meta.priority:
                problems.append(
                    f"vms.{name}.dependencies: {dep!r} is in priority group {vms[dep].priority}, "
                    f"{name} in {meta.priority}; SRM allows dependencies only within one group"
                )
    cycle = _cycle({n: [d for d in m.dependencies if d in vms] for n, m in vms.items()})
    if cycle:
        problems.append(f"dependencies form a cycle: {' → '.join(cycle)}")
    return problems


def _cycle(graph: Mapping[str, Sequence[str]]) -> list[str]:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return []


def plan_restore(srm: SrmClient, plan_name: str, snapshot: Snapshot) -> RestorePlan:
    """What a restore would change, read from live state. Raises RunbookInvalid before anything changes."""
    problems = validate(snapshot)
    if problems:
        raise RunbookInvalid([f"snapshot of {snapshot.plan.name}: {p}" for p in problems])
    plan = srm.plan_by_name(plan_name)
    try:
        snapshot = snapshot.oriented(direction(plan))  # IP settings follow their site when the plan flipped
    except ValueError as error:
        raise RunbookInvalid([f"snapshot of {snapshot.plan.name}: {error}"]) from error
    ids = _ids_by_name([(vm.name, vm.id) for vm in srm.plan_vms(plan.id)])
    placed = {name: meta for name, meta in snapshot.vms.items() if name in ids}
    unplaced = tuple(sorted(set(snapshot.vms) - set(ids)))
    orphaned_deps = [
        f"{n} depends on {d}, which the plan does not hold"
        for n, m in placed.items()
        for d in m.dependencies
        if d not in ids
    ]
    if orphaned_deps:
        raise RunbookInvalid([f"snapshot of {snapshot.plan.name}: {p}" for p in orphaned_deps])

    actions: list[RestoreAction] = []
    if (snapshot.plan.description or "") != (plan.description or ""):
        actions.append(
            RestoreAction(
                "plan_description", plan.name, "set the plan's description", description=snapshot.plan.description
            )
        )
    dependency_changes = []
    states = srm.recovery_settings_of(plan.id, [ids[name] for name in placed])
    for name, meta in placed.items():
        live = states[ids[name]].recovery_settings
        live_deps = {d.name for d in live.dependent_vms}
        desired = settings_from_metadata(meta, dependency_ids=ids)
        # Pass 1 keeps only dependencies that already exist: new ones may need priorities set in this pass.
        first = settings_from_metadata(
            meta.model_copy(update={"dependencies": tuple(d for d in meta.dependencies if d in live_deps)}),
            dependency_ids=ids,
        )
        # SYNC_CONFLICT ("Changes have been made to this plan at both sites. Review the current settings by
        # editing the plan"): SRM holds two versions; writing the snapshot's settings resolves it, even
        # where the version read now already equals them.
        conflict = states[ids[name]].status == SYNC_CONFLICT
        if _comparable(first) != _comparable(live) or conflict:
            changes = field_changes(_comparable(live), _comparable(first), snapshot.direction)
            changes = changes or ("sync conflict: the snapshot's settings written to resolve it",)
            first = _with_live_secrets(first, live, name)
            actions.append(RestoreAction("vm_settings", name, _describe(live, first), settings=first, changes=changes))
        if set(meta.dependencies) != live_deps:
            dependency_changes.append(
                RestoreAction(
                    "vm_dependencies",
                    name,
                    f"dependencies {sorted(live_deps)} → {sorted(meta.dependencies)}",
                    dependency_ids=tuple(d.id for d in desired.dependent_vms),
                    changes=field_changes(
                        VmMetadata(dependencies=tuple(live_deps)),
                        VmMetadata(dependencies=meta.dependencies),
                        snapshot.direction,
                    ),
                )
            )
    actions += dependency_changes
    for view in CUSTOM_STEP_VIEWS:
        wanted = tuple(sorted(snapshot.steps.get(view, ()), key=lambda s: s.position))
        if not same_placement(wanted, custom_recovery_steps(srm, plan.id, view)):
            try:  # checked here, before any change; applied against the list as it is then
                resolve_positions(wanted, built_in_titles(srm, plan.id, view))
            except ValueError as error:
                raise RunbookInvalid([f"snapshot of {snapshot.plan.name}: steps.{view}: {error}"]) from error
            wanted = _steps_with_live_secrets(srm, plan.id, view, wanted)
            actions.append(
                RestoreAction("plan_steps", view, f"rebuild {len(wanted)} custom {view} step(s)", steps=wanted)
            )
    return RestorePlan(
        plan.id, plan.name, tuple(actions), unplaced, tuple(sorted(set(ids) - set(snapshot.vms))), snapshot.direction
    )


def require_placed(restore: RestorePlan) -> None:
    """Refuse a restore that would leave part of the snapshot behind: the settings of VMs the plan does not
    hold cannot be placed, and applying the rest would report success for a plan that still differs (what
    ``snapshot diff`` says, with exit 1). Raised before anything is changed."""
    if restore.unplaced:
        listed = ", ".join(restore.unplaced)
        raise NotFound(
            f"recovery plan {restore.plan_name!r} does not hold {len(restore.unplaced)} VM(s) of the "
            f"snapshot: {listed}; nothing was changed. Protect them in the plan (their protection "
            "group) or remove them from the snapshot file, then restore again"
        )


def apply_restore(srm: SrmClient, restore: RestorePlan) -> None:
    """Apply exactly the planned actions, in order (settings, then dependencies, then plan steps)."""
    ids = _ids_by_name([(vm.name, vm.id) for vm in srm.plan_vms(restore.plan_id)])
    for action in restore.actions:
        if action.kind == "plan_description":
            srm.reconfigure_plan(restore.plan_id, description=action.description or "")
        elif action.kind == "vm_settings":
            assert action.settings is not None
            srm.update_recovery_settings(restore.plan_id, ids[action.target], action.settings)
        elif action.kind == "vm_dependencies":
            srm.set_dependent_vms(restore.plan_id, ids[action.target], action.dependency_ids)
        elif action.kind == "plan_steps":
            _rebuild_steps(srm, restore.plan_id, action.target, action.steps)


def _rebuild_steps(srm: SrmClient, plan_id: str, view: str, steps: Sequence[PlanStep]) -> None:
    # Remove every custom step of the view, then insert the wanted ones in order, each right after the built-in
    # step it followed at capture in the list the plan has now (built-in steps differ by view mode and
    # direction; old snapshots: at the recorded index). Everything before a step is in place when it is added.
    for existing in srm.recovery_steps(plan_id, view):
        if existing.plan_callout_position_spec is not None:
            srm.delete_recovery_step(plan_id, view, existing.id)
    for wanted in resolve_positions(steps, built_in_titles(srm, plan_id, view)):
        srm.create_plan_callout(
            plan_id,
            view,
            CalloutSpec(
                name=wanted.name,
                content=wanted.content,
                callout_type=wanted.type,  # type: ignore[arg-type]
                timeout_seconds=int(wanted.timeout.total_seconds()),
                position=wanted.position,
            ),
        )


def _with_live_secrets(wanted: VmRecoverySettings, live: VmRecoverySettings, vm: str) -> VmRecoverySettings:
    """Callouts whose secrets the snapshot holds only as markers get the live callout's real text back (the
    same secret, by its hash); one SRM no longer has cannot be restored and is refused, never written as a
    marker."""
    live_texts = {redact(c.content): c.content for c in (*live.pre_power_on_steps, *live.post_power_on_steps)}

    def real(callouts: tuple[RestCallout, ...]) -> tuple[RestCallout, ...]:
        out = []
        for c in callouts:
            if has_redaction(c.content):
                if c.content not in live_texts:
                    raise RunbookInvalid(
                        [
                            f"vms.{vm}: callout {c.name!r} holds a secret the snapshot does not store "
                            "and SRM no longer has; re-enter it in SRM, then restore again"
                        ]
                    )
                c = c.model_copy(update={"content": live_texts[c.content]})
            out.append(c)
        return tuple(out)

    return wanted.model_copy(
        update={
            "pre_power_on_steps": real(wanted.pre_power_on_steps),
            "post_power_on_steps": real(wanted.post_power_on_steps),
        }
    )


def _steps_with_live_secrets(
    srm: SrmClient, plan_id: str, view: str, wanted: tuple[PlanStep, ...]
) -> tuple[PlanStep, ...]:
    if not any(has_redaction(s.content) for s in wanted):
        return wanted
    live_texts = {}
    for step in srm.recovery_steps(plan_id, view):
        if step.plan_callout_position_spec is not None:
            content = srm.callout_data(plan_id, view, step.id).content
            live_texts[redact(content)] = content
    missing = [s.name for s in wanted if has_redaction(s.content) and s.content not in live_texts]
    if missing:
        raise RunbookInvalid(
            [
                f"steps.{view}: {name!r} holds a secret the snapshot does not store and SRM no "
                "longer has; re-enter it in SRM, then restore again"
                for name in missing
            ]
        )
    return tuple(s.model_copy(update={"content": live_texts.get(s.content, s.content)}) for s in wanted)


def _ids_by_name(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    ids: dict[str, list[str]] = {}
    for name, vm_id in pairs:
        ids.setdefault(name, []).append(vm_id)
    duplicated = {n: v for n, v in ids.items() if len(v) > 1}
    if duplicated:
        name, candidates = next(iter(sorted(duplicated.items())))
        raise Ambiguous(f"VM {name!r} in the recovery plan", candidates)
    return {n: v[0] for n, v in ids.items()}


def _comparable(settings: VmRecoverySettings) -> VmMetadata:
    return metadata_from_settings(settings)


def _describe(live: VmRecoverySettings, wanted: VmRecoverySettings) -> str:
    before, after = _comparable(live), _comparable(wanted)
    fields = [name for name in VmMetadata.model_fields if getattr(before, name) != getattr(after, name)]
    return "update " + ", ".join(fields)
