"""SRM (VMware Live Site Recovery) REST v2 client: protection groups, recovery plans and plan runs here;
per-VM recovery settings, plan-level recovery steps and prompts in ``srm_settings``, inventory mappings in
``srm_mappings``, recovery history reports in ``srm_history``.

Paths are the vendor spec's (``srm-api-v2.json``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from srmctl.adapters.dr.client import ProgressCallback, pick_one
from srmctl.adapters.dr.connection import Api
from srmctl.adapters.dr.models import (
    ProtectionGroup,
    ProtectionGroupVm,
    Record,
    RecoveryPlan,
    RecoveryPlanVm,
    ServerInfo,
    Task,
)
from srmctl.adapters.dr.srm_history import HistoryCalls
from srmctl.adapters.dr.srm_mappings import MappingCalls
from srmctl.adapters.dr.srm_settings import PlanSettingsCalls

_PG = "/pairings/{pairing_id}/protection-management/groups"
_PLAN = "/pairings/{pairing_id}/recovery-management/plans"


class ReplicatedVm(Record):
    """SRM's view of a VR-replicated VM that can join a protection group (``VmReplicationInfo``)."""

    id: str
    name: str
    replication_status: str


class SrmInfo(ServerInfo):
    vc_guid: str | None = None
    vc_name: str | None = None


class SrmClient(PlanSettingsCalls, MappingCalls, HistoryCalls):
    API: ClassVar[Api] = Api("SRM", "/api/rest/srm/v2", "/tasks/{taskId}")

    def server_info(self) -> SrmInfo:
        return self.get_model(SrmInfo, "/server/info")

    def vcenters(self) -> list[ServerInfo]:
        return self.get_list(ServerInfo, "/pairings/{pairing_id}/vcenters")

    def replicated_vms(self, vcenter_id: str) -> list[ReplicatedVm]:
        return self.get_list(
            ReplicatedVm,
            "/pairings/{pairing_id}/vcenters/{vcenter_id}/replicated-vms",
            vcenter_id=vcenter_id,
        )

    # -- protection groups -----------------------------------------------------------------------

    def groups(self) -> list[ProtectionGroup]:
        return self.get_list(ProtectionGroup, _PG)

    def group(self, group_id: str) -> ProtectionGroup:
        return self.get_model(ProtectionGroup, _PG + "/{group_id}", group_id=group_id)

    def group_by_name(self, name: str) -> ProtectionGroup:
        return pick_one(self.groups(), "protection group", lambda g: g.name, name)

    def group_vms(self, group_id: str) -> list[ProtectionGroupVm]:
        return self.get_list(ProtectionGroupVm, _PG + "/{group_id}/vms", group_id=group_id)

    def group_plans(self, group_id: str) -> list[RecoveryPlan]:
        return self.get_list(RecoveryPlan, _PG + "/{group_id}/recovery-plans", group_id=group_id)

    def create_group(
        self,
        name: str,
        protected_vc_guid: str,
        vm_ids: Sequence[str],
        *,
        description: str | None = None,
        location: str | None = None,
        wait: bool = True,
        on_progress: ProgressCallback | None = None,
    ) -> Task:
        """Create an HBR (vSphere Replication) group; the finished task's ``result_id`` is the group id."""
        body: dict[str, Any] = {
            "name": name,
            "replication_type": "HBR",
            "protected_vc_guid": protected_vc_guid,
            "hbr_spec": {"vms": list(vm_ids)},
        }
        if description is not None:
            body["description"] = description
        if location is not None:
            body["location"] = location
        return self.run(self.task("POST", _PG, body=body), wait, on_progress)

    def reconfigure_group(
        self,
        group_id: str,
        name: str,
        vm_ids: Sequence[str],
        *,
        description: str | None = None,
        wait: bool = True,
    ) -> Task:
        """Set the group's full VM list (HBR edit replaces the list)."""
        body: dict[str, Any] = {"name": name, "hbr_spec": {"vms": list(vm_ids)}}
        if description is not None:
            body["description"] = description
        return self.run(
            self.task(
                "POST",
                _PG + "/{group_id}/actions/reconfigure",
                body=body,
                group_id=group_id,
            ),
            wait,
        )

    def delete_group(self, group_id: str, *, wait: bool = True) -> Task:
        return self.run(self.task("DELETE", _PG + "/{group_id}", group_id=group_id), wait)

    def configure_all_vms(self, group_id: str, *, wait: bool = True) -> list[Task]:
        tasks = self.tasks("POST", _PG + "/{group_id}/actions/configure-all-vms", group_id=group_id)
        return [self.run(task, wait) for task in tasks]

    def remove_vm_from_group(self, group_id: str, vm_id: str, *, wait: bool = True) -> Task:
        return self.run(
            self.task(
                "POST",
                _PG + "/{group_id}/vms/{vm_id}/actions/remove-from-group",
                group_id=group_id,
                vm_id=vm_id,
            ),
            wait,
        )

    # -- recovery plans --------------------------------------------------------------------------

    def plans(self) -> list[RecoveryPlan]:
        return self.get_list(RecoveryPlan, _PLAN)

    def plan(self, plan_id: str) -> RecoveryPlan:
        return self.get_model(RecoveryPlan, _PLAN + "/{plan_id}", plan_id=plan_id)

    def plan_by_name(self, name: str) -> RecoveryPlan:
        return pick_one(self.plans(), "recovery plan", lambda p: p.name, name)

    def plan_groups(self, plan_id: str) -> list[ProtectionGroup]:
        return self.get_list(ProtectionGroup, _PLAN + "/{plan_id}/protection-groups", plan_id=plan_id)

    def plan_vms(self, plan_id: str) -> list[RecoveryPlanVm]:
        return self.get_list(RecoveryPlanVm, _PLAN + "/{plan_id}/vms", plan_id=plan_id)

    def plan_vm(self, plan_id: str, vm_id: str) -> RecoveryPlanVm:
        return self.get_model(
            RecoveryPlanVm,
            _PLAN + "/{plan_id}/vms/{vm_id}",
            plan_id=plan_id,
            vm_id=vm_id,
        )

    def plan_vm_by_name(self, plan_id: str, name: str) -> RecoveryPlanVm:
        return pick_one(self.plan_vms(plan_id), "VM in recovery plan", lambda v: v.name, name)

    def create_plan(
        self,
        name: str,
        protected_vc_guid: str,
        group_ids: Sequence[str],
        *,
        description: str | None = None,
        wait: bool = True,
    ) -> Task:
        body: dict[str, Any] = {
            "name": name,
            "protected_vc_guid": protected_vc_guid,
            "protection_groups": list(group_ids),
        }
        if description is not None:
            body["description"] = description
        return self.run(self.task("POST", _PLAN, body=body), wait)

    def delete_plan(self, plan_id: str, *, wait: bool = True) -> Task:
        return self.run(self.task("DELETE", _PLAN + "/{plan_id}", plan_id=plan_id), wait)

    def reconfigure_plan(
        self,
        plan_id: str,
        *,
        protection_groups: Sequence[str] | None = None,
        protected_vc_guid: str | None = None,
        name: str | None = None,
        description: str | None = None,
        wait: bool = True,
    ) -> Task:
        """Edit a plan; ``protection_groups`` is the complete new list (groups not listed are removed) and
        ``protected_vc_guid`` flips the direction (accepted only while the plan has no groups)."""
        body: dict[str, Any] = {}
        for key, value in (
            ("name", name),
            ("description", description),
            ("protected_vc_guid", protected_vc_guid),
        ):
            if value is not None:
                body[key] = value
        if protection_groups is not None:
            body["protection_groups"] = list(protection_groups)
        return self.run(
            self.task(
                "POST",
                _PLAN + "/{plan_id}/actions/reconfigure",
                body=body,
                plan_id=plan_id,
            ),
            wait,
        )

    def _plan_action(
        self,
        plan_id: str,
        action: str,
        body: dict[str, Any],
        wait: bool,
        on_progress: ProgressCallback | None,
        timeout: float,
    ) -> Task:
        task = self.task("POST", _PLAN + "/{plan_id}/actions/" + action, body=body, plan_id=plan_id)
        return self.run(task, wait, on_progress, timeout)

    def test_plan(
        self,
        plan_id: str,
        *,
        sync_data: bool = True,
        wait: bool = True,
        on_progress: ProgressCallback | None = None,
        timeout: float = 3600.0,
    ) -> Task:
        return self._plan_action(plan_id, "test", {"sync_data": sync_data}, wait, on_progress, timeout)

    def cleanup_plan(
        self,
        plan_id: str,
        *,
        forced: bool = False,
        wait: bool = True,
        on_progress: ProgressCallback | None = None,
        timeout: float = 3600.0,
    ) -> Task:
        return self._plan_action(plan_id, "cleanup", {"forced": forced}, wait, on_progress, timeout)

    def recover_plan(
        self,
        plan_id: str,
        *,
        planned: bool,
        sync_data: bool = True,
        skip_protection_site_operations: bool = False,
        wait: bool = True,
        on_progress: ProgressCallback | None = None,
        timeout: float = 3600.0,
    ) -> Task:
        """Planned migration (``planned=True``) or disaster recovery."""
        body = {"planned_failover": planned, "sync_data": sync_data}
        if not planned:
            body["skip_protection_site_operations"] = skip_protection_site_operations
        return self._plan_action(plan_id, "recovery", body, wait, on_progress, timeout)

    def reprotect_plan(
        self,
        plan_id: str,
        *,
        forced: bool = False,
        wait: bool = True,
        on_progress: ProgressCallback | None = None,
        timeout: float = 3600.0,
    ) -> Task:
        return self._plan_action(plan_id, "reprotect", {"forced": forced}, wait, on_progress, timeout)

    def cancel_plan(self, plan_id: str) -> None:
        self.request("POST", _PLAN + "/{plan_id}/actions/cancel", expect=(204,), plan_id=plan_id)
