"""vSphere Replication REST v2 client: replications (configure with seeds, reconfigure, unconfigure,
pause/resume/sync), VR's view of VMs, disks and target datastores, seed discovery.
Paths are the vendor spec's (``vsphere-replication-api-v2.json``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from srmctl.adapters.dr.client import DrClient, ProgressCallback, pick_one
from srmctl.adapters.dr.connection import Api
from srmctl.adapters.dr.models import (
    ConfigureReplicationSpec,
    Datastore,
    ReplicatedDisk,
    Replication,
    SeedInfo,
    ServerInfo,
    Task,
    VmDisk,
    VrVm,
)

_REPL = "/pairings/{pairing_id}/replications"
_VC = "/pairings/{pairing_id}/vcenters/{vcenter_id}"


class VrClient(DrClient):
    API: ClassVar[Api] = Api("VR", "/api/rest/vr/v2", "/tasks/{task_id}")

    def info(self) -> ServerInfo:
        return self.get_model(ServerInfo, "/info")

    # -- replications ----------------------------------------------------------------------------

    def replications(self, *, source_vc_guid: str | None = None, extended_info: bool = False) -> list[Replication]:
        """Replications of the pairing; ``source_vc_guid`` selects one direction (outgoing from it)."""
        params: dict[str, Any] = {"extended_info": extended_info}
        if source_vc_guid:
            params["source_vc_guid"] = source_vc_guid
        return self.get_list(Replication, _REPL, params=params)

    def replication(self, replication_id: str) -> Replication:
        return self.get_model(Replication, _REPL + "/{replication_id}", replication_id=replication_id)

    def replication_disks(self, replication_id: str) -> list[ReplicatedDisk]:
        return self.get_list(
            ReplicatedDisk,
            _REPL + "/{replication_id}/disks",
            replication_id=replication_id,
        )

    def replication_disks_of(self, replication_ids: Sequence[str]) -> dict[str, list[ReplicatedDisk]]:
        """Several replications' disks, by replication id: one GET each (VR lists one replication's disks at a
        time), several on the wire at once (:meth:`read_each`)."""
        return self.read_each(self.replication_disks, replication_ids)

    def configure_replications(
        self,
        specs: Sequence[ConfigureReplicationSpec],
        *,
        wait: bool = True,
        on_progress: ProgressCallback | None = None,
    ) -> list[Task]:
        """Configure replication for many VMs in one batched request (one task per VM)."""
        tasks = self.tasks("POST", _REPL, body=[spec.body() for spec in specs])
        return [self.run(task, wait, on_progress) for task in tasks]

    def reconfigure_replication(
        self, replication_id: str, spec: ConfigureReplicationSpec, *, wait: bool = True
    ) -> Task:
        body = spec.body()
        body.pop("vm_id", None)
        body.pop("target_vc_id", None)
        return self.run(
            self.task(
                "POST",
                _REPL + "/{replication_id}/actions/reconfigure",
                body=body,
                replication_id=replication_id,
            ),
            wait,
        )

    def unconfigure_replication(
        self, replication_id: str, *, retain_replica_disks: bool = True, wait: bool = True
    ) -> Task:
        """Gracefully remove a replication. Replica disks are kept unless asked otherwise: they are the
        seeds of the reverse replication."""
        return self.run(
            self.task(
                "POST",
                _REPL + "/{replication_id}/actions/unconfigure",
                params={"retain_replica_disks": retain_replica_disks},
                replication_id=replication_id,
            ),
            wait,
        )

    def delete_replication(self, replication_id: str, *, retain_replica_disks: bool = True, wait: bool = True) -> Task:
        """Local-site-only removal (when the peer site is gone)."""
        return self.run(
            self.task(
                "DELETE",
                _REPL + "/{replication_id}",
                params={"retain_replica_disks": retain_replica_disks},
                replication_id=replication_id,
            ),
            wait,
        )

    def _replication_action(self, replication_id: str, action: str, wait: bool) -> Task:
        return self.run(
            self.task(
                "POST",
                _REPL + "/{replication_id}/actions/" + action,
                replication_id=replication_id,
            ),
            wait,
        )

    def pause_replication(self, replication_id: str, *, wait: bool = True) -> Task:
        return self._replication_action(replication_id, "pause", wait)

    def resume_replication(self, replication_id: str, *, wait: bool = True) -> Task:
        return self._replication_action(replication_id, "resume", wait)

    def sync_replication(self, replication_id: str, *, wait: bool = True) -> Task:
        return self._replication_action(replication_id, "sync", wait)

    # -- vCenter inventory as VR sees it ---------------------------------------------------------

    def vms(
        self,
        vcenter_id: str,
        *,
        name: str | None = None,
        suitable_for_replication: bool = False,
    ) -> list[VrVm]:
        params: dict[str, Any] = {"suitable_for_replication": suitable_for_replication}
        if name is not None:
            params.update(filter_property="name", filter=[name])
        return self.get_list(VrVm, _VC + "/vms", params=params, vcenter_id=vcenter_id)

    def vm_by_name(self, vcenter_id: str, name: str) -> VrVm:
        # The server-side filter narrows the page; pick_one still checks, so a server ignoring the filter
        # cannot make srmctl act on the wrong VM.
        return pick_one(self.vms(vcenter_id, name=name), "VM", lambda v: v.name, name)

    def vm_disks(self, vcenter_id: str, vm_id: str) -> list[VmDisk]:
        return self.get_list(VmDisk, _VC + "/vms/{vm_id}/disks", vcenter_id=vcenter_id, vm_id=vm_id)

    def datastores(self, vcenter_id: str) -> list[Datastore]:
        return self.get_list(Datastore, _VC + "/datastores", vcenter_id=vcenter_id)

    def datastore_by_name(self, vcenter_id: str, name: str) -> Datastore:
        return pick_one(self.datastores(vcenter_id), "datastore", lambda d: d.name, name)

    def find_seeds(self, vcenter_id: str, datastore_id: str, disks: Sequence[tuple[VmDisk, str]]) -> list[SeedInfo]:
        """For each (disk, destination path such as ``mail04/mail04.vmdk``), the seed files found."""
        body = [
            {"vm_disk": {"vm_id": disk.vm_id, "device_key": disk.device_key}, "destination_path": path}
            for disk, path in disks
        ]
        response = self.request(
            "POST",
            _VC + "/datastores/{datastore_id}/actions/find-seeds",
            body=body,
            vcenter_id=vcenter_id,
            datastore_id=datastore_id,
        )
        return [self.http.parse(SeedInfo, item, "find-seeds") for item in (response.json().get("list") or [])]
