"""Seeds for ``replication.reverse``: where each disk of a VM goes at the target site, and which of its old
disk files VR finds there to seed it (one find-seeds call per datastore for all the VMs)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class SizeMismatch:
    """A disk whose seed is not of its size: VR takes a seed only of the source disk's size (VR admin guide,
    "Replicating Virtual Machines Using Replication Seeds"), e.g. after the disk was extended at the site where
    the VM ran during the outage."""

    vm: str
    disk: str  # label, else device key
    device_key: int
    disk_bytes: int
    seed: str  # "[datastore] folder/disk.vmdk"
    seed_bytes: int

    def problem(self) -> str:
        return (
            f"{self.vm}: disk {self.disk} is {self.disk_bytes} bytes but its seed {self.seed} is {self.seed_bytes} "
            "bytes (a seed must match its disk's size); replication.seeds: preferred runs a full sync of this "
            "disk only, seeds: none of every disk"
        )


def size_mismatches(
    s: Sides,
    vms: Mapping[str, VrVm],
    seeds: Mapping[str, Mapping[int, str]],
    datastore_of: Callable[[str, int], str],
) -> list[SizeMismatch]:
    """The seeds found (``seeds``: VM → device key → path on the datastore ``datastore_of(vm, key)``) whose size
    differs from their disk's: one datastore listing (VR's datastore browser) per datastore holding seeds."""
    wanted = {datastore_of(name, key) for name, found in seeds.items() for key in found}
    listed: dict[str, dict[str, tuple[str, int]]] = {}
    for datastore_id in sorted(wanted):
        listed[datastore_id] = {
            f.path.split("] ", 1)[-1]: (f.path, f.size or 0) for f in s.dr.vr.disk_files(s.home_guid, datastore_id)
        }
    found_mismatches = []
    for name, found in sorted(seeds.items()):
        disks = {d.device_key: d for d in data_disks(vms[name])}
        for key, path in sorted(found.items()):
            disk = disks.get(key)
            seen = listed[datastore_of(name, key)].get(path)
            if disk is None or seen is None or disk.capacity is None:
                continue
            size = disk.capacity * 1024  # VR reports a disk's capacity in KB
            if seen[1] != size:
                label = disk.label or str(key)
                found_mismatches.append(SizeMismatch(name, label, key, size, seen[0], seen[1]))
    return found_mismatches


def free_datastores(s: Sides, mismatches: Sequence[SizeMismatch]) -> dict[tuple[str, int], str]:
    """For each mismatched disk, a VR target datastore at the home site where its file name is free, so a full
    sync of it writes a new file and the old disk (the seed that did not fit) stays as it is: VR never
    overwrites a file it was not given as a seed. One datastore listing per datastore."""
    if not mismatches:
        return {}
    taken = {
        d.id: {f.path.split("] ", 1)[-1] for f in s.dr.vr.disk_files(s.home_guid, d.id)}
        for d in s.dr.vr.datastores(s.home_guid)
    }
    chosen = {}
    for m in mismatches:
        path = m.seed.split("] ", 1)[-1]  # a disk synced in full lands at its own path, as its seed would be
        free = [ds for ds, files in sorted(taken.items()) if path not in files]
        if free:
            chosen[m.vm, m.device_key] = free[0]
    return chosen
