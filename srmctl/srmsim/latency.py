"""How long srmsim's tasks take: a duration per operation kind, named profiles (see docs/architecture.md,
section 7, "Task latency").

``fast`` (the default, tests) adds nothing: tasks end after srmsim's tick, as before this model existed.
``realistic`` gives every task seconds, in the proportions an operator sees on SRM 8.x / vSphere
Replication 8.x, so a benchmark measures how well srmctl overlaps work, not poll intervals.

Where the proportions come from. Neither VMware document publishes per-operation durations, so the figures
below are estimates, kept in the proportions the product documentation implies:

- vSphere Replication admin guide, "Configure a Replication": configuring is a short VR server call per VM
  (seconds), while "the initial full synchronization" that follows moves every byte of the disks; with seeds
  ("Replicating Virtual Machines Using Replication Seeds") VR "compares the checksums" of the blocks and
  sends only those that differ, so a seeded sync costs a read of the disk plus the differences.
- vSphere Replication, "Bandwidth Requirements": a sync moves the changed bytes at the link's rate; one
  replication stream is assumed to move 40 MB/s and to checksum four times as fast.
- SRM Administration, "Recovery Plan Steps" and "Virtual Machine Startup Priority": a plan runs its steps in
  order, each taking seconds, and starts the VMs of one priority group at the same time (only dependencies
  order them within a group; paraphrased), so a priority step costs one VM's recovery plus a small per-VM
  share of vCenter's throughput.
- SRM Administration, "Create a Protection Group" / "Configure Inventory Mappings": creating a group creates a
  placeholder VM per protected VM (a vCenter CreateVM task each), so group changes cost seconds.

Each task's end is computed from its own start (:class:`srmctl.srmsim.world.TaskContext`), so tasks started
together end together: srmsim never queues one behind another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

MB = 1024 * 1024

#: Every operation kind a task may name (``World.start_task(kind=...)``); a kind not listed costs nothing.
KINDS = (
    "vr.configure",
    "vr.reconfigure",
    "vr.unconfigure",
    "vr.pause",
    "vr.resume",
    "vr.sync",
    "srm.group.create",
    "srm.group.reconfigure",
    "srm.group.delete",
    "srm.placeholder",
    "srm.plan.create",
    "srm.plan.reconfigure",
    "srm.plan.delete",
    "srm.settings",
    "srm.custom_step",
    "srm.mapping",
    "srm.plan.step",  # each step of a plan run (test, cleanup, recovery, reprotect)
    "srm.plan.vm",  # recovering one VM in a priority step (register, reconfigure, power on)
    "srm.plan.vm_each",  # each further VM of that priority step (vCenter's throughput)
)


@dataclass(frozen=True)
class LatencyProfile:
    name: str
    seconds: Mapping[str, float] = field(default_factory=dict)
    sync_bytes_per_second: float = 0.0  # 0: a sync's bytes cost no time
    checksum_bytes_per_second: float = 0.0

    def duration(self, kind: str) -> float:
        return float(self.seconds.get(kind, 0.0))

    def sync_seconds(self, transferred: int, checksummed: int = 0) -> float:
        """One replication's sync: a fixed cost, the bytes sent at the link's rate, seeded blocks compared."""
        if not self.seconds and not self.sync_bytes_per_second:
            return 0.0
        moved = transferred / self.sync_bytes_per_second if self.sync_bytes_per_second else 0.0
        compared = checksummed / self.checksum_bytes_per_second if self.checksum_bytes_per_second else 0.0
        return self.duration("vr.sync") + moved + compared

    def priority_step_seconds(self, vms: int) -> float:
        """A priority step powering ``vms`` VMs on together (none: no VM cost)."""
        if not vms:
            return 0.0
        return self.duration("srm.plan.vm") + self.duration("srm.plan.vm_each") * (vms - 1)


FAST = LatencyProfile("fast")
REALISTIC = LatencyProfile(
    "realistic",
    seconds={
        "vr.configure": 3.0,
        "vr.reconfigure": 2.0,
        "vr.unconfigure": 2.0,
        "vr.pause": 1.0,
        "vr.resume": 1.0,
        "vr.sync": 2.0,
        "srm.group.create": 4.0,
        "srm.group.reconfigure": 3.0,
        "srm.group.delete": 3.0,
        "srm.placeholder": 1.5,
        "srm.plan.create": 2.0,
        "srm.plan.reconfigure": 2.0,
        "srm.plan.delete": 1.5,
        "srm.settings": 0.5,
        "srm.custom_step": 0.5,
        "srm.mapping": 0.5,
        "srm.plan.step": 1.5,
        "srm.plan.vm": 5.0,
        "srm.plan.vm_each": 0.02,
    },
    sync_bytes_per_second=40 * MB,
    checksum_bytes_per_second=160 * MB,
)
PROFILES: dict[str, LatencyProfile] = {p.name: p for p in (FAST, REALISTIC)}


def profile(name: str) -> LatencyProfile:
    if name not in PROFILES:
        raise ValueError(f"unknown latency profile {name!r} (choose from {', '.join(PROFILES)})")
    return PROFILES[name]
