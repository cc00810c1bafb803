"""srmsim's effects in the lab's vCenters (vcsim): what SRM and VR would do through a real vCenter.

:class:`NullMirror` is the in-memory simulator (client and contract tests): every effect is a no-op and ids
are srmsim's own. :class:`VCenterMirror` is used when the config gives a site's ``vcenter``: srmsim then
adopts that vCenter's world (its instance UUID, MoRefs, VMs and datastore directories) and mirrors power
operations, registrations, VR's footprint (``config.repConfig`` + ``hbr_filter.*``) and events into it.

Identity across sites (vcsim derives a registered VM's instance UUID from its .vmx path, so a replica
registered at the other site would get a new one): after registering a recovered VM srmsim writes the
protected VM's instance UUID back with ReconfigVM and records the original in extraConfig
(``srmsim.original_instance_uuid``, ``srmsim.original_moref``) and in its own state (``SimVm.original_uuid``),
so later steps can match the VM by name + original instance UUID as they would on real sites.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import threading
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyVmomi import vim

from srmctl.errors import NotFound
from srmctl.srmsim import provision, vsphere
from srmctl.srmsim.name_gate import NameGate
from srmctl.srmsim.vsphere import GONE, Session, VCenter


@dataclass(frozen=True)
class Registration:
    """A VM to register at a site from files that already exist there."""

    name: str
    vmx_path: str  # "[ds] folder/vm.vmx"
    folder: str  # wanted folder path below the datacenter's VM folder ("" = root); falls back to the root
    disks: tuple[tuple[int, int, str], ...]  # (device key, bytes, "[ds] folder/disk.vmdk")
    instance_uuid: str | None  # identity to re-apply, None keeps vcsim's
    extra_config: tuple[tuple[str, str], ...] = ()
    annotation: str | None = None
    pool: str = ""  # resource pool MoRef (the mapped one); "" = the site's first cluster's


# SRM's placeholder VMs are managed by its vCenter extension: config.managedBy = {extensionKey
# "com.vmware.vcDr", type "placeholderVm"} (what PowerCLI's Get-PlaceholderVM and vSphere's "Placeholder VM"
# icon key on; the VR API's VirtualMachine.managed_by_info carries the same pair).
SRM_EXTENSION = "com.vmware.vcDr"
PLACEHOLDER_TYPE = "placeholderVm"


@dataclass(frozen=True)
class SiteObjects:
    """What inventory mappings name at one site: VM folders by path ("" = the datacenter's VM folder),
    resource pools (MoRef -> cluster name, roots of clusters only) and networks (MoRef -> name), plus each
    VM's resource pool and networks (VM MoRef -> (pool MoRef, network MoRefs))."""

    folders: dict[str, str]
    pools: dict[str, str]
    networks: dict[str, str]
    vms: dict[str, tuple[str, tuple[str, ...]]]


# srmctl unregisters VMs behind srmsim's back (orphans.unregister): an effect on a VM that is no longer
# registered is moot, as it is for SRM, which re-reads vCenter.
_GONE = (NotFound, *GONE)
# vcsim's own marker, VR's footprint (belongs to the source VM only) and srmsim's identity keys (re-derived)
_NOT_COPIED = ("govcsim", "hbr_filter.", "srmsim.")


class NullMirror:
    """No vCenter behind the site: srmsim's state is the only world (the in-memory simulator)."""

    enabled = False

    def sites(self) -> tuple[str, ...]:
        return ()

    def inventory(self, site: str) -> vsphere.Site:
        raise NotFound(f"site {site} has no vCenter")

    def vc_guid(self, site: str) -> str:
        raise NotFound(f"site {site} has no vCenter")

    def power(self, site: str, moref: str, on: bool) -> None:
        return None

    def registered(self, site: str, vmx_path: str) -> str | None:
        return None

    def name_taken(self, site: str, folder: str, name: str) -> bool | None:
        """Whether a VM named ``name`` is registered in folder ``folder`` (None: no vCenter to ask)."""
        return None

    def vm_config(self, site: str, moref: str) -> dict[str, str]:
        """The parts of a VM's .vmx that a registration loses on vcsim: annotation and user extraConfig."""
        return {}

    def register(self, site: str, spec: Registration) -> str | None:
        return None

    def objects(self, site: str) -> SiteObjects:
        raise NotFound(f"site {site} has no vCenter")

    def create_placeholder(self, site: str, name: str, folder: str, pool: str, datastore: str) -> tuple[str, str]:
        """A placeholder VM (no disks) managed by SRM: (MoRef, .vmx datastore path)."""
        return "", ""

    def register_placeholder(self, site: str, name: str, vmx_path: str, folder: str, pool: str) -> str:
        return ""

    def unregister(self, site: str, moref: str) -> None:
        return None

    def set_replication(self, site: str, moref: str, config: provision.ReplicationConfig | None) -> None:
        return None

    def grow_disk(self, site: str, moref: str, device_key: int, capacity: int) -> None:
        return None

    def event(self, site: str, moref: str, name: str, message: str) -> None:
        return None

    def live(self, site: str, morefs: Collection[str] | None = None) -> dict[str, str] | None:
        """MoRef -> power state (``poweredOn``...) of the VMs registered now (all, or those of ``morefs`` that
        still are), or None when unknown (no vCenter)."""
        return None

    def close(self) -> None:
        return None


@dataclass
class _Site:
    session: Session
    lock: threading.Lock
    endpoint: VCenter
    idle: queue.SimpleQueue[Session]  # sessions not in use; at most SESSIONS_PER_SITE in all
    opened: list[Session]
    datacenter: str
    folders: dict[str, str]  # path -> MoRef, "" = the datacenter's VM folder
    pool: str  # resource pool of the first cluster
    host: str  # a host of that cluster
    names: NameGate  # name lookups never overlap VM creations (a vcsim hang; see name_gate)


#: Sessions per site's vCenter: srmsim's task threads (syncs, a priority group's VMs) use them side by side.
SESSIONS_PER_SITE = 6


class VCenterMirror(NullMirror):
    """A few sessions per site's vCenter. pyvmomi stubs are not meant for concurrent use, and plan runs and
    syncs are threads, so each call leases a session of its own (opened on demand, at most
    :data:`SESSIONS_PER_SITE`); tasks of many VMs then overlap as vCenter's own tasks would."""

    enabled = True

    def __init__(self, endpoints: dict[str, VCenter]) -> None:
        self._sites: dict[str, _Site] = {}
        try:
            for name, endpoint in endpoints.items():
                session = Session(endpoint)
                inventory = vsphere.read_site(session)
                self._sites[name] = _Site(
                    session=session,
                    lock=threading.Lock(),
                    endpoint=endpoint,
                    idle=queue.SimpleQueue(),
                    opened=[session],
                    datacenter=inventory.datacenter,
                    folders=inventory.folders,
                    pool=inventory.pool,
                    host=inventory.host,
                    names=NameGate(),
                )
                self._sites[name].idle.put(session)
        except BaseException:
            self.close()
            raise

    def sites(self) -> tuple[str, ...]:
        return tuple(self._sites)

    @contextlib.contextmanager
    def _use(self, site: str) -> Iterator[_Site]:
        entry = self._sites[site]
        session = self._lease(entry)
        try:
            yield dataclasses.replace(entry, session=session)
        finally:
            entry.idle.put(session)

    @staticmethod
    def _lease(entry: _Site) -> Session:
        with entry.lock:
            if len(entry.opened) < SESSIONS_PER_SITE and entry.idle.empty():
                entry.opened.append(Session(entry.endpoint))
                return entry.opened[-1]
        return entry.idle.get()

    def inventory(self, site: str) -> vsphere.Site:
        with self._use(site) as s:
            return vsphere.read_site(s.session)

    def vc_guid(self, site: str) -> str:
        with self._use(site) as s:
            return s.session.instance_uuid

    def power(self, site: str, moref: str, on: bool) -> None:
        with self._use(site) as s, contextlib.suppress(*_GONE):
            vsphere.power(s.session, moref, on)

    def registered(self, site: str, vmx_path: str) -> str | None:
        with self._use(site) as s:
            return vsphere.find_by_vmx(s.session, s.datacenter, vmx_path)

    def name_taken(self, site: str, folder: str, name: str) -> bool:
        """One SearchIndex.FindChild call ("Finds a particular child based on a managed entity name"), not a
        read of the whole inventory per placeholder."""
        with self._sites[site].names.finding(), self._use(site) as s:
            parent = vim.Folder(s.folders.get(folder, s.folders[""]), s.session.stub)
            return s.session.content.searchIndex.FindChild(parent, name) is not None

    def vm_config(self, site: str, moref: str) -> dict[str, str]:
        with self._use(site) as s, contextlib.suppress(*_GONE):
            props = vsphere.properties(s.session, [moref], ["config.annotation", "config.extraConfig"]).get(moref)
            if props is None:
                return {}
            config = {
                o.key: str(o.value) for o in props.get("config.extraConfig") or [] if not o.key.startswith(_NOT_COPIED)
            }
            if props.get("config.annotation"):
                config["annotation"] = str(props["config.annotation"])
            return config
        return {}

    def register(self, site: str, spec: Registration) -> str:
        with self._sites[site].names.creating(), self._use(site) as s:
            folder = s.folders.get(spec.folder, s.folders[""])
            moref = vsphere.register(
                s.session,
                spec.vmx_path,
                folder=folder,
                pool=spec.pool or s.pool,
                name=spec.name,
                host=None if spec.pool else s.host or None,
            )
            provision.attach_disks(s.session, moref, spec.disks)
            provision.set_identity(
                s.session,
                moref,
                instance_uuid=spec.instance_uuid,
                annotation=spec.annotation,
                extra_config=dict(spec.extra_config),
            )
            return moref

    def objects(self, site: str) -> SiteObjects:
        with self._use(site) as s:
            content = s.session.content
            view = content.viewManager.CreateContainerView(
                content.rootFolder, [vim.ClusterComputeResource, vim.Network, vim.VirtualMachine], True
            )
            try:
                found = list(view.view)
            finally:
                view.Destroy()
            pools = {
                c.resourcePool._moId: c.name
                for c in found
                if isinstance(c, vim.ClusterComputeResource) and c.resourcePool is not None
            }
            networks = {n._moId: n.name for n in found if isinstance(n, vim.Network)}
            vms = {
                v._moId: (v.resourcePool._moId if v.resourcePool else "", tuple(n._moId for n in v.network))
                for v in found
                if isinstance(v, vim.VirtualMachine)
            }
            return SiteObjects(folders=dict(s.folders), pools=pools, networks=networks, vms=vms)

    def create_placeholder(self, site: str, name: str, folder: str, pool: str, datastore: str) -> tuple[str, str]:
        """CreateVM_Task with ``[datastore]`` as vmPathName: vCenter names the home folder after the VM (and
        picks another name when that folder exists, so a replica's folder is never touched)."""
        with self._sites[site].names.creating(), self._use(site) as s:
            managed = vim.ext.ManagedByInfo(extensionKey=SRM_EXTENSION, type=PLACEHOLDER_TYPE)
            spec = provision.new_vm_spec(name, datastore, managedBy=managed)
            parent = vim.Folder(s.folders.get(folder, s.folders[""]), s.session.stub)
            task = parent.CreateVM_Task(config=spec, pool=vim.ResourcePool(pool or s.pool, s.session.stub))
            vm = vsphere.wait([task], f"create placeholder VM {name}")[0]
            return str(vm._moId), str(vm.config.files.vmPathName)

    def register_placeholder(self, site: str, name: str, vmx_path: str, folder: str, pool: str) -> str:
        """Register a placeholder again from its kept .vmx (after a test), managed by SRM again."""
        with self._sites[site].names.creating(), self._use(site) as s:
            moref = vsphere.register(
                s.session, vmx_path, folder=s.folders.get(folder, s.folders[""]), pool=pool or s.pool, name=name
            )
            managed = vim.ext.ManagedByInfo(extensionKey=SRM_EXTENSION, type=PLACEHOLDER_TYPE)
            vsphere.wait(
                [vsphere.vm(s.session, moref).ReconfigVM_Task(vim.vm.ConfigSpec(managedBy=managed))],
                f"mark {name} as SRM placeholder",
            )
            return moref

    def unregister(self, site: str, moref: str) -> None:
        with self._use(site) as s, contextlib.suppress(*_GONE):
            vsphere.power(s.session, moref, on=False)
            vsphere.vm(s.session, moref).UnregisterVM()

    def set_replication(self, site: str, moref: str, config: provision.ReplicationConfig | None) -> None:
        with self._use(site) as s, contextlib.suppress(*_GONE):
            provision.set_replication_config(s.session, moref, config)

    def grow_disk(self, site: str, moref: str, device_key: int, capacity: int) -> None:
        with self._use(site) as s:
            provision.grow_disk(s.session, moref, device_key, capacity)

    def event(self, site: str, moref: str, name: str, message: str) -> None:
        with self._use(site) as s, contextlib.suppress(*_GONE):
            provision.post_vm_event(s.session, moref, name, message)

    def live(self, site: str, morefs: Collection[str] | None = None) -> dict[str, str]:
        # One retrieval of the power state alone, not the whole inventory: srmsim asks before every VR call
        # that names replications, and reading every VM's devices each time made a 1,000-VM failback
        # quadratic (minutes of srmsim CPU in pyVmomi's deserializer).
        with self._use(site) as s:
            return _power_states(s.session, morefs)

    def close(self) -> None:
        for entry in self._sites.values():
            for session in entry.opened:
                with contextlib.suppress(Exception):
                    session.close()
        self._sites.clear()


def _power_states(session: Session, morefs: Collection[str] | None) -> dict[str, str]:
    """MoRef -> ``runtime.powerState`` of every registered VM (through a container view), or of those of
    ``morefs`` still registered (a VM gone from vCenter is left out)."""
    paths = ["runtime.powerState"]
    found = (
        vsphere.properties(session, sorted(morefs), paths)
        if morefs is not None
        else vsphere.in_view(session, vim.VirtualMachine, paths)
    )
    return {moref: str(props["runtime.powerState"]) for moref, props in found.items()}


def endpoint_of(conf: dict[str, Any]) -> VCenter:
    """A site's ``vcenter:`` config: host, port, user, password_file and thumbprint (the lab writes its vCenter
    endpoint there as it holds it in ``lab.yaml``)."""
    return VCenter(
        host=conf["host"],
        port=int(conf["port"]),
        user=conf["user"],
        password=Path(conf["password_file"]).read_text().strip(),
        thumbprint=conf["thumbprint"],
    )


def disks_at(datastore: str, disks: Sequence[tuple[int, int, str]]) -> tuple[tuple[int, int, str], ...]:
    """Disk files relative to a datastore directory as datastore paths."""
    return tuple((key, size, f"[{datastore}] {path}") for key, size, path in disks)
