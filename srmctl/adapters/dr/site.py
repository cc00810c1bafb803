"""One site's SRM and VR as steps and the engine use them: logged in to both sites, the pairing bound.

Built once per command from the site's :class:`~srmctl.adapters.endpoints.SiteEndpoints` (and the paired
site's, for the remote-site login SRM and VR require before they change anything at both sites). Callers
never pass pairing ids. The methods are the operations srmctl needs, with srmctl's fixed choices made here:
changes return the started task without waiting (callers wait with :meth:`DrSite.wait`), replications are
only ever removed with their replica disks kept, a migration is always a planned, synchronised one.

The REST clients are not thread-safe, so every call holds the site's lock (shared with the read-only view).
Mutating methods are refused on a read-only view (dry runs, every step's ``plan()``) before any request.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from srmctl.adapters.dr._http import Credentials
from srmctl.adapters.dr.models import (
    ConfigureReplicationSpec,
    Datastore,
    Pairing,
    ProtectionGroup,
    ProtectionGroupVm,
    RecoveryPlan,
    RecoveryPlanVm,
    Replication,
    SeedInfo,
    Task,
    UserPrompt,
    VmDisk,
    VrVm,
)
from srmctl.adapters.dr.srm import SrmClient
from srmctl.adapters.dr.vr import VrClient
from srmctl.adapters.endpoints import Endpoints, ServiceEndpoint, SiteEndpoints
from srmctl.adapters.guard import mutating

F = TypeVar("F", bound=Callable[..., Any])
D = TypeVar("D", bound="DrSite")


def _locked(method: F) -> F:
    @functools.wraps(method)
    def wrapper(self: DrSite, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)

    return cast(F, wrapper)


@dataclass(frozen=True)
class DrPairing:
    """What a site's calls are bound to. SRM and VR pairings are separate objects with their own ids in the
    product; today both ids come from the SRM pairing lookup, and only ``vr_pairing_id`` needs to change
    when they are looked up separately."""

    srm_pairing_id: str
    vr_pairing_id: str
    local_vc_guid: str  # the vCenter this site's SRM/VR belong to
    remote_vc_guid: str


def _credentials(endpoint: ServiceEndpoint) -> Credentials:
    return Credentials(endpoint.user, endpoint.password)


class DrSite:
    """What srmctl may do with one site's SRM and VR."""

    kind = "SRM/VR"

    def __init__(self, site: str, srm: SrmClient, vr: VrClient, pairing: DrPairing, *, read_only: bool = False,
                 lock: threading.RLock | None = None) -> None:
        self.site = site
        self.srm = srm
        self.vr = vr
        self.pairing = pairing
        self.read_only = read_only
        self.lock = lock or threading.RLock()

    @classmethod
    def open(cls: type[D], local: SiteEndpoints, remote: SiteEndpoints | None = None) -> D:
        """Log in to the site's SRM and VR, find their pairing, and log in to the paired site through it."""
        srm_ep, vr_ep = local.dr("srm"), local.dr("vr")
        srm = SrmClient(srm_ep.host, srm_ep.port, credentials=_credentials(srm_ep), tls=srm_ep.tls)
        vr = VrClient(vr_ep.host, vr_ep.port, credentials=_credentials(vr_ep), tls=vr_ep.tls)
        try:
            found = srm.find_pairing()
            pairing = DrPairing(found.pairing_id, found.pairing_id, str(found.local_vc_server.id or ""),
                                str(found.remote_vc_server.id or ""))
            if remote is not None:
                srm.login_remote(pairing.srm_pairing_id, _credentials(remote.dr("srm")))
                vr.login_remote(pairing.vr_pairing_id, _credentials(remote.dr("vr")))
        except BaseException:
            srm.close()
            vr.close()
            raise
        return cls(local.site, srm, vr, pairing)

    @classmethod
    @contextmanager
    def opened(cls: type[D], endpoints: Endpoints, sites: Sequence[str]) -> Iterator[dict[str, D]]:
        """Each site's facade, logged in to the first other site of ``sites`` as the paired site; all
        closed on exit."""
        opened: dict[str, D] = {}
        try:
            for site in sites:
                others = [s for s in sites if s != site]
                opened[site] = cls.open(endpoints.site(site), endpoints.site(others[0]) if others else None)
            yield opened
        finally:
            for dr in opened.values():
                dr.close()

    def read_only_view(self: D) -> D:
        """The same site, clients and lock, with every mutating method refused."""
        return type(self)(self.site, self.srm, self.vr, self.pairing, read_only=True, lock=self.lock)

    def close(self) -> None:
        for client in (self.srm, self.vr):
            client.close()

    def invalidate(self) -> None:
        """Nothing is cached: SRM/VR state is read afresh by every observation."""

    @property
    def local_vc_guid(self) -> str:
        return self.pairing.local_vc_guid

    @property
    def remote_vc_guid(self) -> str:
        return self.pairing.remote_vc_guid

    @property
    def api_calls(self) -> int:
        return sum(self.srm.calls.values()) + sum(self.vr.calls.values())

    @property
    def poll_interval(self) -> float:
        return self.srm.poll_interval

    # --- SRM reads -----------------------------------------------------------------------------------------

    @_locked
    def pairing_status(self) -> Pairing:
        return self.srm.pairing(self.pairing.srm_pairing_id)

    @_locked
    def groups(self) -> list[ProtectionGroup]:
        return self.srm.groups(self.pairing.srm_pairing_id)

    @_locked
    def group_by_name(self, name: str) -> ProtectionGroup:
        return self.srm.group_by_name(self.pairing.srm_pairing_id, name)

    @_locked
    def group_vms(self, group_id: str) -> list[ProtectionGroupVm]:
        return self.srm.group_vms(self.pairing.srm_pairing_id, group_id)

    @_locked
    def group_plans(self, group_id: str) -> list[RecoveryPlan]:
        return self.srm.group_plans(self.pairing.srm_pairing_id, group_id)

    @_locked
    def plans(self) -> list[RecoveryPlan]:
        return self.srm.plans(self.pairing.srm_pairing_id)

    @_locked
    def plan(self, plan_id: str) -> RecoveryPlan:
        return self.srm.plan(self.pairing.srm_pairing_id, plan_id)

    @_locked
    def plan_by_name(self, name: str) -> RecoveryPlan:
        return self.srm.plan_by_name(self.pairing.srm_pairing_id, name)

    @_locked
    def plan_vms(self, plan_id: str) -> list[RecoveryPlanVm]:
        return self.srm.plan_vms(self.pairing.srm_pairing_id, plan_id)

    @_locked
    def plan_groups(self, plan_id: str) -> list[ProtectionGroup]:
        return self.srm.plan_groups(self.pairing.srm_pairing_id, plan_id)

    @_locked
    def user_prompts(self, plan_id: str) -> list[UserPrompt]:
        return self.srm.user_prompts(self.pairing.srm_pairing_id, plan_id)

    @_locked
    def srm_task(self, task_id: str) -> Task:
        return self.srm.get_task(task_id)

    # --- VR reads ------------------------------------------------------------------------------------------

    @_locked
    def replications(self, *, source_vc_guid: str | None = None) -> list[Replication]:
        return self.vr.replications(self.pairing.vr_pairing_id, source_vc_guid=source_vc_guid)

    @_locked
    def vr_vms(self, vc_guid: str) -> list[VrVm]:
        """Every VM of that vCenter as VR sees it (one paged listing, with disks)."""
        return self.vr.vms(self.pairing.vr_pairing_id, vc_guid)

    @_locked
    def datastores(self, vc_guid: str) -> list[Datastore]:
        return self.vr.datastores(self.pairing.vr_pairing_id, vc_guid)

    @_locked
    def find_seeds(self, vc_guid: str, datastore_id: str, disks: Sequence[tuple[VmDisk, str]]) -> list[SeedInfo]:
        """A read although it is a POST: VR only looks for files."""
        return self.vr.find_seeds(self.pairing.vr_pairing_id, vc_guid, datastore_id, disks)

    @_locked
    def vr_task(self, task_id: str) -> Task:
        return self.vr.get_task(task_id)

    @_locked
    def wait(self, task: Task, *, vr: bool = False, timeout: float = 3600.0) -> Task:
        """Wait for a task of this site's SRM (or VR); ERROR and CANCELLED raise OperationFailed."""
        client: SrmClient | VrClient = self.vr if vr else self.srm
        return client.wait_task(task, timeout=timeout)

    # --- SRM changes (each returns the started task) -------------------------------------------------------

    @mutating
    @_locked
    def create_group(self, name: str, protected_vc_guid: str, vm_ids: Sequence[str]) -> Task:
        return self.srm.create_group(self.pairing.srm_pairing_id, name, protected_vc_guid, vm_ids, wait=False)

    @mutating
    @_locked
    def reconfigure_group(self, group_id: str, name: str, vm_ids: Sequence[str]) -> Task:
        return self.srm.reconfigure_group(self.pairing.srm_pairing_id, group_id, name, vm_ids, wait=False)

    @mutating
    @_locked
    def delete_group(self, group_id: str) -> Task:
        return self.srm.delete_group(self.pairing.srm_pairing_id, group_id, wait=False)

    @mutating
    @_locked
    def create_plan(self, name: str, protected_vc_guid: str, group_ids: Sequence[str]) -> Task:
        return self.srm.create_plan(self.pairing.srm_pairing_id, name, protected_vc_guid, group_ids, wait=False)

    @mutating
    @_locked
    def reconfigure_plan(self, plan_id: str, *, protection_groups: Sequence[str] | None = None,
                         protected_vc_guid: str | None = None) -> Task:
        return self.srm.reconfigure_plan(self.pairing.srm_pairing_id, plan_id, protection_groups=protection_groups,
                                         protected_vc_guid=protected_vc_guid, wait=False)

    @mutating
    @_locked
    def test_plan(self, plan_id: str) -> Task:
        return self.srm.test_plan(self.pairing.srm_pairing_id, plan_id, sync_data=True, wait=False)

    @mutating
    @_locked
    def cleanup_plan(self, plan_id: str) -> Task:
        return self.srm.cleanup_plan(self.pairing.srm_pairing_id, plan_id, forced=False, wait=False)

    @mutating
    @_locked
    def migrate_plan(self, plan_id: str) -> Task:
        """Planned migration: protected site VMs are shut down and synchronised before recovery."""
        return self.srm.recover_plan(self.pairing.srm_pairing_id, plan_id, planned=True, sync_data=True,
                                     wait=False)

    @mutating
    @_locked
    def reprotect_plan(self, plan_id: str) -> Task:
        return self.srm.reprotect_plan(self.pairing.srm_pairing_id, plan_id, forced=False, wait=False)

    @mutating
    @_locked
    def dismiss_prompt(self, plan_id: str, prompt_id: str) -> None:
        self.srm.dismiss_prompt(self.pairing.srm_pairing_id, plan_id, prompt_id)

    # --- VR changes ----------------------------------------------------------------------------------------

    @mutating
    @_locked
    def configure_replications(self, specs: Sequence[ConfigureReplicationSpec]) -> list[Task]:
        """All VMs in one batched request (one task per VM)."""
        return self.vr.configure_replications(self.pairing.vr_pairing_id, specs, wait=False)

    @mutating
    @_locked
    def unconfigure_replication(self, replication_id: str) -> Task:
        """Graceful removal on both sites, replica disks kept (they are the other direction's seeds)."""
        return self.vr.unconfigure_replication(self.pairing.vr_pairing_id, replication_id,
                                               retain_replica_disks=True, wait=False)

    @mutating
    @_locked
    def delete_replication(self, replication_id: str) -> Task:
        """Local-only removal (when the peer cannot take part), replica disks kept."""
        return self.vr.delete_replication(self.pairing.vr_pairing_id, replication_id, retain_replica_disks=True,
                                          wait=False)
