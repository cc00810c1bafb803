"""vSphere Replication behaviour: configure (with seeds), sync that really copies the VM's files between
the two sites' datastore directories block by block, unconfigure/delete keeping replica disks, pause/resume.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from srmctl.srmsim import effects
from srmctl.srmsim.model import (
    BLOCK,
    ReplicaDisk,
    SimError,
    SimReplication,
    SimTask,
    SimVm,
    SyncProfile,
    now_ms,
)
from srmctl.srmsim.world import TaskContext, World


def configure(world: World, site: str, specs: list[dict[str, Any]]) -> list[SimTask]:
    """``POST /pairings/{pid}/replications`` (on the VR of the VM's site): one task per VM. Every spec is
    checked before any replication is configured: a refused request changes nothing."""
    with world.lock:
        replications: list[SimReplication] = []
        for spec in specs:
            vm = world.find_vm(spec["vm_id"])
            target = world.site_of_vc(spec["target_vc_id"])
            if vm.site == target.name:
                raise SimError(400, "INVALID_TARGET", "target vCenter is the VM's own vCenter")
            if not 5 <= int(spec["rpo"]) <= 1440:
                raise SimError(400, "INVALID_RPO", "rpo must be between 5 and 1440 minutes")
            existing = world.replication_of_vm(vm.id)
            if existing is not None or any(r.vm_id == vm.id for r in replications):
                raise SimError(
                    400,
                    "ALREADY_CONFIGURED",
                    f"VM {vm.name} is already replicated" + (f" ({existing.id})" if existing else ""),
                )
            world.require_up(target.name)
            replications.append(new_replication(world, vm, target.name, spec))
        tasks = []
        for replication in replications:
            world.replications[replication.id] = replication
            tasks.append(
                world.start_task(
                    site,
                    "vr",
                    f"Configure replication for {replication.name}",
                    replication.vm_id,
                    replication.name,
                    functools.partial(_initial_sync, replication=replication),
                    on_error=functools.partial(_mark_error, replication),
                    kind="vr.configure",
                )
            )
    return tasks


def new_replication(world: World, vm: SimVm, target: str, spec: dict[str, Any]) -> SimReplication:
    target_site = world.site(target)
    by_key = {d["vm_disk"].get("device_key"): d for d in spec["disks"]}
    home_spec = next((d for d in spec["disks"] if d["vm_disk"].get("is_vm_home")), None)
    home_ds = (home_spec or spec["disks"][0])["destination_datastore_id"]
    if home_ds not in target_site.datastores:
        raise SimError(400, "INVALID_DATASTORE", f"datastore {home_ds} is not at site {target}")
    disks = []
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
        replica = target_site.datastores[ds_id].directory / filename
        if seeds and not replica.is_file():
            raise SimError(400, "SEED_NOT_FOUND", f"no seed at [{target_site.datastores[ds_id].name}] {filename}")
        if not seeds and (replica.exists() or effects.flat_file(replica).exists()):
            # vSphere Replication admin guide, "Replicating Virtual Machines Using Replication Seeds": "If a
            # file with the same name exists, vSphere Replication prompts you with a warning and offers you the
            # option to use the existing disk file as a seed [...]. If you do not accept the prompt, you must
            # change the target location for your replication." Never overwrite it: answered as the VR spec's
            # 400 ("invalid request body content"), nothing configured.
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


def _mark_error(replication: SimReplication, message: str) -> None:
    replication.status, replication.configuration_state = "ERROR", "ERROR"


def _initial_sync(ctx: TaskContext, replication: SimReplication) -> dict[str, str]:
    """The configure task ends once the replication is configured; the initial full sync runs after it, as
    VR reports it (status INITIAL_FULL_SYNC, or FULL_SYNC with seeds, then OK): a worker that no API lists."""
    with ctx.world.lock:
        replication.configuration_state = "OK"
    effects.footprint(ctx.world, replication, active=True)
    ctx.world.start_task(
        ctx.task.site,
        "vr-sync",
        f"Initial sync of {replication.name}",
        replication.vm_id,
        replication.name,
        functools.partial(_sync_task, replication=replication),
        on_error=functools.partial(_mark_error, replication),
    )
    return {"id": replication.id}


def _sync_task(ctx: TaskContext, replication: SimReplication) -> None:
    sync(ctx, replication)


#: Replications that do not sync: paused by a user, not active, or taken over by a recovery.
INACTIVE = frozenset({"PAUSED", "NOT_ACTIVE", "RECOVERING", "RECOVERED"})
#: The state of a sync that runs past the RPO. The VR spec's CompoundReplicationStatus has no
#: INITIAL_FULL_SYNC_RPO_VIOLATION: before the first instance exists there is no RPO to violate.
_VIOLATION = {"FULL_SYNC": "FULL_SYNC_RPO_VIOLATION", "SYNC": "SYNC_RPO_VIOLATION"}


def sync(ctx: TaskContext, replication: SimReplication, *, paced: bool = True) -> float:
    """Copy the VM's home files and disks to the target datastore. Disks with a seed are compared block
    by block (``checksum_*``) and only differing blocks are written (``transferred_*``).

    While it copies, the replication reports its sync state: INITIAL_FULL_SYNC or FULL_SYNC (seeds: a checksum
    comparison) when configured, SYNC for a later sync. vSphere Replication admin guide, "Replication
    States": FullSync(RPO violation) and Sync(RPO violation) are warnings while "FullSync, Sync, Initial Full
    Sync" are in progress; "How the RPO Value Affects Replication Scheduling": a transfer that takes longer
    than the RPO encounters RPO violations. So a sync whose (simulated) duration passes the RPO reports
    FULL_SYNC_RPO_VIOLATION / SYNC_RPO_VIOLATION until it completes, then OK. A sync lasts as long as the
    VM's :class:`~srmctl.srmsim.model.SyncProfile` says (``POST /srmsim/sync-profiles``), else no time.

    Under a latency profile (srmsim/latency.py) a sync also takes the time its bytes cost; ``paced``: this
    task waits for it before the sync completes. Returns that time, so that a plan run syncing many VMs
    together (``paced=False``) waits once for the longest of them: VR syncs replications in parallel."""
    world = ctx.world
    with world.lock:
        if replication.status not in INACTIVE and replication.status not in ("INITIAL_FULL_SYNC", "FULL_SYNC"):
            replication.status = "SYNC"
        phase = replication.status
        profile = world.sync_profiles.get(replication.name)
        vm = world.find_vm(replication.vm_id)
        source = world.site(replication.source_site)
        target = world.site(replication.target_site)
        src_ds = source.datastores[vm.datastore_id]
        home_dir = target.datastores[replication.home_datastore_id].directory / vm.home
        pairs = [
            _extents(src_ds.directory / d.filename, target.datastores[r.datastore_id].directory / r.filename)
            + (r.use_seeds,)
            for d in vm.disks
            for r in replication.disks
            if r.device_key == d.device_key
        ]
        total = sum(src.stat().st_size for src, _, _ in pairs)
        checksum_total = sum(src.stat().st_size for src, _, seeded in pairs if seeded)
        replication.sync = {
            "progress": 0,
            "checksum_current": 0,
            "checksum_total": checksum_total,
            "transferred_current": 0,
            "transferred_total": total - checksum_total,
        }
    if vm.moref and vm.registered:
        # What the replicated .vmx carries (vcsim's .vmx files are empty): re-applied when the replica registers.
        config = world.mirror.vm_config(vm.site, vm.moref)
        with world.lock:
            replication.vmx_config = config
    home_dir.mkdir(parents=True, exist_ok=True)
    for item in (src_ds.directory / vm.home).iterdir():
        if item.is_file() and not item.name.endswith(".vmdk"):
            shutil.copyfile(item, home_dir / item.name)
    for src, dst, _ in pairs:
        _copy_descriptor(src, dst)
    done, started = 0, time.monotonic()
    for src, dst, seeded in pairs:
        for copied, compared in _copy_blocks(src, dst, seeded):
            with world.lock:
                sync_state = replication.sync
                sync_state["transferred_current"] += copied
                if seeded:
                    sync_state["checksum_current"] += compared
                    if copied:
                        sync_state["transferred_total"] += copied
                done += compared
                sync_state["progress"] = int(100 * done / total) if total else 100
                ctx.task.progress = min(99, sync_state["progress"])
            ctx.pause(0.25)
            if profile is not None:
                _pace(replication, profile, phase, done / total if total else 1.0, started, world)
    with world.lock:
        moved, compared = replication.sync["transferred_current"], replication.sync["checksum_current"]
    seconds = world.latency.sync_seconds(moved, compared)
    if paced:
        ctx.extend(seconds)
        ctx.hold()
    with world.lock:
        replication.sync["progress"] = 100
        replication.last_sync_time = now_ms()
        replication.rpo_violation_minutes = 0
        if replication.status not in INACTIVE:
            replication.status = "OK"
        replication.totals = {
            "full": total,
            "transferred": replication.sync["transferred_current"],
            "checksummed": replication.sync["checksum_current"],
        }
    effects.event(
        world,
        replication,
        f"sync of {replication.name} to {replication.target_site} completed: "
        f"{replication.totals['transferred']} of {total} bytes transferred",
    )
    return seconds


def _pace(
    replication: SimReplication, profile: SyncProfile, phase: str, fraction: float, started: float, world: World
) -> None:
    """Stretch a sync over its profile's real seconds, and report the RPO violation once the simulated time
    spent passes the RPO."""
    wait = started + profile.seconds * fraction - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    elapsed = profile.minutes * fraction
    with world.lock:
        if elapsed > replication.rpo and phase in _VIOLATION and replication.status == phase:
            replication.status = _VIOLATION[phase]
        if replication.status.endswith("_RPO_VIOLATION"):
            replication.rpo_violation_minutes = int(elapsed - replication.rpo)


def mark_recovery(world: World, vm_ids: list[str], status: str) -> None:
    """SRM recovers the VMs: their replications report RECOVERING, then RECOVERED (the VR spec's
    CompoundReplicationStatus; vSphere Replication admin guide, "Replication States": "Recovered"). "After a
    successful recovery, vSphere Replication disables the virtual machine for replication"; the replication
    goes away once its source VM leaves the inventory (:meth:`World.drop_unconfigured`)."""
    with world.lock:
        for vm_id in vm_ids:
            replication = world.replication_of_vm(vm_id)
            if replication is not None:
                replication.status = status
                replication.recovered = status == "RECOVERED"
        world.drop_unconfigured()


def refresh_recovered(world: World, replication_id: str | None = None) -> None:
    """Re-read the inventory of the sites whose VMs a recovery took over, so that a recovered replication
    whose source VM was unregistered in vCenter (by srmctl, not through srmsim) is gone from the listing; a call
    naming one replication re-reads that one's VM only (all of them per call made a 1,000-VM read quadratic).
    In memory (no vCenter) srmsim's own state is the inventory, and there is nothing to re-read."""
    if not world.mirror.enabled:
        return
    with world.lock:
        watched: dict[str, set[str]] = {}  # site -> MoRefs of the registered source VMs of recovered replications
        named = world.replications.get(replication_id or "")
        candidates = list(world.replications.values()) if replication_id is None else [named] if named else []
        for r in candidates:
            vm = world.sites[r.source_site].vms.get(r.vm_id) if r.recovered else None
            if vm is not None and vm.registered and vm.moref:
                watched.setdefault(r.source_site, set()).add(vm.moref)
    for site, morefs in sorted(watched.items()):
        world.refresh(site, morefs)
    with world.lock:
        world.drop_unconfigured()  # also those whose source VM srmsim itself already knew unregistered


def _extents(src: Path, dst: Path) -> tuple[Path, Path]:
    """The files that hold a disk's bytes: the ``-flat.vmdk`` beside a descriptor (the lab's vcsim disks), or
    the ``.vmdk`` itself (the in-memory simulator writes plain files)."""
    flat = effects.flat_file(src)
    return (flat, effects.flat_file(dst)) if flat.is_file() else (src, dst)


def _copy_descriptor(src_data: Path, dst_data: Path) -> None:
    """Copy a flat disk's descriptor, pointing it at the target's flat file (a seed may have another name)."""
    src = src_data.with_name(src_data.name.replace("-flat.vmdk", ".vmdk"))
    if src == src_data:
        return
    dst = dst_data.with_name(dst_data.name.replace("-flat.vmdk", ".vmdk"))
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(src.read_text().replace(f'"{src_data.name}"', f'"{dst_data.name}"'))


def _copy_blocks(src: Path, dst: Path, seeded: bool) -> Any:
    """Yield (bytes written, bytes examined) per chunk of blocks."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.exists() or not seeded:
        dst.write_bytes(b"")
    size = src.stat().st_size
    chunk = max(BLOCK, size // 8 or BLOCK)
    with src.open("rb") as fin, dst.open("r+b") as fout:
        offset = 0
        while offset < size:
            data = fin.read(chunk)
            written = 0
            for start in range(0, len(data), BLOCK):
                block = data[start : start + BLOCK]
                fout.seek(offset + start)
                old = fout.read(len(block)) if seeded else b""
                if not seeded or hashlib.sha256(old).digest() != hashlib.sha256(block).digest():
                    fout.seek(offset + start)
                    fout.write(block)
                    written += len(block)
            offset += len(data)
            yield written, len(data)
        fout.truncate(size)


def find_seeds(world: World, datastore_id: str, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with world.lock:
        for site in world.sites.values():
            if datastore_id in site.datastores:
                ds = site.datastores[datastore_id]
                break
        else:
            raise SimError(404, "NOT_FOUND", f"datastore {datastore_id}")
        out = []
        for spec in specs:
            path = spec.get("destination_path") or ""
            found = [path] if path and (ds.directory / path).is_file() else []
            out.append(
                {
                    "vm_disk": {"vm_id": spec["vm_disk"]["vm_id"], "device_key": spec["vm_disk"].get("device_key")},
                    "found_seeds": found,
                }
            )
        return out


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


def set_paused(world: World, site: str, replication_id: str, paused: bool) -> SimTask:
    with world.lock:
        replication = world.replication(replication_id)
        if replication.status in ("RECOVERING", "RECOVERED"):
            raise SimError(400, "INVALID_STATE", f"replication is {replication.status}")

        def work(ctx: TaskContext) -> None:
            with world.lock:
                if paused:
                    replication.status = "PAUSED"
                elif replication.status == "PAUSED":
                    replication.status = "OK"

        return world.start_task(
            site,
            "vr",
            f"{'Pause' if paused else 'Resume'} replication of {replication.name}",
            replication.vm_id,
            replication.name,
            work,
            kind="vr.pause" if paused else "vr.resume",
        )


def sync_now(world: World, site: str, replication_id: str) -> SimTask:
    with world.lock:
        replication = world.replication(replication_id)
        if replication.status in INACTIVE:
            raise SimError(400, "INVALID_STATE", f"replication is {replication.status}")
        return world.start_task(
            site,
            "vr",
            f"Sync replication of {replication.name}",
            replication.vm_id,
            replication.name,
            functools.partial(_sync_task, replication=replication),
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
