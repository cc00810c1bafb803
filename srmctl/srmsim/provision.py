"""Building inventory in the lab's vCenters: used by srmsim to mirror SRM's and VR's effects, and by the lab
to build its sites (lab -> srmsim). srmsim's own code (srmsim/vsphere.py), never srmctl's vCenter layer."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pyVmomi import vim

from srmctl.srmsim.vsphere import Connected, VSphereError, wait


def rename(session: Connected, entity: Any, new_name: str) -> None:
    if entity.name != new_name:
        wait([entity.Rename_Task(new_name)], f"rename {entity.name} to {new_name}")


def mount_local_datastore(session: Connected, hosts: Sequence[Any], name: str, path: str) -> str:
    """Mount a local directory as datastore ``name`` on every given host; returns the datastore MoRef."""
    datastore = hosts[0].configManager.datastoreSystem.CreateLocalDatastore(name, path)
    for host in hosts[1:]:
        # vcsim mounts the existing datastore on the extra host but answers with a body pyvmomi
        # cannot type (KeyError while decoding); the mount list checked below is the truth.
        with contextlib.suppress(KeyError):
            host.configManager.datastoreSystem.CreateLocalDatastore(name, path)
    mounted = {m.key._moId for m in datastore.host}
    missing = [h.name for h in hosts if h._moId not in mounted]
    if missing:
        raise VSphereError(f"datastore {name}: not mounted on {', '.join(missing)}")
    return str(datastore._moId)


def create_vm(
    session: Connected,
    *,
    name: str,
    folder: Any,
    pool: Any,
    host: Any,
    datastore: str,
    disk_sizes: Sequence[int],
    power_on: bool = False,
) -> Any:
    """Create a VM with one SCSI controller and thin disks of the given sizes (bytes)."""
    changes = _disk_changes(
        [(2000 + unit, size, f"[{datastore}]") for unit, size in enumerate(disk_sizes)], create=True
    )
    spec = new_vm_spec(name, datastore, deviceChange=changes)
    vm = wait([folder.CreateVM_Task(config=spec, pool=pool, host=host)], f"create VM {name}")[0]
    if power_on:
        wait([vm.PowerOnVM_Task()], f"power on {name}")
    return vm


def new_vm_spec(name: str, datastore: str, **extra: Any) -> Any:
    """A small VM's ConfigSpec whose home folder vCenter creates on ``datastore`` (named after the VM, or
    another name when that folder exists)."""
    return vim.vm.ConfigSpec(
        name=name,
        guestId="otherGuest64",
        numCPUs=1,
        memoryMB=256,
        files=vim.vm.FileInfo(vmPathName=f"[{datastore}]"),
        **extra,
    )


def power_on_all(session: Connected, vms: Sequence[Any]) -> None:
    wait([vm.PowerOnVM_Task() for vm in vms], "power on VMs")


_SCSI_KEY = 1000


def _disk_changes(disks: Sequence[tuple[int, int, str]], *, create: bool) -> list[Any]:
    """Device changes for one SCSI controller and thin disks ``(device key, bytes, file)``; ``create`` makes
    new files, otherwise the disks are attached from existing files."""
    changes: list[Any] = [
        vim.vm.device.VirtualDeviceSpec(
            operation="add",
            device=vim.vm.device.ParaVirtualSCSIController(key=_SCSI_KEY, busNumber=0, sharedBus="noSharing"),
        )
    ]
    for unit, (key, size, file_name) in enumerate(disks):
        changes.append(
            vim.vm.device.VirtualDeviceSpec(
                operation="add",
                fileOperation="create" if create else None,
                device=vim.vm.device.VirtualDisk(
                    key=key,
                    controllerKey=_SCSI_KEY,
                    unitNumber=unit,
                    capacityInKB=max(1, size // 1024),
                    capacityInBytes=size,
                    backing=vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
                        diskMode="persistent", thinProvisioned=True, fileName=file_name
                    ),
                ),
            )
        )
    return changes


def _reconfigure(session: Connected, moref: str, spec: Any, what: str) -> None:
    wait([vim.VirtualMachine(moref, session.stub).ReconfigVM_Task(spec)], f"{what} of {moref}")


def attach_disks(session: Connected, moref: str, disks: Sequence[tuple[int, int, str]]) -> None:
    """Attach existing disk files ``(device key, bytes, "[ds] folder/disk.vmdk")`` to a VM. A VM registered
    on vcsim has no disks (vcsim does not read the .vmx), so whoever registers one re-attaches them."""
    if disks:
        _reconfigure(session, moref, vim.vm.ConfigSpec(deviceChange=_disk_changes(disks, create=False)), "attach disks")


def grow_disk(session: Connected, moref: str, device_key: int, capacity: int) -> None:
    """Extend a VM's disk to ``capacity`` bytes (an edit of the device, as the vSphere Client's "Edit Settings"
    does); the flat file is the caller's (vcsim does not write disk files)."""
    vm: Any = vim.VirtualMachine(moref, session.stub)
    disk: Any = next(
        (d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk) and d.key == device_key),
        None,
    )
    if disk is None:
        raise VSphereError(f"{moref} has no disk {device_key}")
    disk.capacityInKB, disk.capacityInBytes = capacity // 1024, capacity
    change = vim.vm.device.VirtualDeviceSpec(operation="edit", device=disk)
    _reconfigure(session, moref, vim.vm.ConfigSpec(deviceChange=[change]), "grow disk")


def set_identity(
    session: Connected,
    moref: str,
    *,
    instance_uuid: str | None = None,
    annotation: str | None = None,
    extra_config: Mapping[str, str] | None = None,
) -> None:
    """Re-apply identity a registration lost (vcsim derives the instance UUID from the .vmx path)."""
    spec = vim.vm.ConfigSpec(
        instanceUuid=instance_uuid or None,
        annotation=annotation,
        extraConfig=[vim.option.OptionValue(key=k, value=v) for k, v in (extra_config or {}).items()] or None,
    )
    _reconfigure(session, moref, spec, "set identity")


@dataclass(frozen=True)
class ReplicationConfig:
    """What vSphere Replication writes on a replicated source VM (``config.repConfig`` + hbr_filter keys)."""

    replication_id: str
    destination: str  # the target VR server
    rpo_minutes: int
    quiesce: bool
    network_compression: bool
    disks: tuple[tuple[int, str], ...]  # (device key, disk replication id)
    generation: int = 1


HBR_FILTER_KEYS = ("hbr_filter.destination", "hbr_filter.rpo", "hbr_filter.quiesce", "hbr_filter.gid")


def set_replication_config(session: Connected, moref: str, config: ReplicationConfig | None) -> None:
    """Set (or, with None, clear) a VM's replication footprint. vcsim stores ``repConfig`` as given and has no
    way to unset it, so clearing writes an empty replication id (what readers treat as "not replicated") and
    removes the hbr_filter keys (an empty value deletes an extraConfig key)."""
    if config is None:
        rep = vim.vm.ReplicationConfigSpec(
            generation=0,
            vmReplicationId="",
            destination="",
            port=0,
            rpo=0,
            quiesceGuestEnabled=False,
            paused=False,
            oppUpdatesEnabled=False,
            netCompressionEnabled=False,
            netEncryptionEnabled=False,
            disk=[],
        )
        extra = dict.fromkeys(HBR_FILTER_KEYS, "")
    else:
        rep = vim.vm.ReplicationConfigSpec(
            generation=config.generation,
            vmReplicationId=config.replication_id,
            destination=config.destination,
            port=31031,
            rpo=config.rpo_minutes,
            quiesceGuestEnabled=config.quiesce,
            paused=False,
            oppUpdatesEnabled=False,
            netCompressionEnabled=config.network_compression,
            netEncryptionEnabled=False,
            disk=[
                vim.vm.ReplicationConfigSpec.DiskSettings(key=key, diskReplicationId=disk_id)
                for key, disk_id in config.disks
            ],
        )
        extra = dict(
            zip(
                HBR_FILTER_KEYS,
                (config.destination, str(config.rpo_minutes), str(config.quiesce).lower(), config.replication_id),
                strict=True,
            )
        )
    spec = vim.vm.ConfigSpec(
        repConfig=rep, extraConfig=[vim.option.OptionValue(key=k, value=v) for k, v in extra.items()]
    )
    _reconfigure(session, moref, spec, "set replication config")


def post_vm_event(session: Connected, moref: str, name: str, message: str) -> None:
    """Post an event about a VM to the vCenter event log. A GeneralUserEvent: vcsim's alarm manager panics on
    an EventEx (as posted by real VR), and the message is what readers look at."""
    event = vim.event.GeneralUserEvent(
        key=0,
        chainId=0,
        userName="",
        createdTime=datetime.now(timezone.utc),
        message=message,
        fullFormattedMessage=message,
        vm=vim.event.VmEventArgument(vm=vim.VirtualMachine(moref, session.stub), name=name),
    )
    session.content.eventManager.PostEvent(event)
