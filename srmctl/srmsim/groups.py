"""SRM protection groups (vSphere Replication groups): create, reconfigure, delete, and each VM's
protection status."""

from __future__ import annotations

import uuid
from typing import Any

from srmctl.srmsim import placeholders, states
from srmctl.srmsim.model import (
    HEALTHY_REPLICATION,
    WARNING_REPLICATION,
    SimError,
    SimGroup,
    SimTask,
)
from srmctl.srmsim.plans import plans_of_group, sync_settings
from srmctl.srmsim.world import TaskContext, World


def vm_protection_status(
    world: World, vm_id: str, *, group_recovered: bool = False, configured: tuple[str, list[str]] | None = None
) -> str:
    replication = world.replication_of_vm(vm_id)
    if replication is None or group_recovered:
        # A recovered group's VMs run at the recovery site: their old replication can no longer protect
        # them, whatever it reports (NOT_ACTIVE after a planned migration, RPO_VIOLATION after DR).
        return "REPLICATION_ERROR"
    if configured is not None and configured[0] != "OK":
        return configured[0]  # no placeholder: MISSING_MAPPING, PLACEHOLDER_CREATION_ERROR... (placeholders.py)
    if replication.status in HEALTHY_REPLICATION:
        return "OK"
    if replication.status in WARNING_REPLICATION:
        return "REPLICATION_WARNING"
    return "REPLICATION_ERROR"


def _check_group_vms(world: World, protected_site: str, vm_ids: list[str]) -> None:
    owners = {vm_id: g for g in world.groups.values() for vm_id in g.vm_ids}  # one pass, not one per VM
    for vm_id in vm_ids:
        vm = world.find_vm(vm_id)
        if vm.site != protected_site:
            raise SimError(400, "INVALID_VM", f"VM {vm.name} is not at the protected site {protected_site}")
        if world.replication_of_vm(vm_id) is None:
            raise SimError(400, "VM_NOT_REPLICATED", f"VM {vm.name} is not replicated by vSphere Replication")
        owner = owners.get(vm_id)
        if owner is not None:
            raise SimError(400, "VM_ALREADY_PROTECTED", f"VM {vm.name} is already in group {owner.name}")


def create_group(world: World, site: str, spec: dict[str, Any]) -> SimTask:
    with world.lock:
        if spec.get("replication_type") != "HBR":
            raise SimError(400, "UNSUPPORTED", "srmsim supports HBR (vSphere Replication) groups only")
        protected = world.site_of_vc(spec["protected_vc_guid"]).name
        world.require_up(world.other(protected))
        if any(g.name == spec["name"] for g in world.groups.values()):
            raise SimError(400, "DUPLICATE_NAME", f"a protection group named {spec['name']!r} exists")
        vm_ids = list((spec.get("hbr_spec") or {}).get("vms") or [])
        _check_group_vms(world, protected, vm_ids)
        group = SimGroup(
            id=f"DrReplicationVmProtectionGroup:{uuid.uuid4()}",
            name=spec["name"],
            description=spec.get("description") or "",
            protected_site=protected,
            vm_ids=vm_ids,
            status="CONFIGURING_PROTECTION",
        )
        world.groups[group.id] = group

        def work(ctx: TaskContext) -> str:
            ctx.pause()
            # SRM configures protection of the new group's VMs with the inventory mappings: a placeholder per
            # VM at the recovery site; a VM it cannot place keeps its status (the group is NOT_CONFIGURED).
            placeholders.configure_group(world, group)
            return group.id  # the new group's id (see plans.create_plan)

        def failed(message: str) -> None:
            world.groups.pop(group.id, None)

        return world.start_task(
            site,
            "srm",
            f"Create protection group {group.name}",
            group.id,
            group.name,
            work,
            failed,
            kind="srm.group.create",
        )


def reconfigure_group(world: World, site: str, group_id: str, spec: dict[str, Any]) -> SimTask:
    with world.lock:
        group = world.group(group_id)
        new_vms = list((spec.get("hbr_spec") or {}).get("vms") or group.vm_ids)
        current, wanted = set(group.vm_ids), set(new_vms)
        # "Protection Group States": a group in use cannot be edited; a recovered one only loses VMs.
        states.require_group_editable(group, adding=bool(wanted - current))
        _check_group_vms(world, group.protected_site, [v for v in new_vms if v not in current])
        group.name = spec.get("name") or group.name
        if spec.get("description") is not None:
            group.description = spec["description"]
        removed = [v for v in group.vm_ids if v not in wanted]
        group.vm_ids = new_vms
        for vm_id in removed:
            group.configured.pop(vm_id, None)
        for plan in plans_of_group(world, group.id):
            sync_settings(world, plan)

        def work(ctx: TaskContext) -> None:
            ctx.pause()
            placeholders.remove(world, removed)
            if group.status in ("OK", "NOT_CONFIGURED"):
                placeholders.configure_group(world, group)

        return world.start_task(
            site,
            "srm",
            f"Reconfigure protection group {group.name}",
            group.id,
            group.name,
            work,
            kind="srm.group.reconfigure",
        )


def delete_group(world: World, site: str, group_id: str) -> SimTask:
    with world.lock:
        group = world.group(group_id)
        states.require_group_deletable(group)
        in_plans = plans_of_group(world, group.id)
        if in_plans:
            raise SimError(
                400,
                "GROUP_IN_USE",
                f"protection group {group.name} is in recovery plan(s) "
                f"{', '.join(p.name for p in in_plans)}; remove it from them first",
            )
        group.status = "REMOVING_PROTECTION"

        def work(ctx: TaskContext) -> None:
            ctx.pause()
            placeholders.remove(world, list(group.vm_ids))
            with world.lock:
                world.groups.pop(group.id, None)

        return world.start_task(
            site, "srm", f"Delete protection group {group.name}", group.id, group.name, work, kind="srm.group.delete"
        )
