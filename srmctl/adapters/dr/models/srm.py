"""SRM records and specs: protection groups, recovery plans, per-VM recovery settings, recovery steps, prompts."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import Field

from srmctl.adapters.dr.models._common import Lenient, Record, Spec, text


class PlanStatus(str, Enum):
    READY_STATE = "READY_STATE"
    NO_PROTECTION_GROUPS = "NO_PROTECTION_GROUPS"
    DIRECTION_ERROR = "DIRECTION_ERROR"
    DELETING = "DELETING"
    WAITING_FOR_USER_INPUT = "WAITING_FOR_USER_INPUT"
    CANCEL_IN_PROGRESS = "CANCEL_IN_PROGRESS"
    TEST_IN_PROGRESS = "TEST_IN_PROGRESS"
    PROTECTION_GROUPS_IN_USE = "PROTECTION_GROUPS_IN_USE"
    TEST_COMPLETE = "TEST_COMPLETE"
    TEST_INTERRUPTED = "TEST_INTERRUPTED"
    CLEANUP_IN_PROGRESS = "CLEANUP_IN_PROGRESS"
    CLEANUP_INCOMPLETE = "CLEANUP_INCOMPLETE"
    CLEANUP_INTERRUPTED = "CLEANUP_INTERRUPTED"
    RECOVERY_IN_PROGRESS = "RECOVERY_IN_PROGRESS"
    RECOVERY_COMPLETE = "RECOVERY_COMPLETE"
    RECOVERY_STARTED = "RECOVERY_STARTED"
    PARTIAL_RECOVERY = "PARTIAL_RECOVERY"
    RECOVERY_SPLIT_BRAIN = "RECOVERY_SPLIT_BRAIN"
    DISASTER_RECOVERY_COMPLETE = "DISASTER_RECOVERY_COMPLETE"
    INCOMPLETE_RECOVERY = "INCOMPLETE_RECOVERY"
    RECOVERY_INTERRUPTED = "RECOVERY_INTERRUPTED"
    REPROTECT_IN_PROGRESS = "REPROTECT_IN_PROGRESS"
    INCOMPLETE_REPROTECT = "INCOMPLETE_REPROTECT"
    PARTIAL_REPROTECT = "PARTIAL_REPROTECT"
    REPROTECT_INTERRUPTED = "REPROTECT_INTERRUPTED"
    UNKNOWN_STATE = "UNKNOWN_STATE"
    SYNC_CONFLICT = "SYNC_CONFLICT"


class GroupStatus(str, Enum):
    UNKNOWN = "UNKNOWN"
    OK = "OK"
    NOT_CONFIGURED = "NOT_CONFIGURED"
    CONFIGURING_PROTECTION = "CONFIGURING_PROTECTION"
    REMOVING_PROTECTION = "REMOVING_PROTECTION"
    RESTORING_PLACEHOLDERS = "RESTORING_PLACEHOLDERS"
    OPERATIONS_IN_PROGRESS = "OPERATIONS_IN_PROGRESS"
    TESTING = "TESTING"
    TEST_COMPLETE = "TEST_COMPLETE"
    CLEANING_UP = "CLEANING_UP"
    RECOVERING = "RECOVERING"
    PARTIALLY_RECOVERED = "PARTIALLY_RECOVERED"
    RECOVERED = "RECOVERED"
    REPROTECTING = "REPROTECTING"
    PARTIALLY_REPROTECTED = "PARTIALLY_REPROTECTED"
    READY = "READY"
    LOADING = "LOADING"


class VmProtectionStatus(str, Enum):
    LOADING = "LOADING"
    NOT_CONFIGURED = "NOT_CONFIGURED"
    CONFIGURING_PROTECTION = "CONFIGURING_PROTECTION"
    REMOVING_PROTECTION = "REMOVING_PROTECTION"
    RESTORING_PLACEHOLDER = "RESTORING_PLACEHOLDER"
    DEVICE_NOT_FOUND = "DEVICE_NOT_FOUND"
    PLACEHOLDER_VM_DELETED = "PLACEHOLDER_VM_DELETED"
    OK = "OK"
    INVALID = "INVALID"
    MISSING_MAPPING = "MISSING_MAPPING"
    REPLICATION_ERROR = "REPLICATION_ERROR"
    REPLICATION_WARNING = "REPLICATION_WARNING"
    MAPPING_CONFLICT = "MAPPING_CONFLICT"
    ABR_CONFIGURATION_ERROR = "ABR_CONFIGURATION_ERROR"
    PLACEHOLDER_CREATION_ERROR = "PLACEHOLDER_CREATION_ERROR"
    MISSING_UNPROTECTED_VM = "MISSING_UNPROTECTED_VM"
    VVOL_CONFIGURATION_ERROR = "VVOL_CONFIGURATION_ERROR"
    VVOL_CONFIGURATION_WARNING = "VVOL_CONFIGURATION_WARNING"


class Priority(str, Enum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"
    P5 = "P5"


class CalloutType(str, Enum):
    PROMPT = "PROMPT"
    RUN_ON_VM = "RUN_ON_VM"
    RUN_ON_SRM_SERVER = "RUN_ON_SRM_SERVER"


class StepType(str, Enum):
    PRE_POWER_ON = "PRE_POWER_ON"
    POST_POWER_ON = "POST_POWER_ON"
    RECOVERY_STEP = "RECOVERY_STEP"


class StartupAction(str, Enum):
    POWER_ON = "POWER_ON"
    DO_NOT_POWER_ON = "DO_NOT_POWER_ON"


class IpCustomizationType(str, Enum):
    AUTO = "AUTO"
    NETWORK_MAPPING_LEVEL = "NETWORK_MAPPING_LEVEL"
    MANUAL = "MANUAL"
    NO_CUSTOMIZATION = "NO_CUSTOMIZATION"


class ViewMode(str, Enum):
    TEST = "test"
    RECOVERY = "recovery"
    CLEANUP = "cleanup"
    REPROTECT = "reprotect"


class StepStatus(str, Enum):
    INACTIVE = "INACTIVE"
    RUNNING = "RUNNING"
    CANCELLED = "CANCELLED"
    SKIPPED = "SKIPPED"
    ALREADY_DONE = "ALREADY_DONE"
    SUCCESS = "SUCCESS"
    WARNING = "WARNING"
    ERROR = "ERROR"


# --- common ---------------------------------------------------------------------------------------


class ProtectionGroup(Record):
    id: str
    name: str
    description: str | None = None
    protected_site_name: str | None = None
    recovery_site_name: str | None = None
    protected_vc_guid: str | None = None
    recovery_vc_guid: str | None = None
    location: str | None = None
    total_vms: int | None = None
    replication_type: str | None = None
    status: Lenient[GroupStatus] | None = None
    recovery_status: str | None = None


class ProtectionStatusDetails(Record):
    status: Lenient[VmProtectionStatus] | None = None
    errors: tuple[str, ...] = ()


class ProtectionGroupVm(Record):
    id: str
    name: str
    template: bool | None = None
    protection_status_details: ProtectionStatusDetails | None = None

    @property
    def status(self) -> str | None:
        details = self.protection_status_details
        return text(details.status) if details else None


# --- recovery plans -------------------------------------------------------------------------------


class RecoveryPlan(Record):
    id: str
    name: str
    status: Lenient[PlanStatus]
    location: str | None = None
    description: str | None = None
    protected_site_name: str | None = None
    recovery_site_name: str | None = None
    protected_vc_guid: str | None = None
    recovery_vc_guid: str | None = None
    progress: int | None = None
    is_running: bool | None = None


class DependentVm(Record):
    id: str
    name: str
    status: str | None = None
    priority_group: Lenient[Priority] | None = None
    protection_group_name: str | None = None


class VmSummarizedRecoverySettings(Record):
    priority: Lenient[Priority] | None = None
    startup_action: Lenient[StartupAction] | None = None
    dependent_vms: tuple[DependentVm, ...] = ()
    pre_power_on_steps: str | None = None
    post_power_on_steps: str | None = None


class RecoveryPlanVm(Record):
    id: str
    name: str
    status: str | None = None
    protection_group: str | None = None
    protection_group_name: str | None = None
    recovery_settings: VmSummarizedRecoverySettings | None = None


class Callout(Record):
    id: str = ""
    name: str
    content: str
    callout_type: Lenient[CalloutType]
    timeout_seconds: int
    step_type: Lenient[StepType]


class ShutdownActionSettings(Record):
    skip_shutdown_guest: bool | None = None
    timeout_seconds: int


class StartupActionSettings(Record):
    power_on_vmtools_timeout_seconds: int | None = None
    delay_before_power_on_steps_and_dependent_vms_seconds: int | None = None


class IpV4Settings(Record):
    ip_address: str
    type: str
    subnet_mask: str
    default_gateway: str | None = None
    alternate_gateway: str | None = None


class IpV6Settings(Record):
    type: str
    ip_address: str | None = None
    default_gateway: str | None = None
    alternate_gateway: str | None = None
    subnet_prefix_length: int | None = None


class DnsSettings(Record):
    type: str
    preferred_server: str | None = None
    alternate_server: str | None = None
    suffixes: tuple[str, ...] | None = None


class WinsSettings(Record):
    primary_server: str | None = None
    alternate_server: str | None = None


class IpSettings(Record):
    ip_v4: IpV4Settings | None = None
    ip_v6: IpV6Settings | None = None
    dns: DnsSettings | None = None
    wins: WinsSettings | None = None


class NicSettings(Record):
    device_id: int | None = None
    primary_ip_settings: IpSettings | None = None
    secondary_ip_settings: IpSettings | None = None


class VmRecoverySettings(Record):
    """Full per-VM recovery settings (``VmRecoverySettings``); also the shape of the update spec."""

    priority: Lenient[Priority]
    startup_action: Lenient[StartupAction]
    shutdown_action_settings: ShutdownActionSettings
    ip_customization_type: Lenient[IpCustomizationType]
    nic_settings: tuple[NicSettings, ...] = ()
    pre_power_on_steps: tuple[Callout, ...] = ()
    post_power_on_steps: tuple[Callout, ...] = ()
    startup_action_settings: StartupActionSettings | None = None
    dependent_vms: tuple[DependentVm, ...] = ()
    change_version: int | None = None
    vm_tools_status: str | None = None

    def spec_body(self) -> dict[str, Any]:
        """The ``VmRecoverySettingsSpec`` body: the same fields minus the read-only ones."""
        body = self.model_dump(mode="json", exclude_none=True, exclude={"change_version", "vm_tools_status"})
        return body


class VmRecoverySettingsState(Record):
    recovery_settings: VmRecoverySettings
    status: str | None = None


class IpCustomization(Record):
    ip_customization_type: Lenient[IpCustomizationType]
    is_windows_guest: bool | None = None
    is_recovery_site_local: bool | None = None
    nic_settings: tuple[NicSettings, ...] = ()


class DependencyValidation(Record):
    valid: bool
    issue_type: str | None = None


class PlanCalloutPosition(Record):
    position_spec_index: int
    position_spec_position: str


class VmCalloutPosition(Record):
    vm_id: str
    pre_power_on: bool
    index: int


class RecoveryStep(Record):
    id: int
    title: str
    step_number: str
    child_count: int
    depth: int
    progress: int
    status: Lenient[StepStatus]
    start_time: int | None = None
    finish_time: int | None = None
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    plan_callout_position_spec: PlanCalloutPosition | None = None
    vm_callout_position_spec: VmCalloutPosition | None = None


class UserPrompt(Record):
    id: str
    description: str
    prompt_text: str
    callout_id: str
    raised_time: int


# --- vSphere Replication --------------------------------------------------------------------------


class CalloutSpec(Spec):
    """``CalloutCreateSpec`` (with ``position``) / ``CalloutModifySpec`` (without)."""

    name: str
    content: str
    callout_type: CalloutType
    timeout_seconds: int = Field(ge=0, le=59999)
    position: int | None = Field(default=None, ge=0)


# --- inventory mappings (spec tag inventory-mappings) ---------------------------------------------------------


class InventoryMapping(Record):
    """``FolderMapping`` / ``ResourceMapping`` / ``NetworkMapping``: an object of the SRM's own vCenter
    (``primary_object``) mapped to one of the paired vCenter's (``secondary_object``). Object ids read
    ``<Type>:<MoRef>:<vCenter guid>``."""

    id: str
    primary_object: str | None = None
    secondary_object: str | None = None
    primary_object_name: str | None = None
    secondary_object_name: str | None = None
    reverse_mapping_type: str | None = None

    @property
    def source_moref(self) -> str:
        return moref_of(self.primary_object)

    @property
    def target_moref(self) -> str:
        return moref_of(self.secondary_object)


class PlaceholderDatastore(Record):
    id: str
    name: str | None = None
    overall_status: str | None = None


def moref_of(object_id: str | None) -> str:
    """The MoRef inside an SRM object id (``Folder:group-v12:<guid>``), or the id itself when not of that form."""
    parts = (object_id or "").split(":")
    return parts[1] if len(parts) == 3 else (object_id or "")
