"""Typed, frozen records for what the SRM and VR REST APIs return, and specs for what srmctl sends.

Field names are the APIs' own (snake_case JSON), so a record maps 1:1 to the vendor schema of the same
name. Unknown JSON fields are ignored, and enum values are parsed leniently: a value the enum does not know
(newer appliances add states, e.g. ``RECONFIGURING``) is kept as the plain string instead of failing the
whole response. Every enum is a ``str`` enum, so ``record.status == "READY_STATE"`` works either way.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field

E = TypeVar("E", bound=Enum)


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _Spec(BaseModel):
    """A request body: unknown fields are a programming error, so they are forbidden."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def text(value: Enum | str | None) -> str | None:
    """The wire string of a leniently parsed enum value."""
    return value.value if isinstance(value, Enum) else value


# Lenient[SomeEnum]: the enum member when known, otherwise the raw string.
Lenient = Annotated[Union[E, str], Field(union_mode="left_to_right")]  # noqa: UP007


class TaskStatus(str, Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"


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


class ReplicationStatus(str, Enum):
    FULL_SYNC = "FULL_SYNC"
    SYNC = "SYNC"
    INITIAL_FULL_SYNC = "INITIAL_FULL_SYNC"
    PAUSED = "PAUSED"
    RPO_VIOLATION = "RPO_VIOLATION"
    MOVING = "MOVING"
    OK = "OK"
    ERROR = "ERROR"
    CONFIGURING = "CONFIGURING"
    NOT_ACTIVE = "NOT_ACTIVE"
    UNKNOWN = "UNKNOWN"
    RECOVERING = "RECOVERING"
    RECOVERED = "RECOVERED"


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


class TaskError(_Record):
    message: str | None = None
    details: str | None = None


class Task(_Record):
    id: str
    status: Lenient[TaskStatus]
    description: str | None = None
    entity: str | None = None
    entity_name: str | None = None
    progress: int | None = None
    error: TaskError | None = None
    result: Any = None
    queued_time: int | None = None
    start_time: int | None = None
    complete_time: int | None = None

    @property
    def done(self) -> bool:
        return self.status not in (TaskStatus.QUEUED, TaskStatus.RUNNING)

    @property
    def result_id(self) -> str | None:
        """The id a create task reports (SRM puts the new object's id in ``result``; accept an object
        with an ``id`` too, which is what the schema's ``type: object`` allows)."""
        if isinstance(self.result, str):
            return self.result
        if isinstance(self.result, dict):
            value = self.result.get("id")
            return str(value) if value is not None else None
        return None


class ServerInfo(_Record):
    id: str | None = None
    name: str | None = None
    url: str | None = None
    server_status: Lenient[Any] | None = None
    version: str | None = None


class Pairing(_Record):
    pairing_id: str
    local_vc_server: ServerInfo
    remote_vc_server: ServerInfo
    local_srm_server: ServerInfo | None = None
    remote_srm_server: ServerInfo | None = None
    local_vrms: ServerInfo | None = None
    remote_vrms: ServerInfo | None = None


class SessionInfo(_Record):
    username: str | None = None


# --- protection groups ----------------------------------------------------------------------------


class ProtectionGroup(_Record):
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


class ProtectionStatusDetails(_Record):
    status: Lenient[VmProtectionStatus] | None = None
    errors: tuple[str, ...] = ()


class ProtectionGroupVm(_Record):
    id: str
    name: str
    template: bool | None = None
    protection_status_details: ProtectionStatusDetails | None = None

    @property
    def status(self) -> str | None:
        details = self.protection_status_details
        return text(details.status) if details else None


# --- recovery plans -------------------------------------------------------------------------------


class RecoveryPlan(_Record):
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


class DependentVm(_Record):
    id: str
    name: str
    status: str | None = None
    priority_group: Lenient[Priority] | None = None
    protection_group_name: str | None = None


class VmSummarizedRecoverySettings(_Record):
    priority: Lenient[Priority] | None = None
    startup_action: Lenient[StartupAction] | None = None
    dependent_vms: tuple[DependentVm, ...] = ()
    pre_power_on_steps: str | None = None
    post_power_on_steps: str | None = None


class RecoveryPlanVm(_Record):
    id: str
    name: str
    status: str | None = None
    protection_group: str | None = None
    protection_group_name: str | None = None
    recovery_settings: VmSummarizedRecoverySettings | None = None


class Callout(_Record):
    id: str = ""
    name: str
    content: str
    callout_type: Lenient[CalloutType]
    timeout_seconds: int
    step_type: Lenient[StepType]


class ShutdownActionSettings(_Record):
    skip_shutdown_guest: bool | None = None
    timeout_seconds: int


class StartupActionSettings(_Record):
    power_on_vmtools_timeout_seconds: int | None = None
    delay_before_power_on_steps_and_dependent_vms_seconds: int | None = None


class IpV4Settings(_Record):
    ip_address: str
    type: str
    subnet_mask: str
    default_gateway: str | None = None
    alternate_gateway: str | None = None


class IpV6Settings(_Record):
    type: str
    ip_address: str | None = None
    default_gateway: str | None = None
    alternate_gateway: str | None = None
    subnet_prefix_length: int | None = None


class DnsSettings(_Record):
    type: str
    preferred_server: str | None = None
    alternate_server: str | None = None
    suffixes: tuple[str, ...] | None = None


class WinsSettings(_Record):
    primary_server: str | None = None
    alternate_server: str | None = None


class IpSettings(_Record):
    ip_v4: IpV4Settings | None = None
    ip_v6: IpV6Settings | None = None
    dns: DnsSettings | None = None
    wins: WinsSettings | None = None


class NicSettings(_Record):
    device_id: int | None = None
    primary_ip_settings: IpSettings | None = None
    secondary_ip_settings: IpSettings | None = None


class VmRecoverySettings(_Record):
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


class VmRecoverySettingsState(_Record):
    recovery_settings: VmRecoverySettings
    status: str | None = None


class IpCustomization(_Record):
    ip_customization_type: Lenient[IpCustomizationType]
    is_windows_guest: bool | None = None
    is_recovery_site_local: bool | None = None
    nic_settings: tuple[NicSettings, ...] = ()


class DependencyValidation(_Record):
    valid: bool
    issue_type: str | None = None


class PlanCalloutPosition(_Record):
    position_spec_index: int
    position_spec_position: str


class VmCalloutPosition(_Record):
    vm_id: str
    pre_power_on: bool
    index: int


class RecoveryStep(_Record):
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


class UserPrompt(_Record):
    id: str
    description: str
    prompt_text: str
    callout_id: str
    raised_time: int


# --- vSphere Replication --------------------------------------------------------------------------


class DatastorePath(_Record):
    datastore_id: str
    datastore_name: str | None = None
    path: str | None = None
    filename: str | None = None


class VmDisk(_Record):
    vm_id: str
    device_key: int | None = None
    is_vm_home: bool | None = None
    encrypted: bool | None = None
    capacity: int | None = None
    source_disk_format: str | None = None
    source_path: DatastorePath | None = None
    source_storage_policy_name: str | None = None
    source_storage_policy_id: str | None = None
    label: str | None = None
    controller_key: int | None = None
    controller_label: str | None = None
    supported_for_replication: bool | None = None


class VrVm(_Record):
    id: str
    name: str
    power_state: str | None = None
    connection_state: str | None = None
    template: bool | None = None
    disks: tuple[VmDisk, ...] = ()


class Datastore(_Record):
    id: str
    name: str
    capacity: int | None = None
    free_space: int | None = None
    accessible: bool | None = None
    type: str | None = None
    path: str | None = None


class VmDiskId(_Record):
    vm_id: str
    device_key: int | None = None


class SeedInfo(_Record):
    vm_disk: VmDiskId
    found_seeds: tuple[str, ...] = ()


class CompoundStatus(_Record):
    status: Lenient[ReplicationStatus] | None = None
    rpo_violation: bool | None = None


class SyncProgress(_Record):
    progress: int | None = None
    checksum_current: int | None = None
    checksum_total: int | None = None
    transferred_current: int | None = None
    transferred_total: int | None = None


class Replication(_Record):
    id: str
    name: str | None = None
    vm_id: str | None = None
    source_site_name: str | None = None
    source_vc_id: str | None = None
    target_site_name: str | None = None
    target_vc_id: str | None = None
    rpo: int | None = None
    status: CompoundStatus | None = None
    configuration_state: str | None = None
    quiescing_enabled: bool | None = None
    network_compression_enabled: bool | None = None
    last_sync_time: int | None = None
    current_rpo_violation: int | None = None
    sync_progress: SyncProgress | None = None

    @property
    def state(self) -> str | None:
        return text(self.status.status) if self.status else None


class ReplicatedDisk(_Record):
    vm_disk: VmDisk | None = None
    replicated: bool | None = None
    destination_path: DatastorePath | None = None


# --- request specs --------------------------------------------------------------------------------


class ReplicationDiskSpec(_Spec):
    vm_disk: dict[str, Any]  # the VmDisk exactly as VR returned it (passed back verbatim)
    enabled_for_replication: bool = True
    destination_datastore_id: str
    destination_disk_format: str = "SAME_AS_SOURCE"
    use_seeds: bool | None = None
    destination_path: str | None = None
    destination_storage_policy_id: str | None = None


class ConfigureReplicationSpec(_Spec):
    vm_id: str
    target_vc_id: str
    rpo: int = Field(ge=5, le=1440)
    disks: tuple[ReplicationDiskSpec, ...]
    quiesce_enabled: bool = False
    network_compression_enabled: bool = False
    mpit_enabled: bool = False
    auto_replicate_new_disks: bool = True
    lwd_encryption_enabled: bool = False
    target_replication_server_id: str | None = None


class CalloutSpec(_Spec):
    """``CalloutCreateSpec`` (with ``position``) / ``CalloutModifySpec`` (without)."""

    name: str
    content: str
    callout_type: CalloutType
    timeout_seconds: int = Field(ge=0, le=59999)
    position: int | None = Field(default=None, ge=0)
