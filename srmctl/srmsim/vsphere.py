"""srmsim's own way to the lab's vCenters (vcsim), with pyVmomi directly.

srmsim tests srmctl's vCenter layer (``srmctl/adapters/vcenter``), so it must not run on it: a bug there would
hide inside the simulator that is meant to catch it. What srmsim needs is small: a session pinned to the
lab's certificate, tasks awaited, power, registration, a VM's properties, and one read of a site's inventory
when srmsim adopts the VMs the lab built (:func:`read_site`).
"""

from __future__ import annotations

import hashlib
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl

from srmctl.errors import OperationFailed

# A VM or other object that is gone from vCenter (srmctl unregisters VMs behind srmsim's back).
GONE = (vmodl.fault.ManagedObjectNotFound,)


class VSphereError(OperationFailed):
    """A vCenter call srmsim made failed (a task in error, a certificate that does not match its pin)."""


@dataclass(frozen=True)
class VCenter:
    """Where a site's vCenter is and how srmsim logs in (the lab's ``vcenter:`` config of the site)."""

    host: str
    port: int
    user: str
    password: str
    thumbprint: str  # sha256 of the certificate, with or without the "sha256:" prefix and colons


class Connected(Protocol):
    """A logged-in vCenter session as pyVmomi gives it (srmsim's :class:`Session`; the lab passes its own)."""

    stub: Any
    content: Any


class Session:
    """One logged-in vCenter session: ``stub`` and ``content`` as pyVmomi gives them."""

    def __init__(self, vcenter: VCenter) -> None:
        _check_pin(vcenter)
        self.si: Any = SmartConnect(
            host=vcenter.host,
            port=vcenter.port,
            user=vcenter.user,
            pwd=vcenter.password,
            disableSslCertValidation=True,  # pinned above: the lab's self-signed certificate, by its sha256
        )
        self.stub: Any = self.si._stub
        self.content: Any = self.si.RetrieveContent()
        self.instance_uuid = str(self.content.about.instanceUuid)

    def close(self) -> None:
        Disconnect(self.si)


def _check_pin(vcenter: VCenter) -> None:
    pem = ssl.get_server_certificate((vcenter.host, vcenter.port), timeout=10)
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    expected = vcenter.thumbprint.lower().removeprefix("sha256:").replace(":", "")
    if digest != expected:
        raise VSphereError(f"vCenter {vcenter.host}:{vcenter.port}: certificate sha256 {digest} is not the pinned one")


def wait(tasks: Sequence[Any], what: str, timeout: float = 600.0) -> list[Any]:
    """Wait for vCenter tasks; their results in order, or VSphereError naming ``what`` and the fault."""
    deadline, results = time.monotonic() + timeout, []
    for task in tasks:
        while (info := task.info).state in (vim.TaskInfo.State.queued, vim.TaskInfo.State.running):
            if time.monotonic() > deadline:
                raise VSphereError(f"{what}: still running after {timeout:.0f} s")
            time.sleep(0.01)
        if info.state != vim.TaskInfo.State.success:
            fault = info.error
            raise VSphereError(f"{what}: {getattr(fault, 'msg', None) or fault}")
        results.append(info.result)
    return results


def vm(session: Session, moref: str) -> Any:
    return vim.VirtualMachine(moref, session.stub)


def properties(session: Session, morefs: Sequence[str], paths: list[str]) -> dict[str, dict[str, Any]]:
    """The same properties of many VMs in one retrieval; a VM that is gone is left out."""
    if not morefs:
        return {}
    pc = vmodl.query.PropertyCollector
    spec = pc.FilterSpec(
        objectSet=[pc.ObjectSpec(obj=vm(session, m)) for m in morefs],
        propSet=[pc.PropertySpec(type=vim.VirtualMachine, pathSet=paths)],
        reportMissingObjectsInResults=True,
    )
    try:
        return _retrieve(session, spec)
    except GONE:  # vCenter failed the whole retrieval for one VM that is gone: ask one by one
        found: dict[str, dict[str, Any]] = {}
        for moref in morefs:
            try:
                found.update(properties(session, [moref], paths) if len(morefs) > 1 else {})
            except GONE:
                continue
        return found


def _retrieve(session: Session, spec: Any) -> dict[str, dict[str, Any]]:
    pc = session.content.propertyCollector
    result = pc.RetrievePropertiesEx([spec], vmodl.query.PropertyCollector.RetrieveOptions(maxObjects=1000))
    found: dict[str, dict[str, Any]] = {}
    while result is not None:
        for obj in result.objects or []:
            if not obj.missingSet:
                found[str(obj.obj._moId)] = {p.name: p.val for p in obj.propSet or []}
        result = pc.ContinueRetrievePropertiesEx(result.token) if result.token else None
    return found


def in_view(session: Session, kind: type, paths: list[str]) -> dict[str, dict[str, Any]]:
    """Properties of every object of a kind in the inventory (a container view)."""
    pc = vmodl.query.PropertyCollector
    content = session.content
    view = content.viewManager.CreateContainerView(content.rootFolder, [kind], True)
    try:
        into_view = pc.TraversalSpec(name="view", type=vim.view.ContainerView, path="view", skip=False)
        spec = pc.FilterSpec(
            objectSet=[pc.ObjectSpec(obj=view, skip=True, selectSet=[into_view])],
            propSet=[pc.PropertySpec(type=kind, pathSet=paths)],
        )
        return _retrieve(session, spec)
    finally:
        view.DestroyView()


def power(session: Session, moref: str, on: bool) -> None:
    """Power a VM on or off unless it already is."""
    state = properties(session, [moref], ["runtime.powerState"]).get(moref, {}).get("runtime.powerState")
    if state is None or str(state) == ("poweredOn" if on else "poweredOff"):
        return
    target = vm(session, moref)
    wait([target.PowerOnVM_Task() if on else target.PowerOffVM_Task()], f"power {'on' if on else 'off'} {moref}")


def register(session: Session, vmx_path: str, *, folder: str, pool: str, name: str, host: str | None = None) -> str:
    """Register a VM from its .vmx (MoRefs of folder, pool, optional host); the new VM's MoRef."""
    task = vim.Folder(folder, session.stub).RegisterVM_Task(
        path=vmx_path,
        name=name,
        asTemplate=False,
        pool=vim.ResourcePool(pool, session.stub),
        host=vim.HostSystem(host, session.stub) if host else None,
    )
    return str(wait([task], f"register {vmx_path}")[0]._moId)


def find_by_vmx(session: Session, datacenter: str, vmx_path: str) -> str | None:
    """The MoRef of the VM registered from ``"[ds] folder/vm.vmx"``, or None (SearchIndex, one call)."""
    dc = next(
        e for e in session.content.rootFolder.childEntity if isinstance(e, vim.Datacenter) and e.name == datacenter
    )
    found = session.content.searchIndex.FindByDatastorePath(dc, vmx_path)
    return str(found._moId) if found is not None else None


def split_datastore_path(path: str) -> tuple[str, str]:
    """``"[ds] folder/file"`` -> ``("ds", "folder/file")``."""
    if not path.startswith("[") or "]" not in path:
        raise VSphereError(f"not a datastore path: {path!r}")
    name, _, rest = path[1:].partition("]")
    return name, rest.strip()


# --- a site's inventory, read once when srmsim adopts it -------------------------------------------


@dataclass(frozen=True)
class Disk:
    key: int
    capacity_bytes: int
    file: str  # "[ds] folder/disk.vmdk"


@dataclass(frozen=True)
class Vm:
    name: str
    moref: str
    instance_uuid: str
    vmx_path: str
    powered_on: bool
    folder: str  # path below the datacenter's VM folder ("" = the VM folder itself)
    disks: tuple[Disk, ...]


@dataclass(frozen=True)
class Datastore:
    name: str
    moref: str
    url: str


@dataclass(frozen=True)
class Site:
    """What srmsim adopts from a site's vCenter: its datacenter, VM folders (path -> MoRef, "" = the VM
    folder), datastores, the first cluster's resource pool and a host of it, and the VMs."""

    datacenter: str
    folders: dict[str, str]
    datastores: tuple[Datastore, ...]
    pool: str
    host: str
    vms: tuple[Vm, ...]

    def datastore(self, name: str) -> Datastore | None:
        return next((d for d in self.datastores if d.name == name), None)


def read_site(session: Session) -> Site:
    dc = next(e for e in session.content.rootFolder.childEntity if isinstance(e, vim.Datacenter))
    folders = {"": str(dc.vmFolder._moId)}
    paths = {str(dc.vmFolder._moId): ""}
    pending = [(dc.vmFolder, "")]
    while pending:
        folder, path = pending.pop()
        for child in folder.childEntity:
            if isinstance(child, vim.Folder):
                child_path = f"{path}/{child.name}" if path else str(child.name)
                folders[child_path], paths[str(child._moId)] = str(child._moId), child_path
                pending.append((child, child_path))
    stores = in_view(session, vim.Datastore, ["name", "summary.url"])
    clusters = sorted(
        (props["name"], moref) for moref, props in in_view(session, vim.ClusterComputeResource, ["name"]).items()
    )
    pool = host = ""
    if clusters:
        cluster: Any = vim.ClusterComputeResource(clusters[0][1], session.stub)
        pool = str(cluster.resourcePool._moId)
        host = str(cluster.host[0]._moId) if cluster.host else ""
    wanted = ["name", "config.instanceUuid", "config.files.vmPathName", "runtime.powerState", "parent"]
    vms = in_view(session, vim.VirtualMachine, [*wanted, "config.hardware.device"])
    return Site(
        datacenter=str(dc.name),
        folders=folders,
        datastores=tuple(
            Datastore(str(p["name"]), moref, str(p.get("summary.url", "")))  # vcsim: the local directory
            for moref, p in sorted(stores.items())
        ),
        pool=pool,
        host=host,
        vms=tuple(
            Vm(
                name=str(p["name"]),
                moref=moref,
                instance_uuid=str(p.get("config.instanceUuid") or ""),
                vmx_path=str(p.get("config.files.vmPathName") or ""),
                powered_on=str(p.get("runtime.powerState")) == "poweredOn",
                folder=paths.get(str(p["parent"]._moId), "") if p.get("parent") is not None else "",
                disks=tuple(
                    Disk(int(d.key), int(d.capacityInBytes or 0), str(getattr(d.backing, "fileName", "")))
                    for d in p.get("config.hardware.device") or []
                    if isinstance(d, vim.vm.device.VirtualDisk)
                ),
            )
            for moref, p in sorted(vms.items())
        ),
    )
