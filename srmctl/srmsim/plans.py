"""SRM recovery plans: create, reconfigure (groups, direction), delete; which VMs a plan holds and
the per-VM settings that follow them in and out of it."""

from __future__ import annotations

import uuid
from typing import Any

from srmctl.srmsim import states
from srmctl.srmsim.model import (
    SimError,
    SimGroup,
    SimPlan,
    SimTask,
    SimVm,
    VmSettings,
)
from srmctl.srmsim.world import Failed, World

IDLE = states.PLAN_IDLE
RUNNING = {
    "TEST_IN_PROGRESS",
    "CLEANUP_IN_PROGRESS",
    "RECOVERY_IN_PROGRESS",
    "REPROTECT_IN_PROGRESS",
    "WAITING_FOR_USER_INPUT",
    "CANCEL_IN_PROGRESS",
}


def plans_of_group(world: World, group_id: str) -> list[SimPlan]:
    return [p for p in world.plans.values() if group_id in p.group_ids]


def plan_vms(world: World, plan: SimPlan) -> list[tuple[SimVm, SimGroup]]:
    out = []
    for group_id in plan.group_ids:
        group = world.groups.get(group_id)
        if group is None:
            continue
        for vm_id in group.vm_ids:
            vm = next((s.vms[vm_id] for s in world.sites.values() if vm_id in s.vms), None)
            if vm is not None:
                out.append((vm, group))
    return out


def sync_settings(world: World, plan: SimPlan) -> None:
    """VMs joining the plan get default settings; VMs leaving it lose theirs (this loss is what
    srmctl's metadata snapshot/restore exists for)."""
    ids = {vm.id for vm, _ in plan_vms(world, plan)}
    for vm_id in list(plan.settings):
        if vm_id not in ids:
            del plan.settings[vm_id]
    for vm_id in ids:
        plan.settings.setdefault(vm_id, VmSettings())
    for settings in plan.settings.values():
        settings.dependent = [d for d in settings.dependent if d in ids]


def _idle_status(world: World, plan: SimPlan) -> str:
    if not plan.group_ids:
        return "NO_PROTECTION_GROUPS"
    if any(world.group(g).protected_site != plan.protected_site for g in plan.group_ids):
        return "DIRECTION_ERROR"
    return "READY_STATE"


def create_plan(world: World, site: str, spec: dict[str, Any]) -> SimTask:
    with world.lock:
        if any(p.name == spec["name"] for p in world.plans.values()):
            raise SimError(400, "DUPLICATE_NAME", f"a recovery plan named {spec['name']!r} exists")
        protected = world.site_of_vc(spec["protected_vc_guid"]).name
        groups = list(spec.get("protection_groups") or [])
        for group_id in groups:
            world.group(group_id)
        plan = SimPlan(
            id=f"DrRecoveryRecoveryPlan:{uuid.uuid4()}",
            name=spec["name"],
            description=spec.get("description") or "",
            protected_site=protected,
            group_ids=groups,
        )
        plan.status = _idle_status(world, plan)
        world.plans[plan.id] = plan
        sync_settings(world, plan)
        return world.start_task(
            site,
            "srm",
            f"Create recovery plan {plan.name}",
            plan.id,
            plan.name,
            # A create task's result is the new object's id, a string: the vendor's example reads it with
            # `groupTaskEntity.getResult().toString()` (CreateGroupAndPlan.java); the id layer renders it.
            lambda ctx: plan.id,
            kind="srm.plan.create",
        )


def reconfigure_plan(world: World, site: str, plan_id: str, spec: dict[str, Any]) -> SimTask:
    with world.lock:
        plan = world.plan(plan_id)
        states.require_plan_editable(world, plan)
        groups = spec.get("protection_groups")
        if groups is not None:
            for group_id in groups:
                world.group(group_id)
            # A group another plan's run holds "cannot [be] edit[ed]" ("Protection Group States"), nor taken
            # into a plan (which would make that plan PROTECTION_GROUPS_IN_USE): refused, the stricter choice.
            busy = states.groups_in_use(world, [g for g in groups if g not in plan.group_ids])
            if busy:
                raise SimError(
                    400,
                    "GROUP_IN_USE",
                    f"protection group(s) {', '.join(f'{g.name} ({g.status})' for g in busy)} are in use by "
                    "another recovery plan",
                )
        if spec.get("protected_vc_guid"):
            protected = world.site_of_vc(spec["protected_vc_guid"]).name
            if protected != plan.protected_site:
                if plan.group_ids and groups != []:
                    raise SimError(
                        400,
                        "PLAN_NOT_EMPTY",
                        "the direction of a recovery plan can change only while it has no protection groups",
                    )
                plan.protected_site = protected
        if groups is not None:
            plan.group_ids = list(groups)
        plan.name = spec.get("name") or plan.name
        if spec.get("description") is not None:
            plan.description = spec["description"]
        if not plan.group_ids or plan.status in IDLE:
            plan.status = _idle_status(world, plan)
        sync_settings(world, plan)
        return world.start_task(
            site,
            "srm",
            f"Reconfigure recovery plan {plan.name}",
            plan.id,
            plan.name,
            lambda ctx: None,
            kind="srm.plan.reconfigure",
        )


def delete_plan(world: World, site: str, plan_id: str) -> SimTask:
    with world.lock:
        plan = world.plan(plan_id)
        if plan.running:
            raise SimError(400, "PLAN_BUSY", f"recovery plan {plan.name} is {plan.status}")
        del world.plans[plan.id]
        return world.start_task(
            site,
            "srm",
            f"Delete recovery plan {plan.name}",
            plan.id,
            plan.name,
            lambda ctx: None,
            kind="srm.plan.delete",
        )


def protected_site_back(world: World, site: str) -> None:
    """The protected site of a disaster recovery is reachable again: its VMs were never shut down by SRM,
    so the plan is RECOVERY_SPLIT_BRAIN (srm-api-v2 RecoveryPlanInfo.status: "If the plan was run while the
    sites were disconnected, run the plan again immediately"). Caller holds the world lock."""
    for plan in world.plans.values():
        if plan.status == "DISASTER_RECOVERY_COMPLETE" and plan.protected_site == site and not plan.running:
            plan.status = "RECOVERY_SPLIT_BRAIN"


def require_originals(world: World, plan: SimPlan, originals: list[SimVm]) -> None:
    """Reprotect "involves unregistering the VMs on the peer site" (srm-api-v2, reprotect operation): a
    protected VM that is no longer registered there (deleted or unregistered by someone else) makes the
    reprotect fail, naming it, before anything changes."""
    world.refresh(plan.protected_site)
    with world.lock:
        gone = sorted(vm.name for vm in originals if not vm.registered)
    if gone:
        raise Failed(
            f"protected VMs {', '.join(gone)} are no longer registered at {plan.protected_site}: "
            "reprotect cannot unregister them"
        )
