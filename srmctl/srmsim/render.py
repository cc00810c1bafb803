"""World objects → JSON bodies, field for field as the vendor schemas name them (nothing more: the
contract test validates responses against a strict copy of the specs)."""

from __future__ import annotations

from typing import Any

from srmctl.srmsim import peers
from srmctl.srmsim.groups import vm_protection_status
from srmctl.srmsim.model import (
    STANDARD_STEPS,
    CustomStep,
    Prompt,
    SimGroup,
    SimPlan,
    SimReplication,
    SimSite,
    SimTask,
    SimVm,
    VmSettings,
)
from srmctl.srmsim.plans import plan_vms, plans_of_group
from srmctl.srmsim.recovery_steps import render_steps
from srmctl.srmsim.replication_sync import reported_status
from srmctl.srmsim.world import World


def task(t: SimTask) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": t.id,
        "status": t.status,
        "progress": t.progress,
        "description": t.description,
        "queued_time": t.queued,
    }
    if t.entity:
        body["entity"], body["entity_name"] = t.entity, t.entity_name
    if t.started:
        body["start_time"] = t.started
    if t.completed:
        body["complete_time"] = t.completed
    if t.error:
        body["error"] = {"message": t.error, "details": t.error}
    if t.result is not None:
        body["result"] = t.result
    return body


def server(site: SimSite, kind: str, port: int, reachable: bool = True) -> dict[str, Any]:
    ident = {"vc": site.vc_guid, "srm": site.srm_id, "vr": site.vrms_id}[kind]
    name = {"vc": f"vc-{site.name}", "srm": f"srm-{site.name}", "vr": f"vr-{site.name}"}[kind]
    return {
        "id": ident,
        "name": name,
        "url": f"https://127.0.0.1:{port}",
        # ServerInfo.server_status as the answering server sees this one: down, or cut off by the link.
        "server_status": "OK" if site.up and reachable else "ERROR",
        "version": "9.0.2",
    }


def pairing(world: World, local: str, api: str, ports: dict[str, int]) -> dict[str, Any]:
    remote = world.other(local)
    mine, theirs = world.site(local), world.site(remote)
    body = {
        "pairing_id": world.pairing_at(local, api),  # separate objects, own ids, per server
        "local_vc_server": server(mine, "vc", ports[local]),
        "remote_vc_server": server(theirs, "vc", ports[remote]),
    }
    key = "srm_server" if api == "srm" else "vrms"
    body[f"local_{key}"] = server(mine, api, ports[local])
    body[f"remote_{key}"] = server(theirs, api, ports[remote], world.peer_reachable(local))
    return body


def group(world: World, g: SimGroup) -> dict[str, Any]:
    protected, recovery = world.site(g.protected_site), world.site(world.other(g.protected_site))
    plans = plans_of_group(world, g.id)
    recovery_status = "READY"
    if plans and plans[0].status in ("RECOVERY_COMPLETE", "DISASTER_RECOVERY_COMPLETE"):
        recovery_status = "RECOVERY_COMPLETE"
    return {
        "id": g.id,
        "name": g.name,
        "description": g.description,
        "protected_site_name": protected.srm_name,
        "recovery_site_name": recovery.srm_name,
        "protected_vc_guid": protected.vc_guid,
        "recovery_vc_guid": recovery.vc_guid,
        "location": "DrFolder:DrReplicationRootFolder",
        "location_name": "Protection Groups",
        "total_vms": len(g.vm_ids),
        "replication_type": "HBR",
        "status": g.status,
        "recovery_status": recovery_status,
    }


def group_vm(world: World, g: SimGroup, vm_id: str) -> dict[str, Any]:
    vm = world.find_vm(vm_id)
    configured = g.configured.get(vm_id, ("NOT_CONFIGURED", ["protection is not configured yet"]))
    status = vm_protection_status(world, vm_id, group_recovered=g.status == "RECOVERED", configured=configured)
    if status == configured[0] and status != "OK":
        errors = list(configured[1])
    else:
        errors = [] if status == "OK" else [f"vSphere Replication reports {_replication_state(world, vm_id)}"]
    return {
        "id": vm.id,
        "name": vm.name,
        "template": False,
        "inside_vapp": False,
        "protection_status_details": {"status": status, "errors": errors},
    }


def _replication_state(world: World, vm_id: str) -> str:
    replication = world.replication_of_vm(vm_id)
    return reported_status(world, replication) if replication else "no replication"


def plan(world: World, p: SimPlan) -> dict[str, Any]:
    protected, recovery = world.site(p.protected_site), world.site(world.other(p.protected_site))
    return {
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "status": peers.status(world, p),  # states of a site pair's two servers and of shared groups (srmsim/peers.py)
        "location": "DrFolder:DrRecoveryRootFolder",
        "location_name": "Recovery Plans",
        "protected_site_name": protected.srm_name,
        "recovery_site_name": recovery.srm_name,
        "protected_vc_guid": protected.vc_guid,
        "recovery_vc_guid": recovery.vc_guid,
        "progress": p.progress,
        "is_running": p.running,
    }


def dependent_vms(world: World, p: SimPlan, vm_id: str) -> list[dict[str, Any]]:
    mine = p.settings[vm_id]
    out = []
    group_of: dict[str, str] = {}  # one pass over the plan, not one per dependency
    for vm_, g in plan_vms(world, p) if mine.dependent else ():
        group_of.setdefault(vm_.id, g.name)
    for dep in mine.dependent:
        vm, theirs = world.find_vm(dep), p.settings.get(dep)
        if theirs is None:
            status = "NOT_IN_PLAN"
        elif theirs.priority == mine.priority:
            status = "OK"
        else:
            status = "HIGHER_PRIORITY" if theirs.priority < mine.priority else "LOWER_PRIORITY"
        group_name = group_of.get(dep)
        entry = {"id": vm.id, "name": vm.name, "template": False, "inside_vapp": False, "status": status}
        if theirs is not None:
            entry["priority_group"] = theirs.priority
        if group_name:
            entry["protection_group_name"] = group_name
        out.append(entry)
    return out


def _steps_summary(callouts: list[dict[str, Any]]) -> str:
    return ", ".join(c["name"] for c in callouts)


def summary(world: World, p: SimPlan, vm_id: str) -> dict[str, Any]:
    s = p.settings[vm_id]
    return {
        "priority": s.priority,
        "startup_action": s.startup_action,
        "dependent_vms": dependent_vms(world, p, vm_id),
        "pre_power_on_steps": _steps_summary(s.pre),
        "post_power_on_steps": _steps_summary(s.post),
        "allow_migration": False,
    }


def plan_vm(world: World, p: SimPlan, vm: SimVm, g: SimGroup) -> dict[str, Any]:
    return {
        "id": vm.id,
        "name": vm.name,
        "template": False,
        "inside_vapp": False,
        "recovery_settings": summary(world, p, vm.id),
        "status": p.vm_status.get(vm.id, "READY_TO_RECOVER"),
        "managing_recovery_plan": p.id,
        "protection_group_name": g.name,
        "protection_group": g.id,
    }


def settings(world: World, p: SimPlan, vm_id: str) -> dict[str, Any]:
    s: VmSettings = p.settings[vm_id]
    return {
        "priority": s.priority,
        "startup_action": s.startup_action,
        "shutdown_action_settings": {"skip_shutdown_guest": s.skip_guest, "timeout_seconds": s.shutdown_timeout},
        "startup_action_settings": {
            "power_on_vmtools_timeout_seconds": s.tools_timeout,
            "delay_before_power_on_steps_and_dependent_vms_seconds": s.delay,
        },
        "ip_customization_type": s.ip_customization_type,
        "nic_settings": s.nic_settings,
        "pre_power_on_steps": s.pre,
        "post_power_on_steps": s.post,
        "dependent_vms": dependent_vms(world, p, vm_id),
        "change_version": s.change_version,
        "vm_tools_status": "INSTALLED",
        "allow_vmotion_migration": False,
    }


def ip_customization(p: SimPlan, vm_id: str, recovery_site_local: bool) -> dict[str, Any]:
    """``recovery_site_local``: VmRecoveryIpCustomizationSettings.is_recovery_site_local, "If recovery site is
    local": whether the SRM answering is the one at the plan's recovery site (it flips with the plan)."""
    s = p.settings[vm_id]
    return {
        "ip_customization_type": s.ip_customization_type,
        "is_windows_guest": False,
        "is_recovery_site_local": recovery_site_local,
        "nic_settings": s.nic_settings,
    }


def steps(world: World, p: SimPlan, view: str) -> list[dict[str, Any]]:
    statuses = p.step_status.get(view, {})
    out = []
    anchors_seen: dict[str, int] = {}
    for number, (step_id, title, anchor, custom) in enumerate(render_steps(world, p, view), start=1):
        entry: dict[str, Any] = {
            "id": step_id,
            "title": title,
            "step_number": str(number),
            "child_count": 0,
            "depth": 0,
            "progress": 100 if statuses.get(step_id) == "SUCCESS" else 0,
            "status": statuses.get(step_id, "INACTIVE"),
            "expanded": False,
            "warnings": [],
            "errors": [],
        }
        if custom is not None:
            index = anchors_seen.get(anchor, 0)
            anchors_seen[anchor] = index + 1
            entry["plan_callout_position_spec"] = {"position_spec_index": index, "position_spec_position": anchor}
        out.append(entry)
    return out


def callout(step: CustomStep) -> dict[str, Any]:
    return {
        "id": str(step.id),
        "name": step.name,
        "content": step.content,
        "callout_type": step.callout_type,
        "timeout_seconds": step.timeout,
        "step_type": "RECOVERY_STEP",
    }


def prompt(pr: Prompt) -> dict[str, Any]:
    return {
        "id": pr.id,
        "raised_time": pr.raised,
        "description": pr.description,
        "callout_id": pr.callout_id,
        "prompt_text": pr.text,
    }


def replication(world: World, r: SimReplication) -> dict[str, Any]:
    source, target = world.site(r.source_site), world.site(r.target_site)
    body: dict[str, Any] = {
        "id": r.id,
        "name": r.name,
        "vm_id": r.vm_id,
        "source_site_name": source.srm_name,
        "source_vc_id": source.vc_guid,
        "target_site_name": target.srm_name,
        "target_vc_id": target.vc_guid,
        "rpo": r.rpo,
        "type": "VC_TO_VC",
        "configuration_state": r.configuration_state,
        "recovery_state": {"RECOVERING": "IN_PROGRESS", "RECOVERED": "OK"}.get(r.status, "NOT_STARTED"),
        "last_sync_time": r.last_sync_time,
        "quiescing_enabled": r.quiesce,
        "network_compression_enabled": r.compression,
        "encryption_enabled": r.encryption,
        "auto_replicate_new_disks_enabled": r.auto_replicate_new_disks,
        "mpit_enabled": r.mpit_enabled,
        "status": {"status": (status := reported_status(world, r)), "rpo_violation": "RPO_VIOLATION" in status},
    }
    if r.mpit_enabled:
        body.update(mpit_instances=r.mpit_instances, mpit_days=r.mpit_days)
    if r.vm_data_sets is not None:
        body["vm_data_sets_replication_enabled"] = r.vm_data_sets
    if r.rpo_violation_minutes:
        # VR spec: "The RPO violation since the deadline for the next image of the replication has elapsed".
        body["current_rpo_violation"] = r.rpo_violation_minutes
    if r.sync:
        body["sync_progress"] = dict(r.sync)
    return body


def vm_disks(world: World, vm: SimVm) -> list[dict[str, Any]]:
    site = world.site(vm.site)
    ds = site.datastores[vm.datastore_id]
    home = {
        "vm_id": vm.id,
        "is_vm_home": True,
        "encrypted": False,
        "supported_for_replication": True,
        "source_path": {
            "datastore_id": ds.id,
            "datastore_name": ds.name,
            "path": vm.home,
            "filename": f"{vm.home}.vmx",
        },
        "label": "VM home",
    }
    disks = [home]
    for index, disk in enumerate(vm.disks):
        folder, filename = disk.filename.rsplit("/", 1)
        disks.append(
            {
                "vm_id": vm.id,
                "device_key": disk.device_key,
                "is_vm_home": False,
                "encrypted": False,
                "capacity": disk.capacity // 1024,
                "source_disk_format": "THIN",
                "source_path": {"datastore_id": ds.id, "datastore_name": ds.name, "path": folder, "filename": filename},
                "label": f"Hard disk {index + 1}",
                "controller_key": 1000,
                "supported_for_replication": True,
            }
        )
    return disks


def vr_vm(world: World, vm: SimVm) -> dict[str, Any]:
    return {
        "id": vm.id,
        "name": vm.name,
        "power_state": vm.power_state,
        "connection_state": "CONNECTED",
        "template": False,
        "vr_privilege_granted": True,
        "disks": vm_disks(world, vm),
    }


def datastore(site: SimSite, ds_id: str) -> dict[str, Any]:
    ds = site.datastores[ds_id]
    return {
        "id": ds.id,
        "name": ds.name,
        "capacity": 1 << 40,
        "free_space": 1 << 39,
        "file_system_type": "VMFS",
        "overall_status": "GREEN",
        "accessible": True,
        "type": "DATASTORE",
        "path": f"ds:///{ds.name}/",
    }


def replicated_disk(world: World, r: SimReplication, vm: SimVm) -> list[dict[str, Any]]:
    target = world.site(r.target_site)
    by_key = {d["device_key"]: d for d in vm_disks(world, vm) if not d["is_vm_home"]}
    out = []
    for disk in r.disks:
        ds = target.datastores[disk.datastore_id]
        folder, filename = disk.filename.rsplit("/", 1)
        out.append(
            {
                "vm_disk": by_key[disk.device_key],
                "replicated": True,
                "destination_path": {
                    "datastore_id": ds.id,
                    "datastore_name": ds.name,
                    "path": folder,
                    "filename": filename,
                },
            }
        )
    return out


STEP_VIEWS = tuple(STANDARD_STEPS)
