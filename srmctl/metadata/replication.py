"""Each VM's vSphere Replication settings, as the plan-metadata snapshot records them.

A failback removes the VMs' replications and configures new ones, twice (back home, then the original direction
again). VR's settings live only on the replication, so they are recorded before anything is removed, per VM,
with every setting VR reports for a replication (the VR spec's ``ReplicationInfo`` and, per disk,
``ReplicatedVmDisk``); both directions configure each VM with its own settings again (docs/architecture.md,
"Replication settings").
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from srmctl.adapters.dr import VrClient
from srmctl.adapters.dr.models import ReplicatedDisk, Replication


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Mpit(_Model):
    """Multiple point-in-time instances: ``instances`` per day, each kept ``days`` days."""

    instances: int = Field(ge=1)
    days: int = Field(ge=1)


class DiskTarget(_Model):
    """Where VR keeps one replicated disk (``device_key``) at the target site."""

    device_key: int
    datastore: str  # by name, as VR reports it
    storage_policy_id: str | None = None


class VmReplication(_Model):
    """One VM's replication settings. ``rpo`` in minutes. ``source_site``/``target_site`` are VR's site names
    and ``target_vcenter`` the target vCenter's instance UUID: the per-disk ``disks`` targets are datastores
    of that vCenter, used again only when replicating to it."""

    rpo: int = Field(ge=5, le=1440)
    quiesce: bool = False
    network_compression: bool = False
    encryption: bool = False
    auto_replicate_new_disks: bool = True
    mpit: Mpit | None = None
    vm_data_sets: bool | None = None
    source_site: str = ""
    target_site: str = ""
    target_vcenter: str = ""
    disks: tuple[DiskTarget, ...] = ()

    def summary(self) -> str:
        """One line for plans and notes, e.g. ``rpo 5m, quiesce on, compression on, MPIT 3/day for 2 days``."""
        parts = [
            f"rpo {self.rpo}m",
            f"quiesce {_on(self.quiesce)}",
            f"compression {_on(self.network_compression)}",
            f"encryption {_on(self.encryption)}",
            f"new disks {_on(self.auto_replicate_new_disks)}",
            "MPIT " + (f"{self.mpit.instances}/day for {self.mpit.days} days" if self.mpit else "off"),
        ]
        if self.vm_data_sets is not None:
            parts.append(f"VM data sets {_on(self.vm_data_sets)}")
        return ", ".join(parts)

    def settings(self) -> dict[str, object]:
        """The settings alone (not where they were recorded): what is compared and shown per field."""
        return self.model_dump(mode="json", exclude={"source_site", "target_site", "target_vcenter", "disks"})


def _on(value: bool) -> str:
    return "on" if value else "off"


def from_vr(replication: Replication, disks: Iterable[ReplicatedDisk]) -> VmReplication:
    """A replication as VR reports it (an unreported setting: VR's default for it)."""
    mpit = None
    if replication.mpit_enabled and replication.mpit_instances and replication.mpit_days:
        mpit = Mpit(instances=replication.mpit_instances, days=replication.mpit_days)
    targets = tuple(
        sorted(
            (
                DiskTarget(
                    device_key=d.vm_disk.device_key,
                    datastore=d.destination_path.datastore_name or d.destination_path.datastore_id,
                    storage_policy_id=d.destination_storage_policy_id,
                )
                for d in disks
                if d.vm_disk is not None
                and d.vm_disk.device_key is not None
                and not d.vm_disk.is_vm_home
                and d.replicated is not False
                and d.destination_path is not None
            ),
            key=lambda t: t.device_key,
        )
    )
    return VmReplication(
        rpo=replication.rpo or 0,
        quiesce=bool(replication.quiescing_enabled),
        network_compression=bool(replication.network_compression_enabled),
        encryption=bool(replication.encryption_enabled),
        auto_replicate_new_disks=replication.auto_replicate_new_disks_enabled is not False,
        mpit=mpit,
        vm_data_sets=replication.vm_data_sets_replication_enabled,
        source_site=replication.source_site_name or replication.source_vc_id or "",
        target_site=replication.target_site_name or replication.target_vc_id or "",
        target_vcenter=replication.target_vc_id or "",
        disks=targets,
    )


def capture_replications(
    vr: VrClient, names: Iterable[str], prefer_source: str | None, *, disks: bool = True
) -> dict[str, VmReplication]:
    """The replication settings of the VMs ``names``, by VM name (VR names a replication after its VM); with
    ``disks``, each disk's target too (one GET per VM: VR lists a replication's disks only one replication at a
    time).

    A VM replicated in both directions at once (a failback half done) is recorded from the replication whose
    source is the vCenter ``prefer_source`` (the plan's protected site); one with several replications that
    this cannot tell apart, or an RPO VR does not report, is left out rather than guessed."""
    wanted = set(names)
    found: dict[str, list[Replication]] = {}
    for r in vr.replications():
        if r.name in wanted:
            found.setdefault(r.name, []).append(r)
    chosen = {}
    for name, matches in sorted(found.items()):
        if len(matches) > 1:
            matches = [r for r in matches if r.source_vc_id == prefer_source]
        if len(matches) == 1 and matches[0].rpo:
            chosen[name] = matches[0]
    replicated = vr.replication_disks_of([r.id for r in chosen.values()]) if disks else {}
    return {name: from_vr(r, replicated.get(r.id, ())) for name, r in chosen.items()}
