"""SRM per-VM recovery settings in a plan: priority, startup/shutdown, IP customization, callouts and
VM dependencies (with cycle checks)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from srmctl.srmsim.model import (
    PRIORITIES,
    SimError,
    SimPlan,
    SimTask,
    VmSettings,
    not_found,
)
from srmctl.srmsim.world import World


def settings_of(world: World, plan: SimPlan, vm_id: str) -> VmSettings:
    if vm_id not in plan.settings:
        raise not_found(f"VM {vm_id} in recovery plan {plan.name}")
    return plan.settings[vm_id]


def _callouts(items: list[dict[str, Any]], step_type: str) -> list[dict[str, Any]]:
    out = []
    for item in items:
        out.append(
            {
                "id": item.get("id") or f"callout-{uuid.uuid4()}",
                "name": item["name"],
                "content": item["content"],
                "callout_type": item["callout_type"],
                "timeout_seconds": int(item["timeout_seconds"]),
                "step_type": step_type,
            }
        )
    return out


def check_dependencies(world: World, plan: SimPlan, vm_id: str, dependent: list[str]) -> str | None:
    """None when valid, else the issue type (CYCLE_DETECTED)."""
    graph = {k: list(v.dependent) for k, v in plan.settings.items()}
    graph[vm_id] = list(dependent)
    seen: set[str] = set()

    def reaches(node: str, goal: str) -> bool:
        if node == goal:
            return True
        if node in seen:
            return False
        seen.add(node)
        return any(reaches(n, goal) for n in graph.get(node, []))

    return "CYCLE_DETECTED" if any(reaches(d, vm_id) for d in dependent) else None


def update_settings(world: World, site: str, plan_id: str, vm_id: str, spec: dict[str, Any]) -> SimTask:
    with world.lock:
        plan = world.plan(plan_id)
        current = settings_of(world, plan, vm_id)
        dependent = [d["id"] if isinstance(d, dict) else d for d in spec.get("dependent_vms") or []]
        _validate_dependencies(world, plan, vm_id, dependent)
        if spec["priority"] not in PRIORITIES:
            raise SimError(400, "INVALID_PRIORITY", f"priority {spec['priority']!r}")
        startup = spec.get("startup_action_settings") or {}
        shutdown = spec["shutdown_action_settings"]
        plan.settings[vm_id] = VmSettings(
            priority=spec["priority"],
            startup_action=spec["startup_action"],
            tools_timeout=int(startup.get("power_on_vmtools_timeout_seconds", current.tools_timeout)),
            delay=int(startup.get("delay_before_power_on_steps_and_dependent_vms_seconds", current.delay)),
            skip_guest=bool(shutdown.get("skip_shutdown_guest", False)),
            shutdown_timeout=int(shutdown["timeout_seconds"]),
            ip_customization_type=spec["ip_customization_type"],
            nic_settings=list(spec.get("nic_settings") or []),
            pre=_callouts(spec.get("pre_power_on_steps") or [], "PRE_POWER_ON"),
            post=_callouts(spec.get("post_power_on_steps") or [], "POST_POWER_ON"),
            dependent=dependent,
            change_version=current.change_version + 1,
        )
        return _settings_task(world, site, plan, vm_id, "Update recovery settings")


def _validate_dependencies(world: World, plan: SimPlan, vm_id: str, dependent: list[str]) -> None:
    # VmSummarizedRecoverySettings.dependent_vms: "If there are dependent VMs that are not in the current plan
    # and same recovery priority, they will be ignored. The list may contain VMs which are not contained by
    # any protection group in the plan." So they are kept (shown NOT_IN_PLAN) and skipped at recovery; a VM
    # id that names no VM at all is still refused.
    for dep in dependent:
        if dep not in plan.settings:
            try:
                world.find_vm(dep)
            except SimError:
                raise SimError(400, "INVALID_DEPENDENT_VM", f"dependent VM {dep} does not exist") from None
    if check_dependencies(world, plan, vm_id, dependent):
        raise SimError(400, "CYCLE_DETECTED", "the VM dependencies form a cycle")


def _settings_task(world: World, site: str, plan: SimPlan, vm_id: str, what: str) -> SimTask:
    vm = world.find_vm(vm_id)
    return world.start_task(site, "srm", f"{what} of {vm.name}", vm_id, vm.name, lambda ctx: None, kind="srm.settings")


def set_priority(world: World, site: str, plan_id: str, vm_id: str, priority: str) -> SimTask:
    with world.lock:
        plan = world.plan(plan_id)
        if priority not in PRIORITIES:
            raise SimError(400, "INVALID_PRIORITY", f"priority {priority!r}")
        settings = settings_of(world, plan, vm_id)
        settings.priority, settings.change_version = priority, settings.change_version + 1
        return _settings_task(world, site, plan, vm_id, "Set priority")


def set_dependencies(world: World, site: str, plan_id: str, vm_id: str, dependent: list[str]) -> SimTask:
    with world.lock:
        plan = world.plan(plan_id)
        settings = settings_of(world, plan, vm_id)
        _validate_dependencies(world, plan, vm_id, dependent)
        settings.dependent, settings.change_version = list(dependent), settings.change_version + 1
        return _settings_task(world, site, plan, vm_id, "Set dependent VMs")


def set_ip(world: World, site: str, plan_id: str, vm_id: str, spec: dict[str, Any]) -> SimTask:
    with world.lock:
        plan = world.plan(plan_id)
        settings = settings_of(world, plan, vm_id)
        settings.ip_customization_type = spec["ip_customization_type"]
        settings.nic_settings = list(spec.get("nic_settings") or [])
        settings.change_version += 1
        return _settings_task(world, site, plan, vm_id, "Set IP customization")


# NicSettings (srm-api-v2): "primary_ip_settings contains information required to customize the network
# adapters on the virtual machine when migrating back to the source vCenter Server; secondary_ip_settings ...
# when migrating to a new vCenter Server". The source vCenter Server is the plan's protected site: a recovery
# migrates the VM to the recovery site (a new vCenter Server), so it applies the secondary settings, and the
# primary ones are the addresses the VM has at its protected site. Reprotect makes the recovery site the
# protected one and swaps them (:func:`swap_sites`), so that recovering back applies the addresses of the site
# the VM lands at: each site keeps its own addresses.
def recovery_ip(settings: VmSettings) -> dict[int, str]:
    """NIC device id -> the IpSettings a recovery applies, as compact JSON (see srmsim.effects).

    Only MANUAL applies per-VM settings (VmRecoveryIpCustomizationSettings.ip_customization_type: "Manually set
    up explicit recovery IP settings per VM"); NO_CUSTOMIZATION changes nothing, and AUTO / NETWORK_MAPPING_LEVEL
    evaluate IP subnet mapping rules, of which srmsim has none.
    """
    if settings.ip_customization_type != "MANUAL":
        return {}
    return {
        int(nic.get("device_id") or 0): json.dumps(nic["secondary_ip_settings"], sort_keys=True, separators=(",", ":"))
        for nic in settings.nic_settings
        if nic.get("secondary_ip_settings")
    }


def swap_sites(settings: VmSettings) -> None:
    """After reprotect: the settings of the new protected site become the primary ones (see recovery_ip)."""
    settings.nic_settings = [
        {
            **nic,
            "primary_ip_settings": nic.get("secondary_ip_settings"),
            "secondary_ip_settings": nic.get("primary_ip_settings"),
        }
        for nic in settings.nic_settings
    ]
