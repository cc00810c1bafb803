"""vSphere Replication's configuration: configure (with seeds), reconfigure, unconfigure/delete keeping
replica disks. The sync and the states a replication reports are :mod:`srmctl.srmsim.replication_sync`; what
a seed must be, :mod:`srmctl.srmsim.replication_seeds`.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from srmctl.srmsim import body_refs, effects, replication_seeds, replication_sync, vr_servers
from srmctl.srmsim.model import ReplicaDisk, SimError, SimReplication, SimTask, SimVm
from srmctl.srmsim.world import Failed, TaskContext, World


def configure(world: World, site: str, specs: list[dict[str, Any]]) -> list[SimTask]:
    """``POST /pairings/{pid}/replications`` (on the VR of the VM's site): one task per VM, answered per VM as
    the VR spec's TaskDrResponseList is: a VM whose replication cannot be configured (already replicated, a
    seed that is none, a target file that exists) gets a task that ends in ERROR naming the reason, and the
    others are configured (issue #21, point 4). What makes the whole request unreadable is its 400: a VM or
    vCenter id that names nothing (:mod:`srmctl.srmsim.body_refs`), a target site that is down."""
    with world.lock:
        planned: list[tuple[SimVm, SimReplication | SimError]] = []
        with body_refs.in_body("vm_id"):
            vms = [world.find_vm(spec["vm_id"]) for spec in specs]
        targets = [world.site_of_vc(spec["target_vc_id"]) for spec in specs]
        for name in {t.name for t in targets}:
            world.require_up(name)
        indexes = {name: replication_seeds.owners(world.site(name)) for name in {t.name for t in targets}}
        batch: set[str] = set()
        for spec, vm, target in zip(specs, vms, targets, strict=True):
            try:
                planned.append((vm, _checked(world, vm, target.name, spec, batch, indexes[target.name])))
            except SimError as error:
                planned.append((vm, error))
            batch.add(vm.id)
        tasks = []
        for vm, outcome in planned:
            if isinstance(outcome, SimError):
                tasks.append(_refused(world, site, vm, outcome))
                continue
            world.replications[outcome.id] = outcome
            tasks.append(
                world.start_task(
                    site,
                    "vr",
                    f"Configure replication for {outcome.name}",
                    outcome.vm_id,
                    outcome.name,
                    functools.partial(_initial_sync, replication=outcome),
                    on_error=functools.partial(replication_sync.mark_error, outcome),
                    kind="vr.configure",
                )
            )
    return tasks


def _checked(
    world: World, vm: SimVm, target: str, spec: dict[str, Any], batch: set[str], index: dict[tuple[str, str], SimVm]
) -> SimReplication:
    if vm.site == target:
        raise SimError(400, "INVALID_TARGET", "target vCenter is the VM's own vCenter")
    if not 5 <= int(spec["rpo"]) <= 1440:
        raise SimError(400, "INVALID_RPO", "rpo must be between 5 and 1440 minutes")
    server = spec.get("target_replication_server_id")
    if server is not None and server != vr_servers.replication_server_id(world.site(target)):
        # "target_replication_server_id": a replication server of the target site (``/pairings/{pid}/vrs/
        # {vr_id}/replication-servers``); null lets VR choose.
        raise SimError(400, "INVALID_REFERENCE", f"{server} is not a replication server of site {target}")
    for given in spec["disks"]:
        policy = given.get("destination_storage_policy_id")
        if policy is not None and policy not in vr_servers.POLICIES:
            raise SimError(400, "INVALID_REFERENCE", f"destination_storage_policy_id: no storage policy {policy}")
    existing = world.replication_of_vm(vm.id)
    if existing is not None or vm.id in batch:
        raise SimError(
            400,
            "ALREADY_CONFIGURED",
            f"VM {vm.name} is already replicated" + (f" ({existing.id})" if existing else ""),
        )
    return new_replication(world, vm, target, spec, index)


def _refused(world: World, site: str, vm: SimVm, error: SimError) -> SimTask:
    def fail(ctx: TaskContext) -> None:
        raise Failed(f"{error.code}: {error.message}")

    return world.start_task(
        site, "vr", f"Configure replication for {vm.name}", vm.id, vm.name, fail, kind="vr.configure"
    )


def new_replication(
    world: World, vm: SimVm, target: str, spec: dict[str, Any], index: dict[tuple[str, str], SimVm] | None = None
) -> SimReplication:
    """The replication ``spec`` configures for ``vm`` to ``target``, its seeds checked
    (:mod:`srmctl.srmsim.replication_seeds`; ``index``: the target site's disks by owner, else read here)."""
    target_site = world.site(target)
    source_ds = world.site(vm.site).datastores[vm.datastore_id]
    index = replication_seeds.owners(target_site) if index is None else index
    by_key = {d["vm_disk"].get("device_key"): d for d in spec["disks"]}
    unknown = sorted(
        str(k)
        for k, d in by_key.items()
        if not d["vm_disk"].get("is_vm_home") and k not in {x.device_key for x in vm.disks}
    )
    if unknown:
        raise SimError(400, "INVALID_DISK", f"VM {vm.name} has no disk {', '.join(unknown)}")
    home_spec = next((d for d in spec["disks"] if d["vm_disk"].get("is_vm_home")), None)
    home_ds = (home_spec or spec["disks"][0])["destination_datastore_id"]
    if home_ds not in target_site.datastores:
        raise SimError(400, "INVALID_DATASTORE", f"datastore {home_ds} is not at site {target}")
    disks = []
    used: set[tuple[str, str]] = set()
    for disk in vm.disks:
        given = by_key.get(disk.device_key)
        if given is None or not given.get("enabled_for_replication", True):
            continue
        ds_id = given["destination_datastore_id"]
        if ds_id not in target_site.datastores:
            raise SimError(400, "INVALID_DATASTORE", f"datastore {ds_id} is not at site {target}")
        seeds = bool(given.get("use_seeds"))
        if seeds and not given.get("destination_path"):
            raise SimError(400, "INVALID_SPEC", "use_seeds requires destination_path")
        filename = given.get("destination_path") if seeds else disk.filename
        ds = target_site.datastores[ds_id]
        replica = ds.directory / filename
        if seeds:
            replication_seeds.check_seed(
                vm, disk, source_ds.directory / disk.filename, target_site, ds, filename, index, used
            )
        elif replica.exists() or effects.flat_file(replica).exists():
            # vSphere Replication admin guide, "Replicating Virtual Machines Using Replication Seeds": "If a
            # file with the same name exists, vSphere Replication prompts you with a warning and offers you the
            # option to use the existing disk file as a seed [...]. If you do not accept the prompt, you must
            # change the target location for your replication." Never overwrite it: that VM is not configured.
            raise SimError(
                400,
                "FILE_ALREADY_EXISTS",
                f"[{target_site.datastores[ds_id].name}] {filename} already exists; use it as a seed "
                "(use_seeds, destination_path) or choose another target location",
            )
        disks.append(ReplicaDisk(device_key=disk.device_key, datastore_id=ds_id, filename=filename, use_seeds=seeds))
    return SimReplication(
        id=f"GID-{uuid.uuid4()}",
        vm_id=vm.id,
        name=vm.name,
        source_site=vm.site,
        target_site=target,
        home_datastore_id=home_ds,
        disks=disks,
        status="FULL_SYNC" if any(d.use_seeds for d in disks) else "INITIAL_FULL_SYNC",
        **options(spec),
    )


def options(spec: dict[str, Any]) -> dict[str, Any]:
    """The replication's settings from a (Re)ConfigureReplicationSpec, every one kept: VR reports each back in
    ReplicationInfo (quiescing_enabled, network_compression_enabled, encryption_enabled,
    auto_replicate_new_disks_enabled, mpit_enabled/instances/days, vm_data_sets_replication_enabled). The
    route checks the spec's required keys; srmsim's own seeding and reprotect may leave the optional ones out."""
    mpit = bool(spec.get("mpit_enabled"))
    if mpit and not (spec.get("mpit_instances") and spec.get("mpit_days")):
        # The spec's mpit_instances ("instances per day") and mpit_days ("days to retain instances for") are
        # what point-in-time recovery keeps: enabled without them there is nothing to keep.
        raise SimError(400, "INVALID_SPEC", "mpit_enabled requires mpit_instances and mpit_days")
    return {
        "rpo": int(spec["rpo"]),
        "quiesce": bool(spec.get("quiesce_enabled")),
        "compression": bool(spec.get("network_compression_enabled")),
        "encryption": bool(spec.get("lwd_encryption_enabled")),
        "auto_replicate_new_disks": bool(spec.get("auto_replicate_new_disks", True)),
        "mpit_enabled": mpit,
        "mpit_instances": spec.get("mpit_instances") if mpit else None,
        "mpit_days": spec.get("mpit_days") if mpit else None,
        "vm_data_sets": spec.get("vm_data_sets_replication_enabled"),
    }


def settings_spec(r: SimReplication) -> dict[str, Any]:
    """The spec keys that configure a replication like ``r`` (the inverse of :func:`options`)."""
    spec = {
        "rpo": r.rpo,
        "quiesce_enabled": r.quiesce,
        "network_compression_enabled": r.compression,
        "lwd_encryption_enabled": r.encryption,
        "auto_replicate_new_disks": r.auto_replicate_new_disks,
        "mpit_enabled": r.mpit_enabled,
        "mpit_instances": r.mpit_instances,
        "mpit_days": r.mpit_days,
    }
    if r.vm_data_sets is not None:
        spec["vm_data_sets_replication_enabled"] = r.vm_data_sets
    return spec


def _initial_sync(ctx: TaskContext, replication: SimReplication) -> dict[str, str]:
    """The configure task ends once the replication is configured; the initial full sync runs after it, as
    VR reports it (status INITIAL_FULL_SYNC, or FULL_SYNC with seeds, then OK): a worker that no API lists.
    A powered-off source VM's sync waits until the VM is powered on (VR admin guide, "Replicating Virtual
    Machines"; :func:`srmctl.srmsim.replication_sync.reported_status`)."""
    world = ctx.world
    with world.lock:
        replication.configuration_state = "OK"
        deferred = replication_sync.source_powered_off(world, replication)
        replication.awaiting_power_on = deferred
    effects.footprint(world, replication, active=True)
    if not deferred:
        replication_sync.start_sync_worker(world, ctx.task.site, replication, "Initial sync")
    return {"id": replication.id}


def remove(world: World, site: str, replication_id: str, retain_replica_disks: bool, action: str) -> SimTask:
    with world.lock:
        replication = world.replication(replication_id)

        def work(ctx: TaskContext) -> None:
            ctx.pause()
            effects.footprint(world, replication, active=False)
            with world.lock:
                if not retain_replica_disks:
                    target = world.site(replication.target_site)
                    for disk in replication.disks:
                        replica = target.datastores[disk.datastore_id].directory / disk.filename
                        for part in (replica, effects.flat_file(replica)):
                            part.unlink(missing_ok=True)
                world.replications.pop(replication.id, None)

        return world.start_task(
            site,
            "vr",
            f"{action} replication of {replication.name}",
            replication.vm_id,
            replication.name,
            work,
            kind="vr.unconfigure",
        )


def reconfigure(world: World, site: str, replication_id: str, spec: dict[str, Any]) -> SimTask:
    with world.lock:
        replication = world.replication(replication_id)
        if not 5 <= int(spec["rpo"]) <= 1440:
            raise SimError(400, "INVALID_RPO", "rpo must be between 5 and 1440 minutes")
        for key, value in options(spec).items():
            setattr(replication, key, value)
        replication.generation += 1
        return world.start_task(
            site,
            "vr",
            f"Reconfigure replication of {replication.name}",
            replication.vm_id,
            replication.name,
            lambda ctx: effects.footprint(world, replication, active=True),
            kind="vr.reconfigure",
        )
