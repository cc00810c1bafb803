"""VR records and specs: replications, their disks, VMs and datastores as VR sees them, seeds."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import Field

from srmctl.adapters.dr.models._common import Lenient, Record, Spec, text


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
    SYNC_RPO_VIOLATION = "SYNC_RPO_VIOLATION"
    FULL_SYNC_RPO_VIOLATION = "FULL_SYNC_RPO_VIOLATION"
    NOT_ACTIVE_RPO_VIOLATION = "NOT_ACTIVE_RPO_VIOLATION"
    ERROR_RPO_VIOLATION = "ERROR_RPO_VIOLATION"
    DISK_RESIZING = "DISK_RESIZING"


class DatastorePath(Record):
    datastore_id: str
    datastore_name: str | None = None
    path: str | None = None
    filename: str | None = None


class VmDisk(Record):
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


class VrVm(Record):
    id: str
    name: str
    power_state: str | None = None
    connection_state: str | None = None
    template: bool | None = None
    disks: tuple[VmDisk, ...] = ()


class Datastore(Record):
    id: str
    name: str
    capacity: int | None = None
    free_space: int | None = None
    accessible: bool | None = None
    type: str | None = None
    path: str | None = None


class VmDiskId(Record):
    vm_id: str
    device_key: int | None = None


class DatastoreFile(Record):
    """VR's DatastoreBrowserResult: one file (a disk: its descriptor, sized as its data) of a datastore."""

    path: str
    name: str | None = None
    size: int | None = None
    file_type: str | None = None


class SeedInfo(Record):
    vm_disk: VmDiskId
    found_seeds: tuple[str, ...] = ()


class CompoundStatus(Record):
    status: Lenient[ReplicationStatus] | None = None
    rpo_violation: bool | None = None


class SyncProgress(Record):
    progress: int | None = None
    checksum_current: int | None = None
    checksum_total: int | None = None
    transferred_current: int | None = None
    transferred_total: int | None = None


class Replication(Record):
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
    encryption_enabled: bool | None = None
    auto_replicate_new_disks_enabled: bool | None = None
    # Multiple point-in-time instances (ReplicationInfo.mpit_*): instances per day, kept for mpit_days.
    mpit_enabled: bool | None = None
    mpit_instances: int | None = None
    mpit_days: int | None = None
    vm_data_sets_replication_enabled: bool | None = None
    last_sync_time: int | None = None
    current_rpo_violation: int | None = None
    sync_progress: SyncProgress | None = None

    @property
    def state(self) -> str | None:
        return text(self.status.status) if self.status else None


class ReplicatedDisk(Record):
    vm_disk: VmDisk | None = None
    replicated: bool | None = None
    destination_path: DatastorePath | None = None
    destination_storage_policy_id: str | None = None


# --- request specs --------------------------------------------------------------------------------


class ReplicationDiskSpec(Spec):
    vm_disk: dict[str, Any]  # the VmDisk exactly as VR returned it (passed back verbatim)
    enabled_for_replication: bool = True
    destination_datastore_id: str
    destination_disk_format: str = "SAME_AS_SOURCE"
    use_seeds: bool | None = None
    destination_path: str | None = None
    destination_storage_policy_id: str | None = None


class ConfigureReplicationSpec(Spec):
    vm_id: str
    target_vc_id: str
    rpo: int = Field(ge=5, le=1440)
    disks: tuple[ReplicationDiskSpec, ...]
    quiesce_enabled: bool = False
    network_compression_enabled: bool = False
    mpit_enabled: bool = False
    mpit_instances: int | None = None
    mpit_days: int | None = None
    auto_replicate_new_disks: bool = True
    lwd_encryption_enabled: bool = False
    vm_data_sets_replication_enabled: bool | None = None
    target_replication_server_id: str | None = None
