"""One-round-trip inventory read (ContainerView + PropertyCollector) into typed, frozen records.

Everything is fetched with a single RetrievePropertiesEx over a recursive ContainerView (plus paging
continuations), never with per-VM property walks: that is what keeps 500+ VMs fast.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

from pyVmomi import vim, vmodl

from srmctl.adapters.vcenter.connection import VCenterSession
from srmctl.adapters.vcenter.faults import VCenterObjectGone
from srmctl.errors import Ambiguous, NotFound

_DS_PATH = re.compile(r"^\[(?P<ds>[^\]]+)\]\s*(?P<path>.*)$")


def split_datastore_path(path: str) -> tuple[str, str]:
    """``"[ESX1_LOCAL] mail04/mail04.vmx"`` → ``("ESX1_LOCAL", "mail04/mail04.vmx")``."""
    match = _DS_PATH.match(path)
    if not match:
        raise ValueError(f"not a datastore path: {path!r}")
    return match.group("ds"), match.group("path")


@dataclass(frozen=True)
class DiskRecord:
    key: int
    label: str
    file: str  # "[datastore] folder/disk.vmdk"
    capacity_bytes: int

    @property
    def datastore(self) -> str:
        return split_datastore_path(self.file)[0]


@dataclass(frozen=True)
class ReplicationFootprint:
    """What vSphere Replication leaves on the source VM (config.repConfig), as a real vCenter shows it."""

    rpo_minutes: int
    quiesce: bool
    network_compression: bool
    destination: str
    replication_id: str


@dataclass(frozen=True)
class VmRecord:
    name: str
    moref: str
    instance_uuid: str
    bios_uuid: str
    power_state: str  # poweredOn | poweredOff | suspended
    connection_state: str  # connected | disconnected | orphaned | inaccessible | invalid
    datacenter: str
    folder: str  # relative to the datacenter's VM folder, "" for the root, "Web/Frontend" nested
    host: str
    resource_pool: str
    datastores: tuple[str, ...]
    vmx_path: str
    disks: tuple[DiskRecord, ...]
    template: bool
    managed_by: str | None  # extension key, e.g. com.vmware.vcDr for SRM placeholders
    managed_by_type: str | None
    replication: ReplicationFootprint | None
    # MoRefs of its folder and resource pool, and (MoRef, name) of each network: what SRM's inventory
    # mappings are keyed by (preflight checks them).
    folder_moref: str = ""
    resource_pool_moref: str = ""
    networks: tuple[tuple[str, str], ...] = ()

    @property
    def inventory_path(self) -> str:
        parts = [self.datacenter, "vm", *([self.folder] if self.folder else []), self.name]
        return "/" + "/".join(parts)

    @property
    def powered_on(self) -> bool:
        return self.power_state == "poweredOn"

    @property
    def is_placeholder(self) -> bool:
        return self.managed_by_type == "placeholderVm"

    @property
    def home(self) -> tuple[str, str]:
        """(datastore, folder) that holds the .vmx."""
        ds, path = split_datastore_path(self.vmx_path)
        return ds, path.rsplit("/", 1)[0] if "/" in path else ""


@dataclass(frozen=True)
class DatastoreRecord:
    name: str
    moref: str
    datacenter: str
    url: str  # on vcsim: the real local directory backing the datastore
    capacity_bytes: int
    free_bytes: int
    accessible: bool


@dataclass(frozen=True)
class FolderRecord:
    name: str
    moref: str
    datacenter: str
    path: str  # relative to the datacenter's VM folder


@dataclass(frozen=True)
class ComputeRecord:
    """A host or resource pool, with the datacenter it lives in."""

    name: str
    moref: str
    datacenter: str
    cluster: str | None


@dataclass(frozen=True)
class Inventory:
    vms: tuple[VmRecord, ...]
    datastores: tuple[DatastoreRecord, ...]
    folders: tuple[FolderRecord, ...]
    hosts: tuple[ComputeRecord, ...]
    resource_pools: tuple[ComputeRecord, ...]
    datacenters: tuple[str, ...]
    round_trips: int  # PropertyCollector retrievals it took (1 + paging continuations)

    def vm(
        self,
        name: str | None = None,
        *,
        path: str | None = None,
        moref: str | None = None,
        instance_uuid: str | None = None,
    ) -> VmRecord:
        """Exactly one VM by name, inventory path, MoRef or instance UUID; NotFound / Ambiguous otherwise."""
        key, value, attr = _criterion(name=name, path=path, moref=moref, instance_uuid=instance_uuid)
        return exactly_one(
            f"VM with {key} {value!r}",
            [v for v in self.vms if attr(v) == value],
            lambda v: f"{v.inventory_path} ({v.moref})",
        )

    def vms_named(self, name: str) -> tuple[VmRecord, ...]:
        return self._by_name.get(name, ())

    @cached_property
    def _by_name(self) -> dict[str, tuple[VmRecord, ...]]:
        # Built once per inventory: steps look up every runbook VM by name, which must not scan the whole
        # inventory each time (planning stays linear in the number of VMs).
        index: dict[str, list[VmRecord]] = {}
        for vm in self.vms:
            index.setdefault(vm.name, []).append(vm)
        return {name: tuple(found) for name, found in index.items()}

    def datastore(self, name: str) -> DatastoreRecord:
        return exactly_one(
            f"datastore {name!r}",
            [d for d in self.datastores if d.name == name],
            lambda d: f"{d.datacenter}/{d.name} ({d.moref})",
        )

    def folder(self, path: str, datacenter: str | None = None) -> FolderRecord:
        wanted = path.strip("/")
        matches = [f for f in self.folders if f.path == wanted and (datacenter is None or f.datacenter == datacenter)]
        return exactly_one(f"VM folder {path!r}", matches, lambda f: f"{f.datacenter}/vm/{f.path}")

    def resource_pool(self, name: str) -> ComputeRecord:
        return exactly_one(
            f"resource pool {name!r}",
            [p for p in self.resource_pools if p.name == name],
            lambda p: f"{p.datacenter}/{p.cluster}/{p.name} ({p.moref})",
        )


T = TypeVar("T")


def _criterion(**given: str | None) -> tuple[str, str, Callable[[VmRecord], str]]:
    chosen = [(k, v) for k, v in given.items() if v is not None]
    if len(chosen) != 1:
        raise ValueError("give exactly one of name, path, moref, instance_uuid")
    key, value = chosen[0]
    assert value is not None
    getters: dict[str, Callable[[VmRecord], str]] = {
        "name": lambda v: v.name,
        "path": lambda v: v.inventory_path,
        "moref": lambda v: v.moref,
        "instance_uuid": lambda v: v.instance_uuid,
    }
    if key == "path":
        value = "/" + value.strip("/")
    return key.replace("_", " "), value, getters[key]


def exactly_one(what: str, matches: Sequence[T], describe: Callable[[T], str]) -> T:
    if not matches:
        raise NotFound(f"{what} not found")
    if len(matches) > 1:
        raise Ambiguous(what, sorted(describe(m) for m in matches))
    return matches[0]


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
