"""srmsim's world: two sites with datastores (real directories), VMs and disks, vSphere Replication
replications, SRM protection groups and recovery plans with per-VM recovery settings, tasks.

This module knows nothing about HTTP: handlers (``server.py``) translate requests into calls on
:class:`World` and render the objects it returns. All state changes happen under one lock; long-running
operations (plan runs, replication sync) run as :class:`SimTask` workers that sleep outside the lock.
"""

from __future__ import annotations

import fnmatch
import itertools
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srmctl.srmsim.vcenter import NullMirror

PRIORITIES = ("P1", "P2", "P3", "P4", "P5")
HEALTHY_REPLICATION = {"OK", "SYNC", "FULL_SYNC", "INITIAL_FULL_SYNC", "CONFIGURING"}
WARNING_REPLICATION = {"RPO_VIOLATION", "PAUSED", "SYNC_RPO_VIOLATION", "FULL_SYNC_RPO_VIOLATION"}
BLOCK = 64 * 1024  # replication block: seeds transfer only blocks whose checksums differ


class SimError(Exception):
    """A request the simulated appliance refuses: becomes ``{error_code, message, op_id}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def not_found(what: str) -> SimError:
    return SimError(404, "NOT_FOUND", f"{what} not found")


def now_ms() -> int:
    return int(time.time() * 1000)


# --- inventory ------------------------------------------------------------------------------------


@dataclass
class SimDatastore:
    id: str
    name: str
    directory: Path


@dataclass
class SimDisk:
    device_key: int
    capacity: int  # bytes
    filename: str  # relative to the datastore directory, e.g. "mail04/mail04_1.vmdk"


@dataclass
class SimVm:
    id: str
    name: str
    instance_uuid: str
    site: str
    datastore_id: str
    folder: str
    disks: list[SimDisk]
    power_state: str = "POWERED_OFF"
    role: str = "vm"  # vm | replica | test
    moref: str = ""  # in the site's vCenter, when srmsim mirrors into one ("" in memory)
    vmx: str = ""  # the .vmx relative to its datastore directory ("mail04/mail04.vmx"), when known
    original_uuid: str = ""  # a recovered VM: the protected VM's instance UUID (identity across sites)
    registered: bool = True  # False once unregistered from its vCenter (by srmctl or a reprotect)

    @property
    def home(self) -> str:
        if self.vmx:
            return self.vmx.rsplit("/", 1)[0]
        return self.disks[0].filename.split("/")[0] if self.disks else self.name

    @property
    def vmx_file(self) -> str:
        return self.vmx or f"{self.home}/{self.name}.vmx"


@dataclass
class SimSite:
    name: str
    vc_guid: str
    srm_id: str
    vrms_id: str
    datastores: dict[str, SimDatastore] = field(default_factory=dict)
    vms: dict[str, SimVm] = field(default_factory=dict)
    up: bool = True
    moref_base: int = 0
    outage_powered_off: list[str] = field(default_factory=list)  # VM ids a site outage powered off
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def next_vm_id(self) -> str:
        return self.vm_id(f"vm-{self.moref_base + next(self._counter)}")

    def vm_id(self, moref: str) -> str:
        return f"VirtualMachine:{moref}:{self.vc_guid}"

    def ds_path(self, datastore_id: str, path: str) -> str:
        """``"[ESX1_LOCAL] mail04/mail04.vmx"`` for a path relative to a datastore directory."""
        return f"[{self.datastores[datastore_id].name}] {path}"

    def datastore_by_name(self, name: str) -> SimDatastore:
        for ds in self.datastores.values():
            if ds.name == name:
                return ds
        raise SimError(400, "INVALID_DATASTORE", f"datastore {name!r} not at site {self.name}")


# --- vSphere Replication --------------------------------------------------------------------------


@dataclass
class ReplicaDisk:
    device_key: int
    datastore_id: str
    filename: str  # replica file, relative to the target datastore directory
    use_seeds: bool


@dataclass
class SimReplication:
    id: str
    vm_id: str
    name: str
    source_site: str
    target_site: str
    rpo: int
    quiesce: bool
    compression: bool
    home_datastore_id: str
    disks: list[ReplicaDisk]
    status: str = "CONFIGURING"
    configuration_state: str = "IN_PROGRESS"
    last_sync_time: int = 0
    sync: dict[str, int] = field(default_factory=dict)
    generation: int = 1  # bumped on reconfigure, as VR does on the source VM's repConfig
    vmx_config: dict[str, str] = field(default_factory=dict)  # annotation + extraConfig as the last sync saw them
    totals: dict[str, int] = field(default_factory=dict)  # bytes of the last sync: full copy vs transferred


# --- SRM ------------------------------------------------------------------------------------------


@dataclass
class VmSettings:
    priority: str = "P3"
    startup_action: str = "POWER_ON"
    tools_timeout: int = 300
    delay: int = 0
    skip_guest: bool = False
    shutdown_timeout: int = 300
    ip_customization_type: str = "AUTO"
    nic_settings: list[dict[str, Any]] = field(default_factory=list)
    pre: list[dict[str, Any]] = field(default_factory=list)  # Callout dicts (with ids)
    post: list[dict[str, Any]] = field(default_factory=list)
    dependent: list[str] = field(default_factory=list)  # VM ids
    change_version: int = 1


@dataclass
class SimGroup:
    id: str
    name: str
    description: str
    protected_site: str
    vm_ids: list[str]
    status: str = "OK"


@dataclass
class CustomStep:
    id: int
    anchor: str  # position_spec_position
    name: str
    content: str
    callout_type: str
    timeout: int


@dataclass
class Prompt:
    id: str
    description: str
    text: str
    callout_id: str
    raised: int
    dismissed: threading.Event = field(default_factory=threading.Event)


@dataclass
class SimPlan:
    id: str
    name: str
    description: str
    protected_site: str
    group_ids: list[str]
    status: str = "READY_STATE"
    settings: dict[str, VmSettings] = field(default_factory=dict)  # protected VM id -> settings
    custom: dict[str, list[CustomStep]] = field(default_factory=dict)  # view mode -> steps
    prompts: dict[str, Prompt] = field(default_factory=dict)
    step_status: dict[str, dict[int, str]] = field(default_factory=dict)  # view mode -> step id -> status
    vm_status: dict[str, str] = field(default_factory=dict)
    progress: int = 0
    running: bool = False
    cancel: threading.Event = field(default_factory=threading.Event)


STANDARD_STEPS: dict[str, list[tuple[str, str]]] = {
    "recovery": [
        ("BEFORE_PRESYNC_STORAGE", "Pre-synchronize storage"),
        ("BEFORE_SHUTDOWN_PROTECTED_SITE_VMS", "Shut down VMs at protected site"),
        ("BEFORE_SYNC_STORAGE", "Synchronize storage"),
        ("BEFORE_PREPARE_STORAGE", "Prepare storage"),
        ("BEFORE_SUSPEND_RECOVERY_SITE_VMS", "Suspend non-critical VMs at recovery site"),
        *[(f"BEFORE_RECOVER_PRIORITY_{n}_VMS", f"Power on priority {n} VMs") for n in range(1, 6)],
    ],
    "test": [
        ("BEFORE_SYNC_STORAGE", "Synchronize storage"),
        ("BEFORE_PREPARE_STORAGE", "Create writable storage snapshot"),
        ("BEFORE_SUSPEND_RECOVERY_SITE_VMS", "Suspend non-critical VMs at recovery site"),
        *[(f"BEFORE_RECOVER_PRIORITY_{n}_VMS", f"Power on priority {n} VMs") for n in range(1, 6)],
    ],
    "cleanup": [
        ("BEFORE_POWER_OFF_RECOVERY_SITE_VMS", "Power off test VMs"),
        ("BEFORE_RESUME_RECOVERY_SITE_VMS", "Resume suspended VMs at recovery site"),
        ("BEFORE_CLEANUP_RECOVERY_UNITS", "Discard test data and reset storage"),
    ],
    "reprotect": [
        ("BEFORE_CONFIGURE_STORAGE", "Configure storage to reverse direction"),
        ("BEFORE_REVERSE_REPLICATION", "Reverse replication"),
        ("BEFORE_CREATE_PLACEHOLDER_VMS", "Configure protection"),
    ],
}
CUSTOM_VIEWS = ("test", "recovery")


# --- tasks ----------------------------------------------------------------------------------------


@dataclass
class SimTask:
    id: str
    site: str
    api: str  # srm | vr
    description: str
    entity: str | None
    entity_name: str | None
    status: str = "QUEUED"
    progress: int = 0
    error: str | None = None
    result: Any = None
    queued: int = field(default_factory=now_ms)
    started: int | None = None
    completed: int | None = None


@dataclass
class TaskFault:
    pattern: str  # fnmatch on the task description
    kind: str  # error | slow
    count: int
    message: str = "Injected failure"
    factor: float = 10.0


class TaskContext:
    """What an operation running as a task may do: report progress, pause, check cancellation."""

    def __init__(self, world: World, task: SimTask, slow: float) -> None:
        self.world = world
        self.task = task
        self.slow = slow

    def progress(self, value: int) -> None:
        with self.world.lock:
            self.task.progress = max(self.task.progress, min(99, value))

    def pause(self, ticks: float = 1.0) -> None:
        time.sleep(self.world.tick * ticks * self.slow)


class Failed(Exception):
    """Raised inside a task worker to end the task in ERROR."""


# --- the world ------------------------------------------------------------------------------------


class World:
    def __init__(self, *, tick: float = 0.02, pairing_id: str | None = None,
                 mirror: NullMirror | None = None) -> None:
        self.lock = threading.RLock()
        self.mirror = mirror or NullMirror()  # the sites' vCenters, where srmsim's effects become real
        self.tick = tick  # seconds per simulated step (tasks advance in ticks)
        self.pairing_id = pairing_id or str(uuid.uuid4())
        self.sites: dict[str, SimSite] = {}
        self.groups: dict[str, SimGroup] = {}
        self.plans: dict[str, SimPlan] = {}
        self.replications: dict[str, SimReplication] = {}
        self.tasks: dict[str, SimTask] = {}
        self.task_faults: list[TaskFault] = []
        self.auto_dismiss_prompts = False  # scenario seeding answers prompts itself
        self._ids = itertools.count(1000)
        self._threads: list[threading.Thread] = []

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
        for replication in self.replications.values():
            if replication.vm_id == vm_id:
                return replication
        return None

    def refresh(self, site_name: str) -> None:
        """Re-read registrations and power states from the site's vCenter: srmctl unregisters orphans and
        powers VMs off itself, and VR lists VMs as vCenter has them (a no-op in memory)."""
        live = self.mirror.live(site_name)
        if live is None:
            return
        with self.lock:
            for vm in self.site(site_name).vms.values():
                if vm.moref and vm.registered:
                    vm.registered = vm.moref in live
                    vm.power_state = "POWERED_ON" if live.get(vm.moref) == "poweredOn" else "POWERED_OFF"

    def require_up(self, site: str) -> None:
        if not self.sites[site].up:
            raise SimError(500, "REMOTE_SITE_DOWN", f"site {site} is not reachable")

    # -- inventory -------------------------------------------------------------------------------

    def add_site(self, name: str, moref_base: int, vc_guid: str | None = None) -> SimSite:
        site = SimSite(name=name, vc_guid=vc_guid or str(uuid.uuid4()), srm_id=str(uuid.uuid4()),
                       vrms_id=str(uuid.uuid4()), moref_base=moref_base)
        self.sites[name] = site
        return site

    def add_datastore(self, site: SimSite, name: str, directory: Path, number: int,
                      moref: str | None = None) -> SimDatastore:
        directory.mkdir(parents=True, exist_ok=True)
        moref = moref or f"datastore-{site.moref_base + number}"
        ds = SimDatastore(id=f"Datastore:{moref}:{site.vc_guid}", name=name, directory=directory)
        site.datastores[ds.id] = ds
        return ds

    def create_vm(self, site: SimSite, name: str, datastore: SimDatastore, folder: str, sizes: list[int],
                  power_on: bool) -> SimVm:
        """A VM with real files: ``<name>/<name>.vmx`` and one flat file of random bytes per disk."""
        home = datastore.directory / name
        home.mkdir(parents=True, exist_ok=True)
        (home / f"{name}.vmx").write_text(f'displayName = "{name}"\n')
        disks = []
        for index, size in enumerate(sizes):
            filename = f"{name}/{name}{'' if index == 0 else f'_{index}'}.vmdk"
            _write_random(datastore.directory / filename, size)
            disks.append(SimDisk(device_key=2000 + index, capacity=size, filename=filename))
        vm = SimVm(id=site.next_vm_id(), name=name, instance_uuid=str(uuid.uuid4()), site=site.name,
                   datastore_id=datastore.id, folder=folder, disks=disks,
                   power_state="POWERED_ON" if power_on else "POWERED_OFF")
        site.vms[vm.id] = vm
        return vm

    # -- tasks -----------------------------------------------------------------------------------

    def start_task(self, site: str, api: str, description: str, entity: str | None, entity_name: str | None,
                   work: Callable[[TaskContext], Any], on_error: Callable[[str], None] | None = None) -> SimTask:
        task = SimTask(id=f"{api}-task-{next(self._ids)}", site=site, api=api, description=description,
                       entity=entity, entity_name=entity_name)
        fault = self._take_task_fault(description)
        self.tasks[task.id] = task

        def runner() -> None:
            with self.lock:
                task.status, task.started = "RUNNING", now_ms()
            ctx = TaskContext(self, task, fault.factor if fault and fault.kind == "slow" else 1.0)
            try:
                ctx.pause()
                if fault and fault.kind == "error":
                    raise Failed(fault.message)
                result = work(ctx)
            except (Failed, SimError) as error:
                with self.lock:
                    task.status, task.error = "ERROR", str(error)
                    if on_error:
                        on_error(str(error))
            except Exception as error:  # noqa: BLE001 - a simulator bug must surface as a task error
                with self.lock:
                    task.status, task.error = "ERROR", f"srmsim internal error: {error!r}"
                    if on_error:
                        on_error(str(error))
            else:
                with self.lock:
                    task.status, task.progress, task.result = "SUCCESS", 100, result
            finally:
                with self.lock:
                    task.completed = now_ms()

        thread = threading.Thread(target=runner, name=f"srmsim-{task.id}", daemon=True)
        self._threads.append(thread)
        thread.start()
        return task

    def _take_task_fault(self, description: str) -> TaskFault | None:
        for fault in self.task_faults:
            if fault.count > 0 and fnmatch.fnmatch(description, fault.pattern):
                fault.count -= 1
                return fault
        return None

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait for every task worker (scenario seeding, tests)."""
        deadline = time.monotonic() + timeout
        while True:
            alive = [t for t in self._threads if t.is_alive()]
            if not alive:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(alive)} srmsim tasks still running")
            alive[0].join(0.05)

    def new_id(self) -> int:
        return next(self._ids)


def _write_random(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        remaining = size
        while remaining > 0:
            chunk = min(remaining, 1 << 20)
            handle.write(os.urandom(chunk))
            remaining -= chunk
