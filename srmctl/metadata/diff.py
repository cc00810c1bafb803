"""Structural difference between two plan-metadata snapshots (or a snapshot and the live plan)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from srmctl.metadata.snapshot import Snapshot

_MISSING = object()


@dataclass(frozen=True)
class Change:
    path: str  # e.g. "vms.mail04.pre_power_on[0].timeout"
    before: Any  # None when added
    after: Any  # None when removed
    kind: str  # changed | added | removed

    def __str__(self) -> str:
        if self.kind == "added":
            return f"{self.path}: added {self.after!r}"
        if self.kind == "removed":
            return f"{self.path}: removed (was {self.before!r})"
        return f"{self.path}: {self.before!r} → {self.after!r}"


def diff_snapshots(expected: Snapshot, actual: Snapshot, *, groups: bool = True) -> tuple[Change, ...]:
    """Every difference in plan metadata, ignoring when/where each snapshot was taken. IP settings are
    compared per site: a plan whose direction flipped since ``expected`` was taken is compared in
    ``expected``'s direction (the flip itself is the plan steps' business, not metadata).

    ``groups``: also compare the protection groups (names, type, description, VMs, plans) when both
    snapshots record them (see :func:`not_compared` for what an older snapshot leaves out)."""
    if actual.direction == expected.direction[::-1]:
        actual = actual.oriented(expected.direction)
    both = groups and expected.groups is not None and actual.groups is not None
    replication = expected.replication is not None and actual.replication is not None
    left = expected.content(groups=both, replication=replication)
    right = actual.content(groups=both, replication=replication)
    for view in set(left.get("steps", {})) & set(right.get("steps", {})):
        _placement(left["steps"][view], right["steps"][view])
    return tuple(_diff(left, right, ""))


def not_compared(expected: Snapshot) -> tuple[str, ...]:
    """What :func:`diff_snapshots` cannot compare against a live capture (which records everything), one
    sentence each for the operator: a snapshot file taken before srmctl recorded protection groups or
    replication settings."""
    notes = []
    if expected.groups is None:
        notes.append(
            "protection groups not compared: the snapshot file records no group structure (taken by an "
            "srmctl that did not record groups yet); export a new snapshot to compare group names and VMs"
        )
    if expected.replication is None:
        notes.append(
            "replication settings not compared: the snapshot file records none (taken by an srmctl that "
            "did not record them yet); export a new snapshot to compare each VM's RPO and options"
        )
    return tuple(notes)


def _placement(left: list[dict[str, Any]], right: list[dict[str, Any]]) -> None:
    """Custom steps are compared by the built-in step they follow when both sides record it (the index differs
    between views and directions), else by index (snapshots from before ``after`` existed)."""
    by_anchor = all(s.get("after") is not None for s in (*left, *right))
    for step in (*left, *right):
        step.pop("position" if by_anchor else "after", None)


def _diff(a: Any, b: Any, path: str) -> list[Change]:
    if isinstance(a, dict) and isinstance(b, dict):
        changes = []
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{key}" if path else str(key)
            left, right = a.get(key, _MISSING), b.get(key, _MISSING)
            if left is _MISSING:
                changes.append(Change(sub, None, right, "added"))
            elif right is _MISSING:
                changes.append(Change(sub, left, None, "removed"))
            else:
                changes += _diff(left, right, sub)
        return changes
    if isinstance(a, list) and isinstance(b, list):
        changes = []
        for index in range(max(len(a), len(b))):
            sub = f"{path}[{index}]"
            if index >= len(a):
                changes.append(Change(sub, None, b[index], "added"))
            elif index >= len(b):
                changes.append(Change(sub, a[index], None, "removed"))
            else:
                changes += _diff(a[index], b[index], sub)
        return changes
    return [] if a == b else [Change(path, a, b, "changed")]


#: srm-api-v2, RecoveryPlanInfo.status: "SYNC_CONFLICT - Changes have been made to this plan at both sites.
#: Review the current settings by editing the plan to correct the problem."
SYNC_CONFLICT = "SYNC_CONFLICT"


def sync_conflict(status: str | None) -> tuple[Change, ...]:
    """A plan SRM reports in SYNC_CONFLICT differs from any snapshot, whatever its settings read now: SRM
    holds two versions until an edit resolves it (``snapshot restore`` writes the snapshot's settings)."""
    if status != SYNC_CONFLICT:
        return ()
    return (Change("plan.status", None, "SYNC_CONFLICT: changes were made to the plan at both sites", "added"),)
