"""Waiting for vSphere Replication to sync the reversed replications: which statuses mean still syncing or
failed, progress events while it copies, and what the seeds saved, for replication.reverse."""

from __future__ import annotations

import time

from srmctl.adapters.dr.models import Replication, ReplicationStatus, VrVm
from srmctl.errors import StepFailed
from srmctl.steps.context import Sides, StepContext
from srmctl.steps.dr_state import replications_from
from srmctl.steps.seeds import data_disks

#: Statuses of a replication that is still copying or comparing: wait for it, do not configure again.
#: A (checksum) full sync of large disks routinely runs past the RPO, and VR then reports the sync's
#: RPO-violation state (vSphere Replication admin guide, "Replication States": FullSync(RPO violation),
#: Sync(RPO violation) are warnings, not errors): progress, shown as such, never a failure.
SYNCING = frozenset(
    {
        ReplicationStatus.FULL_SYNC,
        ReplicationStatus.INITIAL_FULL_SYNC,
        ReplicationStatus.SYNC,
        ReplicationStatus.CONFIGURING,
        ReplicationStatus.FULL_SYNC_RPO_VIOLATION,
        ReplicationStatus.SYNC_RPO_VIOLATION,
        ReplicationStatus.DISK_RESIZING,
    }
)
#: Statuses that end a sync wait at once: the replication failed (the admin guide's "Error" states).
FAILED = frozenset({ReplicationStatus.ERROR, ReplicationStatus.ERROR_RPO_VIOLATION})
SYNC_TIMEOUT = 24 * 3600.0  # a first full sync over a WAN can take many hours


def state_of(replication: Replication) -> object:
    return replication.status.status if replication.status is not None else None


def is_syncing(replication: Replication) -> bool:
    return state_of(replication) in SYNCING


def wait_for_sync(ctx: StepContext, s: Sides, names: list[str]) -> dict[str, Replication]:
    """Poll the replications (one listing per round) until none of ``names`` is still syncing; emit progress
    at every 10 % and at every change of state (an RPO violation while a full sync runs is shown, and waited
    out). Fails at once when one is in an error state, or after :data:`SYNC_TIMEOUT`."""
    deadline = time.monotonic() + SYNC_TIMEOUT
    reported: dict[str, tuple[int, str | None]] = {}
    while True:
        current = replications_from(ctx, s.running_guid)
        missing = [n for n in names if n not in current]
        if missing:
            raise StepFailed(f"replication of {', '.join(missing)} disappeared while waiting for sync")
        for name in names:
            replication = current[name]
            progress = replication.sync_progress
            percent = progress.progress if progress and progress.progress is not None else 0
            last = reported.get(name)
            if last is None or percent // 10 != last[0] // 10 or replication.state != last[1]:
                reported[name] = (percent, replication.state)
                event: dict[str, object] = {"vm": name, "status": replication.state, "percent": percent}
                if replication.status is not None and replication.status.rpo_violation:
                    event["rpo_violation_minutes"] = replication.current_rpo_violation or 0
                ctx.progress(event)
        failed = [f"{n}: {current[n].state}" for n in names if state_of(current[n]) in FAILED]
        if failed:
            raise StepFailed(f"replication failed while syncing: {'; '.join(failed)}")
        syncing = [n for n in names if is_syncing(current[n])]
        if not syncing:
            errors = [f"{n}: {current[n].state}" for n in names if current[n].state != ReplicationStatus.OK]
            if errors:
                raise StepFailed(f"replication not OK after sync: {'; '.join(errors)}")
            return current
        if time.monotonic() > deadline:
            raise StepFailed(
                f"still syncing after {SYNC_TIMEOUT:.0f}s: " + ", ".join(f"{n} ({current[n].state})" for n in syncing)
            )
        time.sleep(s.dr.srm.poll_interval)


def record_bytes(ctx: StepContext, replication: Replication, vm: VrVm) -> None:
    """Journal what the seeds saved: bytes transferred and checksummed versus a full copy of the disks."""
    progress = replication.sync_progress
    full = sum((d.capacity or 0) * 1024 for d in data_disks(vm))  # VR reports capacity in KB
    ctx.record(
        "replication_bytes",
        {
            "vm": vm.name,
            "replication_id": replication.id,
            "full_bytes": full,
            "transferred_bytes": (progress.transferred_current or 0) if progress else 0,
            "checksummed_bytes": (progress.checksum_current or 0) if progress else 0,
        },
    )
