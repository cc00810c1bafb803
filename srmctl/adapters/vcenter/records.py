"""The vCenter inventory as typed, frozen records (VMs with their disks and replication footprint,
datastores, folders, compute), and lookups that never guess: zero matches is NotFound, several Ambiguous.
Read by :func:`srmctl.adapters.vcenter.inventory.read_inventory`."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

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
