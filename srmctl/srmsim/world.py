"""srmsim's world: the sites, groups, plans, replications and tasks behind one lock, with the lookups the
operation modules and the route handlers use. The task runner (workers that sleep outside the lock) is
:mod:`srmctl.srmsim.task_runner`, which the world inherits.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Collection
from pathlib import Path
from typing import Any

from srmctl.srmsim.history import SimHistory
from srmctl.srmsim.latency import FAST, LatencyProfile
from srmctl.srmsim.model import (
    Replications,
    SimDatastore,
    SimDisk,
    SimError,
    SimGroup,
    SimMapping,
    SimPlan,
    SimReplication,
    SimSite,
    SimTask,
    SimVm,
    SyncProfile,
    TaskFault,
    not_found,
)
from srmctl.srmsim.task_runner import PARALLEL, Failed, TaskContext, TaskRunner
from srmctl.srmsim.vcenter import NullMirror

# Defined in the task runner and imported from here by the operation modules, as before.
__all__ = ["PARALLEL", "Failed", "TaskContext", "World"]

# --- the world ------------------------------------------------------------------------------------


class World(TaskRunner):
    def __init__(
        self,
        *,
        tick: float = 0.02,
        pairing_id: str | None = None,
        mirror: NullMirror | None = None,
        latency: LatencyProfile = FAST,
    ) -> None:
        super().__init__()
        self.lock = threading.RLock()
        self.latency = latency  # how long each kind of task takes (srmsim/latency.py)
        self.mirror = mirror or NullMirror()  # the sites' vCenters, where srmsim's effects become real
        self.tick = tick  # seconds per simulated step (tasks advance in ticks)
        self.pairing_id = pairing_id or str(uuid.uuid4())  # the SRM pairing
        # The VR pairing is a separate object with its own id (VR spec, "Get a list of all existing pairings."
        # on the VR API lists VR pairings); VR operations under the SRM pairing id answer 404.
        self.vr_pairing_id = str(uuid.uuid4())
        self.sync_profiles: dict[str, SyncProfile] = {}  # VM name -> how long its syncs take (tests)
        self.sites: dict[str, SimSite] = {}
        self.groups: dict[str, SimGroup] = {}
        self.plans: dict[str, SimPlan] = {}
        self.replications = Replications()
        self.tasks: dict[str, SimTask] = {}
        self.mappings: dict[str, SimMapping] = {}  # inventory mappings of both SRM servers, by id
        self.placeholder_datastores: dict[str, list[str]] = {}  # site -> its datastore ids for placeholders
        self.task_faults: list[TaskFault] = []
        self.auto_dismiss_prompts = False  # scenario seeding answers prompts itself
        self.history: list[SimHistory] = []  # every plan run's report (srmsim/history.py)
        self.peer_ids: dict[tuple[str, str], dict[str, str]] = {}  # (site, api) -> its ids -> internal (ids.py)
        # The link between the sites and the plan states it makes (srmsim/peers.py).
        self.link_up = True
        self.link_cut_at: str | None = None  # the recovery step at which the link breaks
        self.recovery_started: set[str] = set()  # plans whose recovery the broken link stopped
        self.disconnected_edits: dict[str, set[str]] = {}  # plan id -> sites whose servers edited it, link down
        self.sync_conflicts: set[str] = set()  # plans edited at both sites while the link was down

    # -- lookup ----------------------------------------------------------------------------------

    def site(self, name: str) -> SimSite:
        return self.sites[name]

    def other(self, site: str) -> str:
        return next(name for name in self.sites if name != site)

    def site_of_vc(self, vc_guid: str) -> SimSite:
        for site in self.sites.values():
            if site.vc_guid == vc_guid:
                return site
        raise SimError(400, "INVALID_VC_GUID", f"no vCenter {vc_guid} in the pairing")

    def site_of_srm(self, srm_id: str) -> SimSite:
        """The site whose SRM server has this id (``srm_id`` of the pairing's ``local_srm_server`` or
        ``remote_srm_server``); any other id is not found."""
        for site in self.sites.values():
            if site.srm_id == srm_id:
                return site
        raise not_found(f"SRM server {srm_id}")

    def find_vm(self, vm_id: str) -> SimVm:
        for site in self.sites.values():
            if vm_id in site.vms:
                return site.vms[vm_id]
        raise not_found(f"VM {vm_id}")

    def group(self, group_id: str) -> SimGroup:
        if group_id not in self.groups:
            raise not_found(f"protection group {group_id}")
        return self.groups[group_id]

    def plan(self, plan_id: str) -> SimPlan:
        if plan_id not in self.plans:
            raise not_found(f"recovery plan {plan_id}")
        return self.plans[plan_id]

    def replication(self, replication_id: str) -> SimReplication:
        if replication_id not in self.replications:
            raise not_found(f"replication {replication_id}")
        return self.replications[replication_id]

    def replication_of_vm(self, vm_id: str) -> SimReplication | None:
        return self.replications.of_vm(vm_id)

    def pairing_at(self, site: str, api: str) -> str:
        """The pairing's id at one server. Each SRM and VR server keeps its own database, so its own record of
        the pairing: srmsim takes the stricter reading that the ids differ per server (no public document
        says they are equal), so a client that carries a pairing id from one server to another fails."""
        record = self.site(site)
        guid = record.vrms_id if api == "vr" else record.srm_id
        return str(uuid.uuid5(uuid.UUID(guid), self.vr_pairing_id if api == "vr" else self.pairing_id))

    def check_pairing(self, pairing_id: str, api: str, site: str) -> None:
        """404 unless ``pairing_id`` is this server's pairing (an SRM pairing id is no VR pairing id, and no
        other site's)."""
        if pairing_id != self.pairing_at(site, api):
            raise not_found(f"pairing {pairing_id}")

    def vm_at(self, vc_guid: str, vm_id: str) -> SimVm:
        site = self.site_of_vc(vc_guid)
        if vm_id not in site.vms:
            raise not_found(f"VM {vm_id}")
        return site.vms[vm_id]

    def group_member(self, group_id: str, vm_id: str) -> str:
        if vm_id not in self.group(group_id).vm_ids:
            raise not_found(f"VM {vm_id} in protection group")
        return vm_id

    def all_groups(self) -> list[SimGroup]:
        return list(self.groups.values())

    def all_plans(self) -> list[SimPlan]:
        return list(self.plans.values())

    def replications_from(self, source_vc_guid: str | None) -> list[SimReplication]:
        """Every replication, or those whose source is the given vCenter."""
        return [
            r
            for r in self.replications.values()
            if not source_vc_guid or self.site(r.source_site).vc_guid == source_vc_guid
        ]

    def unprotected_replicated_vms(self, vc_guid: str) -> list[SimVm]:
        """SRM's replicated-vms: VMs of a vCenter that VR replicates and no protection group holds yet."""
        grouped = {vm_id for g in self.groups.values() for vm_id in g.vm_ids}
        return [
            vm for vm in self.site_of_vc(vc_guid).vms.values() if self.replication_of_vm(vm.id) and vm.id not in grouped
        ]

    def tasks_of(self, site: str, api: str) -> list[SimTask]:
        return [t for t in self.tasks.values() if t.site == site and t.api == api]

    def task_of(self, site: str, api: str, task_id: str) -> SimTask:
        """A task as the appliance that started it knows it (another site's or API's task is not found)."""
        task = self.tasks.get(task_id)
        if task is None or task.site != site or task.api != api:
            raise not_found(f"task {task_id}")
        return task

    def refresh(self, site_name: str, morefs: Collection[str] | None = None) -> None:
        """Re-read registrations and power states from the site's vCenter (of every VM, or of ``morefs``):
        srmctl unregisters orphans and powers VMs off itself, and VR lists VMs as vCenter has them (a no-op
        in memory)."""
        live = self.mirror.live(site_name, morefs)
        if live is None:
            return
        with self.lock:
            for vm in self.site(site_name).vms.values():
                if vm.moref and vm.registered and (morefs is None or vm.moref in morefs):
                    vm.registered = vm.moref in live
                    vm.power_state = "POWERED_ON" if live.get(vm.moref) == "poweredOn" else "POWERED_OFF"
            self.drop_unconfigured()

    def drop_unconfigured(self) -> None:
        """vSphere Replication admin guide, "Recovering Virtual Machines": "When the source virtual machine
        is no longer in the vCenter Server inventory, the replication is unconfigured. Unconfigured
        replications do not appear in [...] the Incoming Replications or Outgoing Replications tabs." A
        RECOVERED replication whose source VM was unregistered goes away (its replica disks stay: the
        recovered VM runs on them)."""
        for replication in list(self.replications.values()):
            if not replication.recovered:  # RECOVERED, or RPO_VIOLATION once a disaster's site is back
                continue
            vm = next((s.vms[replication.vm_id] for s in self.sites.values() if replication.vm_id in s.vms), None)
            if vm is None or not vm.registered:
                del self.replications[replication.id]

    def peer_reachable(self, site: str) -> bool:
        """Whether ``site``'s servers reach the paired site's: it is up and the link between them too."""
        return self.sites[self.other(site)].up and self.link_up

    def require_up(self, site: str) -> None:
        if not self.sites[site].up:
            raise SimError(500, "REMOTE_SITE_DOWN", f"site {site} is not reachable")

    # -- inventory -------------------------------------------------------------------------------

    def add_site(self, name: str, moref_base: int, vc_guid: str | None = None) -> SimSite:
        vc_guid = vc_guid or str(uuid.uuid4())
        site = SimSite(
            name=name,
            vc_guid=vc_guid,
            srm_id=str(uuid.uuid4()),
            vrms_id=str(uuid.uuid4()),
            moref_base=moref_base,
            # Like a vCenter host name, unlike the topology's key, and the same each time the lab starts (an
            # SRM site keeps the name it was installed with).
            srm_name=f"vcsa-{hashlib.sha256(name.encode()).hexdigest()[:8]}.lab.local",
        )
        self.sites[name] = site
        return site

    def add_datastore(
        self, site: SimSite, name: str, directory: Path, number: int, moref: str | None = None
    ) -> SimDatastore:
        directory.mkdir(parents=True, exist_ok=True)
        moref = moref or f"datastore-{site.moref_base + number}"
        ds = SimDatastore(id=f"Datastore:{moref}:{site.vc_guid}", name=name, directory=directory)
        site.datastores[ds.id] = ds
        return ds

    def create_vm(
        self, site: SimSite, name: str, datastore: SimDatastore, folder: str, sizes: list[int], power_on: bool
    ) -> SimVm:
        """A VM with real files: ``<name>/<name>.vmx`` and one flat file of random bytes per disk."""
        home = datastore.directory / name
        home.mkdir(parents=True, exist_ok=True)
        (home / f"{name}.vmx").write_text(f'displayName = "{name}"\n')
        disks = []
        for index, size in enumerate(sizes):
            filename = f"{name}/{name}{'' if index == 0 else f'_{index}'}.vmdk"
            _write_random(datastore.directory / filename, size)
            disks.append(SimDisk(device_key=2000 + index, capacity=size, filename=filename))
        vm = SimVm(
            id=site.next_vm_id(),
            name=name,
            instance_uuid=str(uuid.uuid4()),
            site=site.name,
            datastore_id=datastore.id,
            folder=folder,
            disks=disks,
            power_state="POWERED_ON" if power_on else "POWERED_OFF",
        )
        site.vms[vm.id] = vm
        return vm

    def snapshot(self) -> dict[str, Any]:
        """The whole world as plain data (``GET /srmsim/state``, for tests and the lab)."""
        with self.lock:
            return {
                "pairings": {name: {api: self.pairing_at(name, api) for api in ("srm", "vr")} for name in self.sites},
                "sites": {
                    name: {
                        "up": s.up,
                        "vc_guid": s.vc_guid,
                        "vms": [
                            {
                                "id": v.id,
                                "name": v.name,
                                "power_state": v.power_state,
                                "role": v.role,
                                "moref": v.moref,
                                "instance_uuid": v.instance_uuid,
                                "original_instance_uuid": v.original_uuid,
                                "registered": v.registered,
                                "folder": v.folder,
                                "guest_ip": {str(k): t for k, t in v.guest_ip.items()},
                            }
                            for v in s.vms.values()
                        ],
                    }
                    for name, s in self.sites.items()
                },
                "plans": [
                    {"id": p.id, "name": p.name, "status": p.status, "protected_site": p.protected_site}
                    for p in self.plans.values()
                ],
                "groups": [
                    {"id": g.id, "name": g.name, "status": g.status, "protected_site": g.protected_site}
                    for g in self.groups.values()
                ],
                "replications": [
                    {
                        "id": r.id,
                        "name": r.name,
                        "vm_id": r.vm_id,
                        "status": r.status,
                        "source": r.source_site,
                        "target": r.target_site,
                        "bytes": dict(r.totals),
                    }
                    for r in self.replications.values()
                ],
            }


def _write_random(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        remaining = size
        while remaining > 0:
            chunk = min(remaining, 1 << 20)
            handle.write(os.urandom(chunk))
            remaining -= chunk
