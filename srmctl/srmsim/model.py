"""srmsim's objects: two sites with datastores (real directories), VMs and disks, vSphere Replication
replications, SRM protection groups and recovery plans with per-VM recovery settings, tasks.

Plain records, no behaviour beyond lookups: :class:`~srmctl.srmsim.world.World` holds them, the operation
modules (groups, plans, recovery_settings, recovery_steps, runs, sites, replication) change them, and the
route modules (``srmsim/routes``) render them. Nothing here knows HTTP.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    role: str = "vm"  # vm | replica | test | placeholder
    moref: str = ""  # in the site's vCenter, when srmsim mirrors into one ("" in memory)
    vmx: str = ""  # the .vmx relative to its datastore directory ("mail04/mail04.vmx"), when known
    original_uuid: str = ""  # a recovered VM: the protected VM's instance UUID (identity across sites)
    registered: bool = True  # False once unregistered from its vCenter (by srmctl or a reprotect)
    pool: str = ""  # resource pool MoRef at its site ("" = the site's first cluster's)
    networks: tuple[str, ...] = ()  # network MoRefs of its NICs
    protects: str = ""  # a placeholder (role "placeholder"): the protected VM's id at the other site
    guest_ip: dict[int, str] = field(default_factory=dict)  # NIC device id -> IP settings applied at recovery

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
    # The vCenter inventory objects inventory mappings refer to (MoRefs): VM folders by path ("" = the
    # datacenter's VM folder), resource pools (MoRef -> cluster name) and networks (MoRef -> name).
    folders: dict[str, str] = field(default_factory=dict)
    pools: dict[str, str] = field(default_factory=dict)
    networks: dict[str, str] = field(default_factory=dict)
    standby_hosts: bool = False  # hosts in standby (DPM) that a recovery to this site restores first
    # The name SRM and VR give the site: "chosen at installation" (often the vCenter's host name), never the
    # topology's key, so that nothing matches a runbook's site key by accident (topology ``srm_site_name``).
    srm_name: str = ""
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
    # The rest of the VR spec's ConfigureReplicationSpec, kept as configured and reported back in
    # ReplicationInfo (encryption_enabled, auto_replicate_new_disks_enabled, mpit_*, vm_data_sets_*).
    encryption: bool = False
    auto_replicate_new_disks: bool = True
    mpit_enabled: bool = False
    mpit_instances: int | None = None
    mpit_days: int | None = None
    vm_data_sets: bool | None = None
    status: str = "CONFIGURING"
    configuration_state: str = "IN_PROGRESS"
    last_sync_time: int = 0
    sync: dict[str, int] = field(default_factory=dict)
    generation: int = 1  # bumped on reconfigure, as VR does on the source VM's repConfig
    vmx_config: dict[str, str] = field(default_factory=dict)  # annotation + extraConfig as the last sync saw them
    totals: dict[str, int] = field(default_factory=dict)  # bytes of the last sync: full copy vs transferred
    recovered: bool = False  # SRM recovered the VM from this replication (it reports RECOVERED until then)
    rpo_violation_minutes: int = 0  # how far a running sync is past the RPO (current_rpo_violation)
    awaiting_power_on: bool = False  # configured with its source VM powered off: no sync until it runs


class Replications(dict[str, SimReplication]):
    """Replications by id, indexed by their VM too: looking up a VM's replication is one dict lookup, not a
    scan, so per-VM work over 1,000 VMs stays linear (docs/architecture.md, section 7)."""

    def __init__(self) -> None:
        super().__init__()
        self.by_vm: dict[str, str] = {}

    def __setitem__(self, key: str, value: SimReplication) -> None:
        super().__setitem__(key, value)
        self.by_vm[value.vm_id] = key

    def __delitem__(self, key: str) -> None:
        self._unindex(key)
        super().__delitem__(key)

    def pop(self, key: str, *default: Any) -> Any:
        self._unindex(key)
        return super().pop(key, *default)

    def _unindex(self, key: str) -> None:
        replication = self.get(key)
        if replication is not None and self.by_vm.get(replication.vm_id) == key:
            del self.by_vm[replication.vm_id]

    def of_vm(self, vm_id: str) -> SimReplication | None:
        key = self.by_vm.get(vm_id)
        return self[key] if key is not None else None


@dataclass
class SyncProfile:
    """How long each sync of one VM's replication takes (``POST /srmsim/sync-profiles``): ``minutes`` of
    simulated time (compared with the RPO), spread over at least ``seconds`` of real time."""

    minutes: float
    seconds: float = 0.0


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
    # Per VM: SRM's protection configuration (placeholder) status and its errors; a VM not listed is
    # NOT_CONFIGURED. See srmsim/placeholders.py.
    configured: dict[str, tuple[str, list[str]]] = field(default_factory=dict)


@dataclass
class SimMapping:
    """An inventory mapping of one SRM server (site): an object of its vCenter (``source``, MoRef) to one
    of the paired site's (``target``). ``kind``: folders | resources | networks."""

    id: str
    kind: str
    site: str
    source: str
    target: str


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


# The built-in top-level steps of each view mode, as (position, title). "A recovery plan runs a series of steps
# that must be performed in a specific order for a given workflow such as a planned migration or reprotect ...
# Some steps run during all recoveries. Some steps run only during test recoveries. Some steps are always
# skipped during test recoveries" (SRM Administration, "Recovery Plan Steps"). Each position is the spec's
# PlanCalloutPosition with the workflows it names ("Workflow: failover, test", "cleanup", "reprotect and
# rollback"); positions the spec marks "NOT USED" are not used. A step listed in CONDITIONAL_STEPS shows only
# when its condition holds for the plan's current direction (:func:`srmctl.srmsim.recovery_steps.visible`),
# so the list of one view differs between the two directions of the same plan.
STANDARD_STEPS: dict[str, list[tuple[str, str]]] = {
    "recovery": [
        ("BEFORE_PRESYNC_STORAGE", "Pre-synchronize storage"),
        ("BEFORE_SHUTDOWN_PROTECTED_SITE_VMS", "Shut down VMs at protected site"),
        ("BEFORE_SYNC_STORAGE", "Synchronize storage"),
        ("BEFORE_RESTORE_HOSTS", "Restore recovery site hosts from standby"),
        ("BEFORE_PREPARE_STORAGE", "Prepare storage"),
        ("BEFORE_SUSPEND_RECOVERY_SITE_VMS", "Suspend non-critical VMs at recovery site"),
        *[(f"BEFORE_RECOVER_PRIORITY_{n}_VMS", f"Power on priority {n} VMs") for n in range(1, 6)],
    ],
    "test": [
        ("BEFORE_SYNC_STORAGE", "Synchronize storage"),
        ("BEFORE_RESTORE_HOSTS", "Restore recovery site hosts from standby"),
        ("BEFORE_PREPARE_STORAGE", "Create writable storage snapshot"),
        ("BEFORE_SUSPEND_RECOVERY_SITE_VMS", "Suspend non-critical VMs at recovery site"),
        *[(f"BEFORE_RECOVER_PRIORITY_{n}_VMS", f"Power on priority {n} VMs") for n in range(1, 6)],
    ],
    "cleanup": [
        ("BEFORE_POWER_OFF_RECOVERY_SITE_VMS", "Power off test VMs"),
        ("BEFORE_RESUME_RECOVERY_SITE_VMS", "Resume suspended VMs at recovery site"),
        ("BEFORE_RESTORE_STORAGE", "Discard test data and reset storage"),
    ],
    "reprotect": [
        ("BEFORE_REVERSE_REPLICATION", "Configure storage to reverse direction"),
        ("BEFORE_CREATE_PLACEHOLDER_VMS", "Configure protection to reverse direction"),
        ("BEFORE_FINALIZE_STORAGE", "Synchronize storage"),
    ],
}
# BEFORE_RESTORE_HOSTS ("Before the restore hosts group. Workflow: failover, test"): SRM brings the recovery
# site's hosts out of standby (DPM) only where some are in standby, i.e. SimSite.standby_hosts of the plan's
# recovery site (``POST /srmsim/standby-hosts``).
CONDITIONAL_STEPS = frozenset({"BEFORE_RESTORE_HOSTS"})
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
