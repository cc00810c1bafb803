"""Building inventory: used by the lab (and by srmsim to mirror SRM's effects), not by failback steps."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from pyVmomi import vim

from srmctl.adapters.vcenter.connection import VCenterSession
from srmctl.adapters.vcenter.tasks import wait_for_task, wait_for_tasks
from srmctl.errors import OperationFailed


def rename(session: VCenterSession, entity: Any, new_name: str) -> None:
    if entity.name != new_name:
        wait_for_task(session, entity.Rename_Task(new_name), what=f"rename {entity.name} to {new_name}")


def mount_local_datastore(session: VCenterSession, hosts: Sequence[Any], name: str, path: str) -> str:
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
        raise OperationFailed(f"datastore {name}: not mounted on {', '.join(missing)}")
    return str(datastore._moId)


def create_vm(session: VCenterSession, *, name: str, folder: Any, pool: Any, host: Any, datastore: str,
              disk_sizes: Sequence[int], power_on: bool = False) -> Any:
    """Create a VM with one SCSI controller and thin disks of the given sizes (bytes)."""
    controller_key = 1000
    changes: list[Any] = [vim.vm.device.VirtualDeviceSpec(
        operation="add",
        device=vim.vm.device.ParaVirtualSCSIController(key=controller_key, busNumber=0, sharedBus="noSharing"),
    )]
    for unit, size in enumerate(disk_sizes):
        changes.append(vim.vm.device.VirtualDeviceSpec(
            operation="add", fileOperation="create",
            device=vim.vm.device.VirtualDisk(
                key=2000 + unit, controllerKey=controller_key, unitNumber=unit,
                capacityInKB=max(1, size // 1024), capacityInBytes=size,
                backing=vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
                    diskMode="persistent", thinProvisioned=True, fileName=f"[{datastore}]"),
            ),
        ))
    spec = vim.vm.ConfigSpec(name=name, guestId="otherGuest64", numCPUs=1, memoryMB=256,
                             files=vim.vm.FileInfo(vmPathName=f"[{datastore}]"), deviceChange=changes)
    vm = wait_for_task(session, folder.CreateVM_Task(config=spec, pool=pool, host=host), what=f"create VM {name}")
    if power_on:
        wait_for_task(session, vm.PowerOnVM_Task(), what=f"power on {name}")
    return vm


def power_on_all(session: VCenterSession, vms: Sequence[Any]) -> None:
    wait_for_tasks(session, [vm.PowerOnVM_Task() for vm in vms], what="power on VMs")
