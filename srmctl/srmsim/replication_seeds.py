"""What vSphere Replication accepts as a seed, and its find-seeds call.

A seed is an existing disk file at the target that VR compares with the source disk block by block instead of
copying it whole (VR admin guide, "Replicating Virtual Machines Using Replication Seeds"). srmsim checks it as
VR does before anything is configured (issue #21, point 4):

- it exists: a seed that is not there is refused;
- it matches the source disk: VR admin guide, "Replicating Virtual Machines Using Replication Seeds": the seed
  must be a copy of the source disk, and Cloud Director Availability, "Using replication seeds": the seed's
  disks must match the source's in number and size. A seed of another size is refused, never resized: a
  disk extended at one site after a failover no longer has a seed at the other. Each seed serves one disk
  of the source VM (two disks never share one, and no seed is given for a disk the VM does not have);
- no registered VM owns it: VR writes into a seed, so a disk still attached to a VM registered in the target
  vCenter is not one (the admin guide's procedure unregisters, or copies, the seed VM first).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from srmctl.srmsim import body_refs, effects
from srmctl.srmsim.model import SimDatastore, SimDisk, SimError, SimSite, SimVm
from srmctl.srmsim.world import World


def data_file(path: Path) -> Path:
    """The file that holds a disk's bytes: the ``-flat.vmdk`` beside a descriptor (the lab's vcsim disks), or
    the ``.vmdk`` itself (the in-memory simulator writes plain files)."""
    flat = effects.flat_file(path)
    return flat if flat.is_file() else path


def owners(site: SimSite) -> dict[tuple[str, str], SimVm]:
    """Registered VMs of ``site`` by the (datastore id, path) of each of their disks: one pass over the site."""
    return {
        (vm.datastore_id, disk.filename): vm
        for vm in site.vms.values()
        if vm.registered and vm.role != "placeholder"
        for disk in vm.disks
    }


def refresh_for_configure(world: World, specs: list[Any]) -> None:
    """Re-read from vCenter what a configure depends on and srmsim cannot see happen (srmctl powers and
    unregisters VMs in vCenter, not through srmsim): the power state of each spec's source VM (a powered-off
    one's sync waits) and whether the VMs srmsim knows to own the seeds are still registered. Only those
    VMs, one retrieval per site."""
    watched: dict[str, set[str]] = {}
    with world.lock:
        wanted = [spec for spec in specs if isinstance(spec, dict)]
        for site in world.sites.values():
            index = owners(site)
            for spec in wanted:
                source = site.vms.get(str(spec.get("vm_id")))
                if source is not None and source.moref:
                    watched.setdefault(site.name, set()).add(source.moref)
                for disk in spec.get("disks") or []:
                    if isinstance(disk, dict) and disk.get("use_seeds") and disk.get("destination_path"):
                        owner = index.get((str(disk.get("destination_datastore_id")), str(disk["destination_path"])))
                        if owner is not None and owner.moref:
                            watched.setdefault(site.name, set()).add(owner.moref)
    for site_name, morefs in sorted(watched.items()):
        world.refresh(site_name, morefs)


def check_seed(
    vm: SimVm,
    disk: SimDisk,
    source: Path,
    site: SimSite,
    ds: SimDatastore,
    path: str,
    index: dict[tuple[str, str], SimVm],
    used: set[tuple[str, str]],
) -> None:
    """Refuse ``[ds] path`` at ``site`` as the seed of ``vm``'s ``disk`` (its file: ``source``) unless it is one
    (the module's rules)."""
    where = f"[{ds.name}] {path}"
    seed = ds.directory / path
    if not seed.is_file():
        raise SimError(400, "SEED_NOT_FOUND", f"no seed at {where}")
    if (ds.id, path) in used:
        raise SimError(400, "INVALID_SEED", f"seed {where} is given for two disks of {vm.name}")
    used.add((ds.id, path))
    owner = index.get((ds.id, path))
    if owner is not None and owner.id != vm.id:
        raise SimError(
            400,
            "SEED_IN_USE",
            f"seed {where} is a disk of VM {owner.name}, registered at {site.name}: unregister it first",
        )
    data = data_file(source)
    want = data.stat().st_size if data.is_file() else disk.capacity
    have = data_file(seed).stat().st_size
    if have != want:
        raise SimError(
            400,
            "SEED_SIZE_MISMATCH",
            f"seed {where} is {have} bytes but disk {disk.device_key} of {vm.name} is {want} bytes: "
            "a seed must match the source disk in size",
        )


def find_seeds(world: World, datastore_id: str, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``POST .../datastores/{ds}/actions/find-seeds``: which of the given paths hold a disk file there."""
    with world.lock:
        for site in world.sites.values():
            if datastore_id in site.datastores:
                ds = site.datastores[datastore_id]
                break
        else:
            raise SimError(404, "NOT_FOUND", f"datastore {datastore_id}")
        with body_refs.in_body("vm_disk.vm_id"):  # a VM that does not exist: the request's 400
            for spec in specs:
                world.find_vm(spec["vm_disk"]["vm_id"])
        out = []
        for spec in specs:
            path = spec.get("destination_path") or ""
            found = [path] if path and (ds.directory / path).is_file() else []
            out.append(
                {
                    "vm_disk": {"vm_id": spec["vm_disk"]["vm_id"], "device_key": spec["vm_disk"].get("device_key")},
                    "found_seeds": found,
                }
            )
        return out


#: DatastoreBrowserRequest.query_type -> which files answer it (VR spec enum; FLOPPY_IMAGE and ISO_IMAGE
#: find nothing in the lab, whose datastores hold none).
_QUERIES = {
    "VM_DISK": ("VM_DISK",),
    "VM_CONFIG_FILES": ("VM_CONFIG",),
    "FOLDERS": ("FOLDER",),
    "ALL_FILES": ("FOLDER", "VM_DISK", "VM_CONFIG", "VM_NVRAM", "VM_LOG", "FILE"),
    "FLOPPY_IMAGE": (),
    "ISO_IMAGE": (),
}


def _file_type(path: Path) -> str:
    if path.is_dir():
        return "FOLDER"
    if path.suffix == ".vmdk":
        return "FILE" if path.name.endswith("-flat.vmdk") else "VM_DISK"
    return {".vmx": "VM_CONFIG", ".nvram": "VM_NVRAM", ".log": "VM_LOG"}.get(path.suffix, "FILE")


def browse(world: World, datastore_id: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
    """``POST .../datastores/{ds}/actions/browse``: the files of one type below ``browse_path`` (its
    subfolders too with ``sub_folders``). A disk is its descriptor, sized as its data (vSphere's datastore
    browser shows a disk, not its ``-flat`` extent): what an operator compares with a source disk before
    choosing it as a seed."""
    with world.lock:
        ds = next((s.datastores[datastore_id] for s in world.sites.values() if datastore_id in s.datastores), None)
        if ds is None:
            raise SimError(404, "NOT_FOUND", f"datastore {datastore_id} not found")
        folder = ds.directory / (spec.get("browse_path") or "")
        if not folder.is_dir() or not folder.resolve().is_relative_to(ds.directory.resolve()):
            raise SimError(400, "INVALID_PATH", f"[{ds.name}] {spec.get('browse_path')}: no such folder")
        wanted = _QUERIES.get(spec.get("query_type") or "ALL_FILES", ())
        found = folder.rglob("*") if spec.get("sub_folders") else folder.iterdir()
        out = []
        for path in sorted(found):
            kind = _file_type(path)
            if kind not in wanted:
                continue
            relative = path.relative_to(ds.directory).as_posix()
            size = 0 if kind == "FOLDER" else data_file(path).stat().st_size
            out.append({"name": path.name, "path": f"[{ds.name}] {relative}", "size": size, "file_type": kind})
        return out
