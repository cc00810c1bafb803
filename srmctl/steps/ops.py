"""The vCenter and SRM/VR facades steps use, with read-only variants that make dry runs safe by construction.

Steps never touch a pyvmomi session or a REST client directly: they get a :class:`VCenterOps` and a
:class:`DrOps` per site. Every mutating method is marked with :func:`mutating`, which refuses to run on a
read-only facade (dry runs and every ``plan()``) and drops any cached observation after the change, so the
next observation is fresh.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from srmctl.adapters.dr import SrmClient, VrClient
from srmctl.adapters.dr.models import (
    ConfigureReplicationSpec,
    Datastore,
    ProtectionGroup,
    ProtectionGroupVm,
    RecoveryPlan,
    Replication,
    SeedInfo,
    Task,
    UserPrompt,
    VmDisk,
    VrVm,
)
from srmctl.adapters.vcenter import operations
from srmctl.adapters.vcenter.connection import VCenterSession
from srmctl.adapters.vcenter.inventory import Inventory, read_inventory
from srmctl.adapters.vcenter.operations import DatastoreFile, UnregisteredVm
from srmctl.errors import GuardrailViolation
from srmctl.metadata.capture import capture
from srmctl.metadata.restore import RestorePlan, apply_restore, plan_restore
from srmctl.metadata.snapshot import Snapshot

F = TypeVar("F", bound=Callable[..., Any])


class ReadOnlyViolation(GuardrailViolation):
    """A mutating call was attempted through a read-only facade (a dry run, or a step's ``plan()``)."""

    code = "read_only"


def mutating(method: F) -> F:
    """Mark a facade method as changing vCenter state."""

    @functools.wraps(method)
    def wrapper(self: VCenterOps | DrOps, *args: Any, **kwargs: Any) -> Any:
        if self.read_only:
            raise ReadOnlyViolation(f"{method.__name__} refused on {self.site}: this is a read-only (dry-run) "
                                    f"view of {self.kind}")
        try:
            return method(self, *args, **kwargs)
        finally:
            self.invalidate()

    wrapper.mutating = True  # type: ignore[attr-defined]
    return cast(F, wrapper)


class _InventoryCache:
    """One inventory per site, shared by a facade and its read-only view; thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value: Inventory | None = None


class VCenterOps:
    """What steps may do with one site's vCenter."""

    kind = "vCenter"

    def __init__(self, session: VCenterSession, site: str, *, read_only: bool = False,
                 cache: _InventoryCache | None = None) -> None:
        self.session = session
        self.site = site
        self.read_only = read_only
        self._cache = cache or _InventoryCache()

    def read_only_view(self) -> VCenterOps:
        """The same site and cache, with every mutating method refused."""
        return VCenterOps(self.session, self.site, read_only=True, cache=self._cache)

    # --- reads ---------------------------------------------------------------------------------------------

    def inventory(self) -> Inventory:
        """The site's inventory, read once (one PropertyCollector retrieval) until the next change."""
        with self._cache.lock:
            if self._cache.value is None:
                self._cache.value = read_inventory(self.session)
            return self._cache.value

    def invalidate(self) -> None:
        with self._cache.lock:
            self._cache.value = None

    def list_files(self, datastore: str, folder: str) -> list[DatastoreFile]:
        return operations.list_files(self.session, datastore, folder,
                                     datastore_moref=self.inventory().datastore(datastore).moref)

    def marker(self, field: str) -> str | None:
        """The value of custom attribute ``field`` on the site's datacenter, None when unset."""
        return operations.get_datacenter_attribute(self.session, field)

    @property
    def api_calls(self) -> int:
        return sum(self.session.calls.values())

    # --- changes -------------------------------------------------------------------------------------------

    @mutating
    def unregister(self, moref: str, *, allow_powered_on: bool = False,
                   files: Sequence[DatastoreFile] | None = None) -> UnregisteredVm:
        """Unregister (never destroy) a VM; a powered-on VM only with ``allow_powered_on``."""
        return operations.unregister(self.session, moref, allow_powered_on=allow_powered_on, files=files)

    @mutating
    def set_marker(self, field: str, value: str) -> None:
        """Set custom attribute ``field`` on the site's datacenter ("" clears it)."""
        operations.set_datacenter_attribute(self.session, field, value)


class DrOps:
    """What steps may do with one site's SRM and VR (both logged in to the paired site too).

    The pairing id is bound, so steps name only what matters. Replications are only ever removed with their
    replica disks kept: there is deliberately no way to ask for anything else here. The REST clients are not
    thread-safe, so every call holds the site's lock (shared with the read-only view).
    """

    kind = "SRM/VR"

    def __init__(self, site: str, srm: SrmClient, vr: VrClient, pairing_id: str, local_vc_guid: str,
                 remote_vc_guid: str, *, read_only: bool = False, lock: threading.RLock | None = None) -> None:
        self.site = site
        self.srm = srm
        self.vr = vr
        self.pairing_id = pairing_id
        self.local_vc_guid = local_vc_guid
        self.remote_vc_guid = remote_vc_guid
        self.read_only = read_only
        self._lock = lock or threading.RLock()

    def read_only_view(self) -> DrOps:
        return DrOps(self.site, self.srm, self.vr, self.pairing_id, self.local_vc_guid, self.remote_vc_guid,
                     read_only=True, lock=self._lock)

    def invalidate(self) -> None:
        """Nothing is cached: SRM/VR state is read afresh by every observation."""

    @property
    def api_calls(self) -> int:
        return sum(self.srm.calls.values()) + sum(self.vr.calls.values())

    @property
    def poll_interval(self) -> float:
        return self.srm.poll_interval

    # --- SRM reads -----------------------------------------------------------------------------------------

    def groups(self) -> list[ProtectionGroup]:
        with self._lock:
            return self.srm.groups(self.pairing_id)

    def group_vms(self, group_id: str) -> list[ProtectionGroupVm]:
        with self._lock:
            return self.srm.group_vms(self.pairing_id, group_id)

    def group_plans(self, group_id: str) -> list[RecoveryPlan]:
        with self._lock:
            return self.srm.group_plans(self.pairing_id, group_id)

    def plans(self) -> list[RecoveryPlan]:
        with self._lock:
            return self.srm.plans(self.pairing_id)

    def plan(self, plan_id: str) -> RecoveryPlan:
        with self._lock:
            return self.srm.plan(self.pairing_id, plan_id)

    def plan_groups(self, plan_id: str) -> list[ProtectionGroup]:
        with self._lock:
            return self.srm.plan_groups(self.pairing_id, plan_id)

    def user_prompts(self, plan_id: str) -> list[UserPrompt]:
        with self._lock:
            return self.srm.user_prompts(self.pairing_id, plan_id)

    def srm_task(self, task_id: str) -> Task:
        with self._lock:
            return self.srm.get_task(task_id)

    # --- VR reads ------------------------------------------------------------------------------------------

    def replications(self, *, source_vc_guid: str | None = None) -> list[Replication]:
        with self._lock:
            return self.vr.replications(self.pairing_id, source_vc_guid=source_vc_guid)

    def vr_vms(self, vc_guid: str) -> list[VrVm]:
        """Every VM of that vCenter as VR sees it (one paged listing, with disks)."""
        with self._lock:
            return self.vr.vms(self.pairing_id, vc_guid)

    def datastores(self, vc_guid: str) -> list[Datastore]:
        with self._lock:
            return self.vr.datastores(self.pairing_id, vc_guid)

    def find_seeds(self, vc_guid: str, datastore_id: str, disks: Sequence[tuple[VmDisk, str]]) -> list[SeedInfo]:
        """A read although it is a POST: VR only looks for files."""
        with self._lock:
            return self.vr.find_seeds(self.pairing_id, vc_guid, datastore_id, disks)

    def vr_task(self, task_id: str) -> Task:
        with self._lock:
            return self.vr.get_task(task_id)

    def wait(self, task: Task, *, vr: bool = False, timeout: float = 3600.0) -> Task:
        """Wait for a task of this site's SRM (or VR); ERROR and CANCELLED raise OperationFailed."""
        client: SrmClient | VrClient = self.vr if vr else self.srm
        with self._lock:
            return client.wait_task(task, timeout=timeout)

    # --- SRM changes (each returns the started task; callers wait with wait_task) ---------------------------

    @mutating
    def create_group(self, name: str, protected_vc_guid: str, vm_ids: Sequence[str]) -> Task:
        with self._lock:
            return self.srm.create_group(self.pairing_id, name, protected_vc_guid, vm_ids, wait=False)

    @mutating
    def reconfigure_group(self, group_id: str, name: str, vm_ids: Sequence[str]) -> Task:
        with self._lock:
            return self.srm.reconfigure_group(self.pairing_id, group_id, name, vm_ids, wait=False)

    @mutating
    def delete_group(self, group_id: str) -> Task:
        with self._lock:
            return self.srm.delete_group(self.pairing_id, group_id, wait=False)

    @mutating
    def create_plan(self, name: str, protected_vc_guid: str, group_ids: Sequence[str]) -> Task:
        with self._lock:
            return self.srm.create_plan(self.pairing_id, name, protected_vc_guid, group_ids, wait=False)

    @mutating
    def reconfigure_plan(self, plan_id: str, *, protection_groups: Sequence[str] | None = None,
                         protected_vc_guid: str | None = None) -> Task:
        with self._lock:
            return self.srm.reconfigure_plan(self.pairing_id, plan_id, protection_groups=protection_groups,
                                             protected_vc_guid=protected_vc_guid, wait=False)

    @mutating
    def test_plan(self, plan_id: str) -> Task:
        with self._lock:
            return self.srm.test_plan(self.pairing_id, plan_id, sync_data=True, wait=False)

    @mutating
    def cleanup_plan(self, plan_id: str) -> Task:
        with self._lock:
            return self.srm.cleanup_plan(self.pairing_id, plan_id, forced=False, wait=False)

    @mutating
    def migrate_plan(self, plan_id: str) -> Task:
        """Planned migration: protected site VMs are shut down and synchronised before recovery."""
        with self._lock:
            return self.srm.recover_plan(self.pairing_id, plan_id, planned=True, sync_data=True, wait=False)

    @mutating
    def reprotect_plan(self, plan_id: str) -> Task:
        with self._lock:
            return self.srm.reprotect_plan(self.pairing_id, plan_id, forced=False, wait=False)

    @mutating
    def dismiss_prompt(self, plan_id: str, prompt_id: str) -> None:
        with self._lock:
            self.srm.dismiss_prompt(self.pairing_id, plan_id, prompt_id)

    # --- VR changes ----------------------------------------------------------------------------------------

    @mutating
    def configure_replications(self, specs: Sequence[ConfigureReplicationSpec]) -> list[Task]:
        """All VMs in one batched request (one task per VM)."""
        with self._lock:
            return self.vr.configure_replications(self.pairing_id, specs, wait=False)

    @mutating
    def unconfigure_replication(self, replication_id: str) -> Task:
        """Graceful removal on both sites, replica disks kept (they are the other direction's seeds)."""
        with self._lock:
            return self.vr.unconfigure_replication(self.pairing_id, replication_id, retain_replica_disks=True,
                                                   wait=False)

    @mutating
    def delete_replication(self, replication_id: str) -> Task:
        """Local-only removal (when the peer cannot take part), replica disks kept."""
        with self._lock:
            return self.vr.delete_replication(self.pairing_id, replication_id, retain_replica_disks=True,
                                              wait=False)


    # --- plan metadata -------------------------------------------------------------------------------------

    def capture_metadata(self, plan_name: str, instance_uuids: Mapping[str, str] | None = None) -> Snapshot:
        with self._lock:
            return capture(self.srm, self.pairing_id, plan_name, site=self.site, instance_uuids=instance_uuids)

    def plan_metadata_restore(self, plan_name: str, snapshot: Snapshot) -> RestorePlan:
        with self._lock:
            return plan_restore(self.srm, self.pairing_id, plan_name, snapshot)

    @mutating
    def apply_metadata_restore(self, restore: RestorePlan) -> None:
        with self._lock:
            apply_restore(self.srm, self.pairing_id, restore)


def is_mutating(method: object) -> bool:
    return bool(getattr(method, "mutating", False))
