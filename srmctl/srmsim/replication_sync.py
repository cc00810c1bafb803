"""vSphere Replication's sync and state: the sync that really copies a VM's files between the two sites'
datastore directories block by block, the states a replication reports while it syncs or cannot (NOT_ACTIVE,
PAUSED, RPO violations, RECOVERING/RECOVERED), pause/resume/sync-now, and the syncs a recovery plan runs.

Configuring and removing replications is :mod:`srmctl.srmsim.replication`; seeds :mod:`srmctl.srmsim.replication_seeds`.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import time
from pathlib import Path
from typing import Any

from srmctl.srmsim import effects
from srmctl.srmsim.model import BLOCK, SimError, SimReplication, SimTask, SyncProfile, now_ms
from srmctl.srmsim.world import Failed, TaskContext, World

#: Replications that do not sync: paused by a user, not active, or taken over by a recovery.
INACTIVE = frozenset({"PAUSED", "NOT_ACTIVE", "RECOVERING", "RECOVERED"})
#: ... nor one in ERROR: a sync never turns a failed replication into OK (issue #21, point 3).
_NO_SYNC = INACTIVE | {"ERROR"}
#: The state of a sync that runs past the RPO. The VR spec's CompoundReplicationStatus has no
#: INITIAL_FULL_SYNC_RPO_VIOLATION: before the first instance exists there is no RPO to violate.
_VIOLATION = {"FULL_SYNC": "FULL_SYNC_RPO_VIOLATION", "SYNC": "SYNC_RPO_VIOLATION"}
#: The states of a replication that syncs, or would: a powered-off source turns them into NOT_ACTIVE.
_ACTIVE = frozenset(
    {"OK", "SYNC", "FULL_SYNC", "INITIAL_FULL_SYNC", "CONFIGURING", "SYNC_RPO_VIOLATION", "FULL_SYNC_RPO_VIOLATION"}
)
#: What a recovery plan's storage synchronisation refuses instead of recovering a stale or failed replica.
_PLAN_REFUSES = frozenset({"PAUSED", "NOT_ACTIVE", "ERROR"})


def source_powered_off(world: World, replication: SimReplication) -> bool:
    vm = world.sites[replication.source_site].vms.get(replication.vm_id)
    return vm is not None and vm.registered and vm.power_state != "POWERED_ON"


def reported_status(world: World, replication: SimReplication) -> str:
    """The ``status.status`` VR reports. vSphere Replication admin guide, "Replicating Virtual Machines": "You
    can configure replications for powered-off virtual machines, but the data synchronization begins when the
    virtual machine is powered on. While the source virtual machine is powered off, the replication appears in
    the Not active status." So a replication whose source VM is powered off reports NOT_ACTIVE whatever it
    would report while the VM runs (kept in ``status``: SRM's protection status of the VM reads that, and a
    powered-off VM is protected). A recovered replication reports what the recovery left (RECOVERED, or
    RPO_VIOLATION after a disaster): its source is no longer the live copy."""
    if replication.status in _ACTIVE and not replication.recovered and source_powered_off(world, replication):
        return "NOT_ACTIVE"
    return replication.status


def start_sync_worker(world: World, site: str, replication: SimReplication, description: str) -> SimTask:
    """The sync as a worker that no API lists (the configure task ended before it: VR reports the sync in
    the replication's state)."""
    return world.start_task(
        site,
        "vr-sync",
        f"{description} of {replication.name}",
        replication.vm_id,
        replication.name,
        functools.partial(_sync_task, replication=replication),
        on_error=functools.partial(mark_error, replication),
    )


def mark_error(replication: SimReplication, message: str) -> None:
    replication.status, replication.configuration_state = "ERROR", "ERROR"


def _sync_task(ctx: TaskContext, replication: SimReplication) -> None:
    sync(ctx, replication)


def start_deferred(world: World) -> None:
    """Start the initial sync of each replication configured while its source VM was powered off, once the
    VM runs: "the data synchronization begins when the virtual machine is powered on" (see
    :func:`reported_status`). Called after srmsim re-read those VMs' power states."""
    with world.lock:
        due = [
            r
            for r in world.replications.values()
            if r.awaiting_power_on and r.status in _ACTIVE and not source_powered_off(world, r)
        ]
        for r in due:
            r.awaiting_power_on = False
    for r in due:
        start_sync_worker(world, r.source_site, r, "Initial sync")


def sync_for_plan(world: World, ctx: TaskContext, replications: list[SimReplication]) -> None:
    """A recovery plan's "Synchronize storage" step (test, planned migration): every replication is synced, in
    parallel (the step waits for the longest). One that cannot give an up-to-date replica fails the step, and
    with it the run, instead of being skipped or healed: SRM API RecoverPlanSpec.planned_failover, "will
    attempt to restore the protection site to the original state if an error ... occurs before the storage
    steps"; SRM's planned-migration workflow, "If errors occur on the protected site, the planned migration
    operation stops so that you can resolve the errors and rerun the plan". A paused replication, one in
    ERROR, or one NOT_ACTIVE while its source VM runs, is such an error. A source VM that is powered off (SRM
    shuts the protected VMs down before the final synchronisation, and a VM may simply be off) is synced
    offline: its disks no longer change, so the sync gives the replica its last state."""
    with world.lock:
        refused = sorted(
            f"{r.name} is {r.status}"
            for r in replications
            if r.status in _PLAN_REFUSES or r.configuration_state == "ERROR"
        )
    if refused:
        raise Failed(f"cannot synchronize storage: the replication of {'; '.join(refused)}")
    seconds = world.parallel(lambda r: sync(ctx, r, paced=False), replications)
    ctx.spend(max(seconds, default=0.0))


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
        if replication.status not in _NO_SYNC and replication.status not in ("INITIAL_FULL_SYNC", "FULL_SYNC"):
            replication.status = "SYNC"
        replication.awaiting_power_on = False
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
        if replication.status not in _NO_SYNC:
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


def refresh_recovered(world: World, replication_id: str | None = None, *, all_sources: bool = False) -> None:
    """Re-read from vCenter what srmsim cannot see happen: registrations and power states of replications'
    source VMs (srmctl unregisters and powers VMs in vCenter, not through srmsim). A recovered replication
    whose source VM was unregistered is gone from the listing (:meth:`World.drop_unconfigured`); a source VM
    powered off reports NOT_ACTIVE, and one powered on again starts its deferred initial sync
    (:func:`reported_status`, :func:`start_deferred`).

    What is read: a call naming one replication, that one's source VM only (every VM per call made a 1,000-VM
    failback quadratic); a listing, the sources of recovered replications and those srmsim knows powered
    off, and with ``all_sources`` (the first page of a listing, once per listing, not once per page) every
    source VM: one PropertyCollector retrieval per site. In memory (no vCenter) srmsim's own state is the
    inventory, and there is nothing to re-read."""
    if not world.mirror.enabled:
        start_deferred(world)
        return
    with world.lock:
        watched: dict[str, set[str]] = {}  # site -> MoRefs of the registered source VMs to re-read
        named = world.replications.get(replication_id or "")
        candidates = list(world.replications.values()) if replication_id is None else [named] if named else []
        for r in candidates:
            wanted = replication_id is not None or all_sources or r.recovered or source_powered_off(world, r)
            vm = world.sites[r.source_site].vms.get(r.vm_id) if wanted else None
            if vm is not None and vm.registered and vm.moref:
                watched.setdefault(r.source_site, set()).add(vm.moref)
    for site, morefs in sorted(watched.items()):
        world.refresh(site, morefs)
    with world.lock:
        world.drop_unconfigured()  # also those whose source VM srmsim itself already knew unregistered
    start_deferred(world)


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
        # Nothing to sync from a replication that does not sync (NOT_ACTIVE: "the data synchronization begins
        # when the virtual machine is powered on"), nor from one in ERROR: refused, never healed.
        status = reported_status(world, replication)
        if status in _NO_SYNC:
            raise SimError(400, "INVALID_STATE", f"replication is {status}")
        return world.start_task(
            site,
            "vr",
            f"Sync replication of {replication.name}",
            replication.vm_id,
            replication.name,
            functools.partial(_sync_task, replication=replication),
        )
