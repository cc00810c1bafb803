"""Seeds for ``replication.reverse``: where each disk of a VM goes at the target site, and which of its old
disk files VR finds there to seed it (one find-seeds call per datastore for all the VMs)."""

from __future__ import annotations

from collections.abc import Mapping

from srmctl.adapters.dr.models import VmDisk, VrVm
from srmctl.steps.context import Sides
from srmctl.steps.replication_settings import Chosen, disk_targets


def data_disks(vm: VrVm) -> list[VmDisk]:
    return [d for d in vm.disks if not d.is_vm_home and d.device_key is not None]


def seed_path(disk: VmDisk) -> str | None:
    """Where VR looks for a disk's seed at the other site: the same folder and file name (``mail04/mail04.vmdk``)."""
    source = disk.source_path
    if source is None or not source.filename:
        return None
    return f"{source.path}/{source.filename}" if source.path else source.filename


def find_seeds(s: Sides, datastore_id: str, vms: Mapping[str, VrVm]) -> dict[str, dict[int, str]]:
    """Seeds found on one datastore for the VMs' disks, in one find-seeds call for all of them."""
    asked = [(disk, path) for vm in vms.values() for disk in data_disks(vm) if (path := seed_path(disk))]
    found: dict[str, dict[int, str]] = {name: {} for name in vms}
    if not asked:
        return found
    names_by_id = {vm.id: name for name, vm in vms.items()}
    for info in s.dr.vr.find_seeds(s.home_guid, datastore_id, asked):
        name = names_by_id.get(info.vm_disk.vm_id)
        if name is not None and info.found_seeds and info.vm_disk.device_key is not None:
            found[name][info.vm_disk.device_key] = info.found_seeds[0]
    return found


def placement_of(s: Sides, chosen: Mapping[str, Chosen]) -> dict[str, dict[int, str]]:
    """Device key → datastore id of each disk recorded on a datastore of this direction's target (a VM's
    disks may be spread over several); a datastore no longer there leaves the disk with the VM's."""
    wanted = {name: found for name, c in chosen.items() if (found := disk_targets(c.settings, s.home_guid))}
    if not wanted:
        return {}
    ids = {d.name: d.id for d in s.dr.vr.datastores(s.home_guid)}
    return {name: {key: ids[ds] for key, ds in found.items() if ds in ids} for name, found in wanted.items()}


def seeds_placed(
    s: Sides, vms: Mapping[str, VrVm], default: Mapping[str, str], placement: Mapping[str, Mapping[int, str]]
) -> dict[str, dict[int, str]]:
    """Each VM's seeds, every disk's looked up on the datastore it goes to (its ``placement``, else the VM's
    ``default``): one find-seeds call per datastore for all the VMs."""
    by_datastore: dict[str, dict[str, VrVm]] = {}
    for name, vm in vms.items():
        for datastore_id in {default[name], *placement.get(name, {}).values()}:
            by_datastore.setdefault(datastore_id, {})[name] = vm
    seeds: dict[str, dict[int, str]] = {name: {} for name in vms}
    for datastore_id, group in by_datastore.items():
        for name, found in find_seeds(s, datastore_id, group).items():
            seeds[name].update(
                {
                    key: path
                    for key, path in found.items()
                    if placement.get(name, {}).get(key, default[name]) == datastore_id
                }
            )
    return seeds
