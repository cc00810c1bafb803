"""Build srmsim's ``protected`` world from a lab topology (:mod:`srmctl.labkit.topology`), and reach the
other scenarios (protected, planned migration, disaster recovery; see docs/architecture.md) by
running srmsim's own recovery on it — never by writing end states."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from srmctl.labkit.topology import Topology
from srmctl.metadata.mapping import settings_from_metadata
from srmctl.metadata.snapshot import VmMetadata
from srmctl.srmsim import disk_growth, groups, mappings, plans, recovery_settings, recovery_steps, runs, sites, vsphere
from srmctl.srmsim import replication as vr
from srmctl.srmsim.model import SimDisk, SimSite, SimTask, SimVm
from srmctl.srmsim.world import World

SCENARIOS = ("protected", "planned-migration", "disaster-recovery")
#: Who ran the scenario's failover, as SRM's history reports name the user of a run.
SEED_USER = "srmsim-scenario@vsphere.local"
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h)?\s*$")


def seconds(value: Any) -> int:
    if isinstance(value, int):
        return value
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"duration {value!r}: use e.g. 300s, 15m or 1h")
    return int(match.group(1)) * {None: 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def build(
    world: World, topology: Topology, datastores_root: Path, datastore_dirs: dict[str, dict[str, Path]] | None = None
) -> None:
    """Sites, datastores (real directories), VMs with disk files, replications, groups, plans.

    A site with a vCenter (``world.mirror``) is adopted instead: its instance UUID, datastore MoRefs and
    VMs (the lab built them, with their files) become srmsim's, so SRM/VR ids match vCenter's."""
    adopted = set(world.mirror.sites())
    for number, (name, site_model) in enumerate(topology.sites.items()):
        inventory = world.mirror.inventory(name) if name in adopted else None
        # Different MoRef bases per site, so a site-A id used on site B fails (vcsim gives equal shapes equal ids).
        site = world.add_site(
            name, moref_base=(number + 1) * 100, vc_guid=world.mirror.vc_guid(name) if inventory else None
        )
        for index, ds_name in enumerate(site_model.datastores, start=1):
            record = inventory.datastore(ds_name) if inventory else None
            directory = (
                (datastore_dirs or {}).get(name, {}).get(ds_name)
                or (record.url if record else None)
                or datastores_root / name / ds_name
            )
            world.add_datastore(site, ds_name, Path(directory), index, record.moref if record else None)
        if inventory:
            live = world.mirror.objects(name)
            site.folders, site.pools, site.networks = live.folders, live.pools, live.networks
            adopt_vms(world, site, inventory)
            for adopted_vm in site.vms.values():
                adopted_vm.pool, adopted_vm.networks = live.vms.get(adopted_vm.moref, ("", ()))
        else:
            mappings.in_memory_objects(site, site_model)
    # Inventory mappings first: creating the protection groups below makes SRM create placeholders.
    mappings.seed(world, topology)
    protected = world.site(topology.protected_site)
    recovery = world.site(topology.recovery_site)
    ids: dict[str, str] = {}
    by_name: dict[str, list[SimVm]] = {}
    for existing in protected.vms.values():  # one pass, not one per VM
        by_name.setdefault(existing.name, []).append(existing)
    for vm in topology.vms:
        if protected.name in adopted:
            found = by_name.get(vm.name, [])
            if len(found) != 1:
                raise RuntimeError(f"seeding failed: {len(found)} VMs named {vm.name} in {protected.name}'s vCenter")
            ids[vm.name] = found[0].id
            continue
        sim_vm = world.create_vm(
            protected,
            vm.name,
            protected.datastore_by_name(vm.datastore),
            vm.folder,
            [d.size for d in vm.disks],
            vm.power == "on",
        )
        ids[vm.name] = sim_vm.id
    specs = []
    for vm in topology.vms:
        if vm.replication is None:
            continue
        target = recovery.datastore_by_name(vm.replication.target_datastore).id
        sim_vm = protected.vms[ids[vm.name]]
        disks: list[dict[str, Any]] = [
            {"vm_disk": {"vm_id": sim_vm.id, "is_vm_home": True}, "destination_datastore_id": target}
        ]
        disks += [
            {
                "vm_disk": {"vm_id": sim_vm.id, "device_key": d.device_key},
                "destination_datastore_id": target,
                "enabled_for_replication": True,
            }
            for d in sim_vm.disks
        ]
        specs.append(
            {
                "vm_id": sim_vm.id,
                "target_vc_id": recovery.vc_guid,
                "rpo": seconds(vm.replication.rpo) // 60,
                "quiesce_enabled": vm.replication.quiesce,
                "network_compression_enabled": vm.replication.network_compression,
                "lwd_encryption_enabled": vm.replication.encryption,
                "auto_replicate_new_disks": vm.replication.auto_replicate_new_disks,
                "mpit_enabled": vm.replication.mpit is not None,
                **(
                    {"mpit_instances": vm.replication.mpit.instances, "mpit_days": vm.replication.mpit.days}
                    if vm.replication.mpit
                    else {}
                ),
                "disks": disks,
            }
        )
    _wait(world, vr.configure(world, protected.name, specs))
    group_ids: dict[str, str] = {}
    for pg in topology.protection_groups:
        task = groups.create_group(
            world,
            protected.name,
            {
                "name": pg.name,
                "description": pg.description,
                "replication_type": "HBR",
                "protected_vc_guid": protected.vc_guid,
                "hbr_spec": {"vms": [ids[v] for v in pg.vms]},
            },
        )
        group_ids[pg.name] = _wait(world, [task])[0]
    for plan_model in topology.recovery_plans:
        task = plans.create_plan(
            world,
            protected.name,
            {
                "name": plan_model.name,
                "description": plan_model.description,
                "protected_vc_guid": protected.vc_guid,
                "protection_groups": [group_ids[g] for g in plan_model.protection_groups],
            },
        )
        plan = world.plan(_wait(world, [task])[0])
        # Every VM's settings at once, then one wait (not a wait per VM).
        _wait(
            world,
            [
                recovery_settings.update_settings(
                    world, protected.name, plan.id, ids[vm_name], settings_spec(meta, ids)
                )
                for vm_name, meta in plan_model.vms.items()
                if ids[vm_name] in plan.settings
            ],
        )
        for view, steps in plan_model.steps.items():
            for step in steps:
                _wait(
                    world,
                    [
                        recovery_steps.add_custom_step(
                            world,
                            protected.name,
                            plan.id,
                            view,
                            {
                                "position": int(step.get("position", 0)),
                                "name": step["name"],
                                "content": step["content"],
                                "callout_type": step["type"],
                                "timeout_seconds": seconds(step.get("timeout", 0)),
                            },
                        )
                    ],
                )


def adopt_vms(world: World, site: SimSite, inventory: vsphere.Site) -> None:
    """The vCenter's VMs as srmsim VMs: ``VirtualMachine:<moref>:<vc guid>``, disks and .vmx where they are."""
    for record in inventory.vms:
        ds_name, vmx = vsphere.split_datastore_path(record.vmx_path)
        disks = [
            SimDisk(device_key=d.key, capacity=d.capacity_bytes, filename=vsphere.split_datastore_path(d.file)[1])
            for d in record.disks
        ]
        vm = SimVm(
            id=site.vm_id(record.moref),
            name=record.name,
            instance_uuid=record.instance_uuid,
            site=site.name,
            datastore_id=site.datastore_by_name(ds_name).id,
            folder=record.folder,
            disks=disks,
            power_state="POWERED_ON" if record.powered_on else "POWERED_OFF",
            moref=record.moref,
            vmx=vmx,
        )
        site.vms[vm.id] = vm


def settings_spec(meta: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """The topology's per-VM metadata (snapshot vocabulary) → ``VmRecoverySettingsSpec``, through the same
    mapping srmctl's snapshot restore uses, so the lab's plans hold exactly what a snapshot of them would say
    (IPv6, WINS included)."""
    metadata = VmMetadata.model_validate(meta)
    settings = settings_from_metadata(metadata, dependency_ids={n: ids[n] for n in metadata.dependencies})
    return settings.spec_body()


def _wait(world: World, tasks: list[SimTask]) -> list[Any]:
    # Seeding works on every VM of the topology (a placeholder per VM, a whole recovery): the limit scales.
    vms = sum(len(site.vms) for site in world.sites.values())
    world.wait_idle(timeout=60.0 + 0.5 * vms)
    failed = [t for t in tasks if t.status != "SUCCESS"]
    if failed:
        raise RuntimeError(f"seeding failed: {failed[0].description}: {failed[0].error}")
    return [t.result for t in tasks]


def reach(world: World, scenario: str, topology: Topology | None = None) -> None:
    """Run srmsim's own recovery on the protected world to reach a scenario (see docs/architecture.md); then
    grow the recovered disks the topology says were extended during the outage (``grow_after_failover``)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r} (choose from {', '.join(SCENARIOS)})")
    if scenario == "protected":
        return
    world.auto_dismiss_prompts = True
    try:
        for plan in list(world.plans.values()):
            protected = plan.protected_site
            if scenario == "planned-migration":
                _wait(
                    world,
                    [
                        runs.run_recovery(
                            world,
                            world.other(protected),
                            plan.id,
                            {"planned_failover": True, "sync_data": True},
                            user=SEED_USER,
                        )
                    ],
                )
            else:
                sites.set_site_up(world, protected, False)
                _wait(
                    world,
                    [
                        runs.run_recovery(
                            world,
                            world.other(protected),
                            plan.id,
                            {"planned_failover": False, "skip_protection_site_operations": True},
                            user=SEED_USER,
                        )
                    ],
                )
                sites.set_site_up(world, protected, True)
    finally:
        world.auto_dismiss_prompts = False
    if topology is not None:
        disk_growth.grow_recovered_disks(world, topology)
