"""Request bodies of the VR calls srmsim serves (replications, seeds, the datastore browser): the same strict,
closed models of the VR spec's schemas as :mod:`srmctl.srmsim.bodies` has for SRM's."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from srmctl.srmsim.bodies import ArrayOf, Body, DiskFormat, Int32, Int64


class DatastoreBrowserRequestBody(Body):
    query_type: Literal["VM_DISK", "FLOPPY_IMAGE", "ISO_IMAGE", "VM_CONFIG_FILES", "ALL_FILES", "FOLDERS"] | None = None
    browse_path: str | None = None
    sub_folders: bool | None = None


# --- VR: replications and seeds ---------------------------------------------------------------------


class DatastorePathDataBody(Body):
    NULLABLE = frozenset({"datastore_name", "path", "filename"})
    datastore_id: str
    datastore_name: str | None = None
    path: str | None = None
    filename: str | None = None


class VmDiskBody(Body):
    NULLABLE = frozenset({"source_storage_policy_name", "source_storage_policy_id", "controller_label"})
    vm_id: str
    device_key: Int32 | None = None
    is_vm_home: bool | None = None
    encrypted: bool | None = None
    capacity: Int64 | None = None
    source_disk_format: DiskFormat | None = None
    source_path: DatastorePathDataBody | None = None
    source_storage_policy_name: str | None = None
    source_storage_policy_id: str | None = None
    label: str | None = None
    controller_key: Int32 | None = None
    controller_label: str | None = None
    supported_for_replication: bool | None = None


class ConfigureReplicationVmDiskBody(Body):
    NULLABLE = frozenset({"destination_storage_policy_id", "destination_path"})
    vm_disk: VmDiskBody
    enabled_for_replication: bool
    use_seeds: bool | None = None
    destination_storage_policy_id: str | None = None
    destination_path: str | None = None
    destination_datastore_id: str
    destination_disk_format: DiskFormat


class ReconfigureReplicationSpecBody(Body):
    NULLABLE = frozenset({"target_replication_server_id"})
    quiesce_enabled: bool | None = None
    rpo: Annotated[int, Field(ge=5, le=1440)]  # minutes
    network_compression_enabled: bool
    mpit_enabled: bool
    mpit_instances: Int32 | None = None
    mpit_days: Int32 | None = None
    auto_replicate_new_disks: bool
    target_replication_server_id: str | None = None
    lwd_encryption_enabled: bool
    vm_data_sets_replication_enabled: bool | None = None
    disks: list[ConfigureReplicationVmDiskBody]


class ConfigureReplicationSpecBody(ReconfigureReplicationSpecBody):
    target_vc_id: str
    vm_id: str


class VmDiskIdentifierBody(Body):
    vm_id: str
    device_key: Int32 | None = None


class VmDiskFindSeedSpecBody(Body):
    NULLABLE = frozenset({"destination_path"})
    vm_disk: VmDiskIdentifierBody
    destination_path: str | None = None
    use_wildcard: bool | None = None


ConfigureReplicationSpecs = ArrayOf(ConfigureReplicationSpecBody)
VmDiskFindSeedSpecs = ArrayOf(VmDiskFindSeedSpecBody)
