"""SRM REST v2, per plan: per-VM recovery settings (priority, dependencies, IP customisation), plan-level
recovery steps (callouts) and user prompts. Part of :class:`~srmctl.adapters.dr.srm.SrmClient`.

Paths are the vendor spec's (``srm-api-v2.json``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from srmctl.adapters.dr.client import DrClient
from srmctl.adapters.dr.models import (
    Callout,
    CalloutSpec,
    DependencyValidation,
    DependentVm,
    IpCustomization,
    NicSettings,
    Priority,
    RecoveryStep,
    Task,
    UserPrompt,
    ViewMode,
    VmRecoverySettings,
    VmRecoverySettingsState,
)

_PLAN = "/pairings/{pairing_id}/recovery-management/plans"
_VM_SETTINGS = _PLAN + "/{plan_id}/vms/{vm_id}/recovery-settings"
_STEPS = _PLAN + "/{plan_id}/recovery-steps/{view_mode}"
_PROMPTS = _PLAN + "/{plan_id}/recovery-steps/user-prompts"


class PlanSettingsCalls(DrClient):
    """The per-plan settings calls of the SRM client."""

    # -- per-VM recovery settings ----------------------------------------------------------------

    _settings_read: dict[tuple[str, str], VmRecoverySettingsState] | None = None  # inside reading_settings_once

    def recovery_settings(self, plan_id: str, vm_id: str) -> VmRecoverySettingsState:
        """One VM's recovery settings. The API has no list of them (only per VM: ``GET …/vms/{vm_id}/
        recovery-settings``), so code that looks at them twice reads them once (:meth:`reading_settings_once`)."""
        memo = self._settings_read
        if memo is not None and (plan_id, vm_id) in memo:
            return memo[(plan_id, vm_id)]
        state = self.get_model(VmRecoverySettingsState, _VM_SETTINGS, plan_id=plan_id, vm_id=vm_id)
        if memo is not None:
            memo[(plan_id, vm_id)] = state
        return state

    def recovery_settings_of(self, plan_id: str, vm_ids: Sequence[str]) -> dict[str, VmRecoverySettingsState]:
        """Several VMs' recovery settings, by VM id. Still one GET per VM (the API lists no settings), but
        several on the wire at once (:meth:`read_each`)."""
        return self.read_each(lambda vm_id: self.recovery_settings(plan_id, vm_id), vm_ids)

    @contextmanager
    def reading_settings_once(self) -> Iterator[None]:
        """Inside the block, each VM's recovery settings are read at most once (e.g. a verification that plans a
        restore and captures the plan, both reading every VM's settings). Any change through this client ends
        the memo (:meth:`invalidate`)."""
        self._settings_read = {}
        try:
            yield
        finally:
            self._settings_read = None

    def invalidate(self) -> None:
        if self._settings_read is not None:
            self._settings_read.clear()

    def update_recovery_settings(
        self, plan_id: str, vm_id: str, settings: VmRecoverySettings, *, wait: bool = True
    ) -> Task:
        return self.run(
            self.task(
                "POST",
                _VM_SETTINGS + "/actions/update",
                body=settings.spec_body(),
                plan_id=plan_id,
                vm_id=vm_id,
            ),
            wait,
        )

    def priority(self, plan_id: str, vm_id: str) -> str:
        data = self.request("GET", _VM_SETTINGS + "/priority", plan_id=plan_id, vm_id=vm_id).json()
        return str(data["priority"])

    def set_priority(self, plan_id: str, vm_id: str, priority: Priority | str, *, wait: bool = True) -> Task:
        value = priority.value if isinstance(priority, Priority) else Priority(priority).value
        return self.run(
            self.task(
                "PUT",
                _VM_SETTINGS + "/priority",
                body={"priority": value},
                plan_id=plan_id,
                vm_id=vm_id,
            ),
            wait,
        )

    def dependent_vms(self, plan_id: str, vm_id: str) -> list[DependentVm]:
        return self.get_list(DependentVm, _VM_SETTINGS + "/dependent-vms", plan_id=plan_id, vm_id=vm_id)

    def validate_dependent_vms(self, plan_id: str, vm_id: str, dependent_vm_ids: Sequence[str]) -> DependencyValidation:
        response = self.request(
            "POST",
            _VM_SETTINGS + "/dependent-vms/actions/validate",
            body={"dependent_vms": list(dependent_vm_ids)},
            plan_id=plan_id,
            vm_id=vm_id,
        )
        return self.http.parse(DependencyValidation, response.json(), "dependent-vms/actions/validate")

    def set_dependent_vms(
        self, plan_id: str, vm_id: str, dependent_vm_ids: Sequence[str], *, wait: bool = True
    ) -> Task:
        return self.run(
            self.task(
                "POST",
                _VM_SETTINGS + "/dependent-vms/actions/update",
                body={"dependent_vms": list(dependent_vm_ids)},
                plan_id=plan_id,
                vm_id=vm_id,
            ),
            wait,
        )

    def ip_customization(self, plan_id: str, vm_id: str) -> IpCustomization:
        return self.get_model(
            IpCustomization,
            _VM_SETTINGS + "/ip-customization",
            plan_id=plan_id,
            vm_id=vm_id,
        )

    def set_ip_customization(
        self,
        plan_id: str,
        vm_id: str,
        customization_type: str,
        nic_settings: Sequence[NicSettings],
        *,
        wait: bool = True,
    ) -> Task:
        body = {
            "ip_customization_type": customization_type,
            "nic_settings": [nic.model_dump(mode="json", exclude_none=True) for nic in nic_settings],
        }
        return self.run(
            self.task(
                "POST",
                _VM_SETTINGS + "/ip-customization/actions/update",
                body=body,
                plan_id=plan_id,
                vm_id=vm_id,
            ),
            wait,
        )

    # -- plan-level recovery steps and prompts ---------------------------------------------------

    def recovery_steps(self, plan_id: str, view_mode: ViewMode | str) -> list[RecoveryStep]:
        return self.get_list(RecoveryStep, _STEPS, plan_id=plan_id, view_mode=ViewMode(view_mode).value)

    def create_plan_callout(
        self,
        plan_id: str,
        view_mode: ViewMode | str,
        spec: CalloutSpec,
        *,
        wait: bool = True,
    ) -> Task:
        if spec.position is None:
            raise ValueError("a plan-level callout needs a position")
        return self.run(
            self.task(
                "POST",
                _STEPS,
                body=spec.body(),
                plan_id=plan_id,
                view_mode=ViewMode(view_mode).value,
            ),
            wait,
        )

    def delete_recovery_step(self, plan_id: str, view_mode: ViewMode | str, step_id: int, *, wait: bool = True) -> Task:
        return self.run(
            self.task(
                "DELETE",
                _STEPS + "/{recovery_step_id}",
                plan_id=plan_id,
                view_mode=ViewMode(view_mode).value,
                recovery_step_id=str(step_id),
            ),
            wait,
        )

    def callout_data(self, plan_id: str, view_mode: ViewMode | str, step_id: int) -> Callout:
        return self.get_model(
            Callout,
            _STEPS + "/{recovery_step_id}/callout-data",
            plan_id=plan_id,
            view_mode=ViewMode(view_mode).value,
            recovery_step_id=str(step_id),
        )

    def edit_callout(
        self,
        plan_id: str,
        view_mode: ViewMode | str,
        step_id: int,
        spec: CalloutSpec,
        *,
        wait: bool = True,
    ) -> Task:
        body = spec.model_dump(mode="json", exclude_none=True, exclude={"position"})
        return self.run(
            self.task(
                "POST",
                _STEPS + "/{recovery_step_id}/callout-data/actions/edit",
                body=body,
                plan_id=plan_id,
                view_mode=ViewMode(view_mode).value,
                recovery_step_id=str(step_id),
            ),
            wait,
        )

    def user_prompts(self, plan_id: str) -> list[UserPrompt]:
        return self.get_list(UserPrompt, _PROMPTS, plan_id=plan_id)

    def dismiss_prompt(self, plan_id: str, prompt_id: str) -> None:
        self.request(
            "POST",
            _PROMPTS + "/{prompt_id}/actions/dismiss-prompt",
            expect=(204,),
            plan_id=plan_id,
            prompt_id=prompt_id,
        )
