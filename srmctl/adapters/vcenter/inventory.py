"""One-round-trip inventory read (ContainerView + PropertyCollector) into typed, frozen records (records.py).

Everything is fetched with a single RetrievePropertiesEx over a recursive ContainerView (plus paging
continuations), never with per-VM property walks: that is what keeps 500+ VMs fast.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import Any

from pyVmomi import vim, vmodl

from srmctl.adapters.vcenter.connection import VCenterSession
from srmctl.adapters.vcenter.faults import VCenterObjectGone
from srmctl.adapters.vcenter.records import (
    ComputeRecord,
    DatastoreRecord,
    DiskRecord,
    FolderRecord,
    Inventory,
    ReplicationFootprint,
    VmRecord,
    exactly_one,
    split_datastore_path,
)

# The records live in records.py; modules that read the inventory take them from here too.
__all__ = [
    "ComputeRecord",
    "DatastoreRecord",
    "DiskRecord",
    "FolderRecord",
    "Inventory",
    "ReplicationFootprint",
    "VmRecord",
    "disk_file",
    "exactly_one",
    "read_inventory",
    "retrieve_all",
    "split_datastore_path",
]

_PROPERTIES: dict[type, list[str]] = {
    vim.VirtualMachine: [
        "name",
        "parent",
        "config.instanceUuid",
        "config.uuid",
        "config.template",
        "config.files.vmPathName",
        "config.hardware.device",
        "config.managedBy",
        "config.repConfig",
        "runtime.powerState",
        "runtime.connectionState",
        "runtime.host",
        "resourcePool",
        "datastore",
        "network",
    ],
    vim.Network: ["name"],
    vim.Datastore: ["name", "parent", "summary.url", "summary.capacity", "summary.freeSpace", "summary.accessible"],
    vim.Folder: ["name", "parent"],
    vim.Datacenter: ["name", "parent", "vmFolder"],
    vim.HostSystem: ["name", "parent"],
    vim.ClusterComputeResource: ["name", "parent"],
    vim.ComputeResource: ["name", "parent"],
    vim.ResourcePool: ["name", "parent", "owner"],
}


def read_inventory(session: VCenterSession, page_size: int = 1000) -> Inventory:
    """Read every VM, datastore, folder, host and pool with one PropertyCollector retrieval."""
    content = session.content
    for attempt in (1, 2):
        view = content.viewManager.CreateContainerView(content.rootFolder, list(_PROPERTIES), True)
        try:
            spec = vmodl.query.PropertyCollector.FilterSpec(
                objectSet=[
                    vmodl.query.PropertyCollector.ObjectSpec(
                        obj=view,
                        skip=True,
                        selectSet=[
                            vmodl.query.PropertyCollector.TraversalSpec(
                                name="view", type=vim.view.ContainerView, path="view", skip=False
                            )
                        ],
                    )
                ],
                propSet=[
                    vmodl.query.PropertyCollector.PropertySpec(type=t, pathSet=paths)
                    for t, paths in _PROPERTIES.items()
                ],
            )
            objects, round_trips = retrieve_all(content.propertyCollector, spec, page_size)
            return _build(objects, round_trips)
        except VCenterObjectGone as error:
            # The session expired between creating the view and reading it: the stub logged in again, but
            # a view belongs to the session that made it. Once, with a view of the new session.
            if attempt == 2 or getattr(error.fault.obj, "_moId", None) != view._moId:
                raise
        finally:
            with contextlib.suppress(VCenterObjectGone):
                view.Destroy()
    raise AssertionError("unreachable")


def retrieve_all(collector: Any, spec: Any, page_size: int) -> tuple[dict[str, tuple[Any, dict[str, Any]]], int]:
    """Every object a filter spec selects, by MoRef (the object and its properties), following
    ``ContinueRetrievePropertiesEx`` tokens; with the number of round trips."""
    options = vmodl.query.PropertyCollector.RetrieveOptions(maxObjects=page_size)
    result = collector.RetrievePropertiesEx([spec], options)
    round_trips = 1
    objects: dict[str, tuple[Any, dict[str, Any]]] = {}
    while result is not None:
        for oc in result.objects:
            objects[oc.obj._moId] = (oc.obj, {p.name: p.val for p in oc.propSet or []})
        if not result.token:
            break
        result = collector.ContinueRetrievePropertiesEx(result.token)
        round_trips += 1
    return objects, round_trips


def _build(objects: dict[str, tuple[Any, dict[str, Any]]], round_trips: int) -> Inventory:
    def props(moref: Any) -> dict[str, Any]:
        return objects.get(moref._moId, (None, {}))[1] if moref is not None else {}

    def datacenter_of(moref: Any) -> tuple[str, list[str]]:
        """Walk parents up to the datacenter: (its name, names from its child folder down, e.g.
        ["vm", "Web", "Frontend"] for a VM or folder in vm/Web/Frontend)."""
        names: list[str] = []
        current = moref
        while current is not None:
            if isinstance(current, vim.Datacenter):
                return props(current).get("name", ""), names
            p = props(current)
            names.insert(0, p.get("name", ""))
            current = p.get("parent")
        return "", names

    by_type: dict[type, list[tuple[Any, dict[str, Any]]]] = {}
    for obj, p in objects.values():
        for t in _PROPERTIES:
            if type(obj) is t:
                by_type.setdefault(t, []).append((obj, p))

    datastores = tuple(
        sorted(
            (
                DatastoreRecord(
                    name=p["name"],
                    moref=obj._moId,
                    datacenter=datacenter_of(p.get("parent"))[0],
                    url=p.get("summary.url", ""),
                    capacity_bytes=int(p.get("summary.capacity", 0)),
                    free_bytes=int(p.get("summary.freeSpace", 0)),
                    accessible=bool(p.get("summary.accessible", True)),
                )
                for obj, p in by_type.get(vim.Datastore, [])
            ),
            key=lambda d: (d.datacenter, d.name),
        )
    )

    vm_folders = []
    for obj, p in by_type.get(vim.Folder, []):
        dc, names = datacenter_of(obj)
        # VM folders are those below a datacenter's "vm" folder (not host/, datastore/, network/).
        if dc and len(names) > 1 and names[0] == "vm":
            vm_folders.append(FolderRecord(name=p["name"], moref=obj._moId, datacenter=dc, path="/".join(names[1:])))

    def compute(t: type) -> list[ComputeRecord]:
        records = []
        for obj, p in by_type.get(t, []):
            cluster = _cluster_of(obj, props)
            records.append(
                ComputeRecord(name=p["name"], moref=obj._moId, datacenter=datacenter_of(obj)[0], cluster=cluster)
            )
        return records

    # Names of referenced objects come from the same retrieval: reading ``ref.name`` would cost a call each.
    object_names = {moid: str(p.get("name", "")) for moid, (_, p) in objects.items()}
    vms = tuple(
        sorted(
            (_vm_record(obj, p, datacenter_of, object_names) for obj, p in by_type.get(vim.VirtualMachine, [])),
            key=lambda v: (v.datacenter, v.folder, v.name, v.moref),
        )
    )
    return Inventory(
        vms=vms,
        datastores=datastores,
        folders=tuple(sorted(vm_folders, key=lambda f: (f.datacenter, f.path))),
        hosts=tuple(sorted(compute(vim.HostSystem), key=lambda h: h.name)),
        resource_pools=tuple(sorted(compute(vim.ResourcePool), key=lambda r: (r.datacenter, r.name))),
        datacenters=tuple(sorted(p["name"] for _, p in by_type.get(vim.Datacenter, []))),
        round_trips=round_trips,
    )


def _cluster_of(obj: Any, props: Callable[[Any], dict[str, Any]]) -> str | None:
    current = props(obj).get("parent")
    while current is not None:
        if isinstance(current, vim.ClusterComputeResource):
            return str(props(current).get("name"))
        if isinstance(current, (vim.Datacenter, vim.Folder)):
            return None
        current = props(current).get("parent")
    return None


def _vm_record(
    obj: Any, p: dict[str, Any], datacenter_of: Callable[[Any], tuple[str, list[str]]], names: dict[str, str]
) -> VmRecord:
    dc, folders = datacenter_of(p.get("parent"))
    managed = p.get("config.managedBy")
    host = p.get("runtime.host")
    pool = p.get("resourcePool")
    parent = p.get("parent")
    return VmRecord(
        name=p.get("name", ""),
        moref=obj._moId,
        instance_uuid=p.get("config.instanceUuid") or "",
        bios_uuid=p.get("config.uuid") or "",
        power_state=str(p.get("runtime.powerState", "")),
        connection_state=str(p.get("runtime.connectionState", "")),
        datacenter=dc,
        folder="/".join(folders[1:]) if folders[:1] == ["vm"] else "/".join(folders),
        host=names.get(host._moId, "") if host is not None else "",
        resource_pool=names.get(pool._moId, "") if pool is not None else "",
        datastores=tuple(sorted(names.get(ds._moId, "") for ds in p.get("datastore", []))),
        vmx_path=p.get("config.files.vmPathName") or "",
        disks=tuple(_disks(p.get("config.hardware.device") or [])),
        template=bool(p.get("config.template", False)),
        managed_by=managed.extensionKey if managed else None,
        managed_by_type=managed.type if managed else None,
        replication=_footprint(p.get("config.repConfig")),
        folder_moref=parent._moId if parent is not None else "",
        resource_pool_moref=pool._moId if pool is not None else "",
        networks=tuple(sorted((n._moId, names.get(n._moId, "")) for n in p.get("network", []))),
    )


def disk_file(device: Any) -> str:
    """The datastore path of a VirtualDisk's backing file (untyped: backings vary by disk kind)."""
    return str(device.backing.fileName)


def _disks(devices: Iterable[Any]) -> list[DiskRecord]:
    return [
        DiskRecord(
            key=d.key,
            label=d.deviceInfo.label if d.deviceInfo else f"disk {d.key}",
            file=disk_file(d),
            capacity_bytes=int(d.capacityInBytes or d.capacityInKB * 1024),
        )
        for d in devices
        if isinstance(d, vim.vm.device.VirtualDisk)
    ]


def _footprint(rep: Any) -> ReplicationFootprint | None:
    if rep is None or not rep.vmReplicationId:
        return None
    return ReplicationFootprint(
        rpo_minutes=int(rep.rpo or 0),
        quiesce=bool(rep.quiesceGuestEnabled),
        network_compression=bool(rep.netCompressionEnabled),
        destination=rep.destination or "",
        replication_id=rep.vmReplicationId,
    )
