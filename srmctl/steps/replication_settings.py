"""Which replication settings ``replication.reverse`` gives each VM (in both directions).

Every VM keeps the settings its replication had before the failback: ``metadata.snapshot`` records them (RPO,
quiescing, compression, encryption, point-in-time instances, new-disk auto-replication, target datastore per
disk) before any replication is removed, and both directions configure each VM with its own again. The
runbook's ``replication:`` values are the defaults for a VM with no recorded settings; with ``override: true``
its rpo, quiesce and network_compression apply to every VM (docs/runbook.md, "replication").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from srmctl.adapters.dr.models import Replication
from srmctl.metadata.replication import VmReplication, capture_replications
from srmctl.steps.context import StepContext
from srmctl.steps.metadata import run_snapshot_path, saved_snapshot

RECORDED, DEFAULT, OVERRIDE = "recorded", "runbook default", "runbook override"


@dataclass(frozen=True)
class Chosen:
    """A VM's settings for the replication to configure, where they come from, and (override) what changes
    against the recorded ones (``field: recorded → runbook``)."""

    settings: VmReplication
    source: str
    changes: tuple[str, ...] = ()

    def details(self, target_guid: str) -> dict[str, Any]:
        """The plan action's details: every setting, its source and changes, the per-disk targets used."""
        s = self.settings
        out: dict[str, Any] = {
            "rpo": s.rpo,
            "quiesce": s.quiesce,
            "network_compression": s.network_compression,
            "encryption": s.encryption,
            "auto_replicate_new_disks": s.auto_replicate_new_disks,
            "mpit": f"{s.mpit.instances}/day for {s.mpit.days} days" if s.mpit else "off",
            "settings_from": self.source,
            "settings": f"{s.summary()} ({self.source})",
        }
        if s.vm_data_sets is not None:
            out["vm_data_sets"] = s.vm_data_sets
        if self.changes:
            out["changes"] = list(self.changes)
        targets = disk_targets(s, target_guid)
        if targets:
            out["disk_targets"] = [f"{key}: {name}" for key, name in sorted(targets.items())]
        return out


def recorded(ctx: StepContext, names: Iterable[str]) -> dict[str, VmReplication]:
    """Each VM's recorded settings: the run's snapshot, else the runbook's snapshot file; before the run took
    its snapshot (a dry run) also what VR reports now, which is what ``metadata.snapshot`` will record. Without
    the disks' targets there: they belong to the replication's own direction, not to the one configured now
    (:func:`disk_targets`), and would cost a GET per VM."""
    snapshot = saved_snapshot(ctx)
    found = dict(snapshot.replication or {}) if snapshot is not None else {}
    path = run_snapshot_path(ctx)
    if path is None or not Path(path).is_file():
        for name, live in capture_replications(ctx.sides.dr.vr, names, ctx.sides.home_guid, disks=False).items():
            kept = found.get(name)
            same = kept is not None and kept.target_vcenter == live.target_vcenter
            found[name] = live.model_copy(update={"disks": kept.disks}) if kept is not None and same else live
    return found


def choose(ctx: StepContext, names: Iterable[str]) -> tuple[dict[str, Chosen], dict[str, str]]:
    """The settings of each VM of ``names``, and a problem for each VM that has none."""
    names = list(names)
    rb = ctx.runbook.replication
    have = recorded(ctx, names)
    chosen: dict[str, Chosen] = {}
    problems: dict[str, str] = {}
    for name in names:
        mine = have.get(name)
        if rb.rpo_minutes is None:
            if mine is None:
                problems[name] = (
                    f"{name}: no replication settings recorded for it (metadata snapshot) and the "
                    "runbook sets no replication.rpo to use instead"
                )
            else:
                chosen[name] = Chosen(mine, RECORDED)
            continue
        runbook: dict[str, Any] = {
            "rpo": rb.rpo_minutes,
            "quiesce": rb.quiesce,
            "network_compression": rb.network_compression,
        }
        if mine is None:
            chosen[name] = Chosen(VmReplication(**runbook), DEFAULT)
        elif rb.override:
            changes = tuple(
                f"{key}: {getattr(mine, key)} → {value}"
                for key, value in runbook.items()
                if getattr(mine, key) != value
            )
            chosen[name] = Chosen(mine.model_copy(update=runbook), OVERRIDE, changes)
        else:
            chosen[name] = Chosen(mine, RECORDED)
    return chosen, problems


def disk_targets(settings: VmReplication, target_guid: str) -> dict[int, str]:
    """Device key → the datastore (name) a disk replicated to when recorded, for a replication to the same
    vCenter (``target_guid``) only: the other direction's datastores are another site's."""
    if settings.target_vcenter != target_guid:
        return {}
    return {d.device_key: d.datastore for d in settings.disks}


def spec_options(settings: VmReplication) -> dict[str, Any]:
    """The VR ConfigureReplicationSpec fields for ``settings`` (the spec's names)."""
    return {
        "rpo": settings.rpo,
        "quiesce_enabled": settings.quiesce,
        "network_compression_enabled": settings.network_compression,
        "lwd_encryption_enabled": settings.encryption,
        "auto_replicate_new_disks": settings.auto_replicate_new_disks,
        "mpit_enabled": settings.mpit is not None,
        "mpit_instances": settings.mpit.instances if settings.mpit else None,
        "mpit_days": settings.mpit.days if settings.mpit else None,
        "vm_data_sets_replication_enabled": settings.vm_data_sets,
    }


def differences(name: str, replication: Replication, wanted: VmReplication) -> list[str]:
    """How a live replication differs from the settings it should have (a setting VR does not report: not
    compared)."""
    enabled = replication.mpit_enabled
    mpit = {"instances": replication.mpit_instances, "days": replication.mpit_days} if enabled else None
    live: Mapping[str, Any] = {
        "rpo": replication.rpo,
        "quiesce": replication.quiescing_enabled,
        "network_compression": replication.network_compression_enabled,
        "encryption": replication.encryption_enabled,
        "auto_replicate_new_disks": replication.auto_replicate_new_disks_enabled,
        "mpit": mpit,
        "vm_data_sets": replication.vm_data_sets_replication_enabled,
    }
    reported = {key for key, value in live.items() if value is not None} | ({"mpit"} if enabled is not None else set())
    want = wanted.settings()
    return [
        f"replication of {name} has {key}={live[key]!r}, it should have {want[key]!r}"
        for key in sorted(reported)
        if live[key] != want[key] and (want[key] is not None or key == "mpit")
    ]
