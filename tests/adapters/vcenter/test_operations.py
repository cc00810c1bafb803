from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from srmctl.adapters.vcenter import operations
from srmctl.adapters.vcenter.connection import VCenterSession
from srmctl.adapters.vcenter.inventory import read_inventory
from srmctl.adapters.vcenter.tasks import wait_for_task
from srmctl.errors import GuardrailViolation, NotFound, OperationFailed
from srmctl.lab.config import LabConfig


def _inject(lab: LabConfig, **fault: object) -> None:
    """A SOAP fault rule in the lab's vcsim (the lab vcsim's loopback control endpoint)."""
    endpoint = lab.sites["new-york"].vcenter
    httpx.post(f"https://{endpoint.host}:{endpoint.port}/srmctl/faults", json=fault, verify=False).raise_for_status()


def _files_on_disk(directory: Path) -> dict[str, int]:
    return {str(p.relative_to(directory)): p.stat().st_size for p in sorted(directory.rglob("*")) if p.is_file()}


def test_unregister_keeps_every_file_and_register_brings_the_vm_back(fresh_lab: LabConfig, ny: VCenterSession) -> None:
    ds_dir = Path(fresh_lab.sites["new-york"].datastores["ESX1_LOCAL"])
    inv = read_inventory(ny)
    mail = inv.vm("mail04")
    operations.power_off(ny, mail.moref)
    before = _files_on_disk(ds_dir)
    assert before["mail04/mail04-flat.vmdk"] == 4 * 1024**2

    record = operations.unregister(ny, mail.moref)

    assert record.vmx_path == mail.vmx_path and record.instance_uuid == mail.instance_uuid
    assert {f.name for f in record.files} >= {"mail04.vmx", "mail04.vmdk", "mail04-flat.vmdk", "mail04.nvram"}
    assert _files_on_disk(ds_dir) == before  # nothing deleted, nothing changed
    with pytest.raises(NotFound):
        read_inventory(ny).vm("mail04")

    folder = read_inventory(ny).folder("Mail")
    pool = read_inventory(ny).resource_pool("Resources")
    moref = operations.register(ny, record.vmx_path, folder=folder.moref, resource_pool=pool.moref)
    back = read_inventory(ny).vm("mail04")
    assert back.moref == moref != mail.moref  # a new MoRef: why srmctl never keys by MoRef
    assert back.folder == "Mail" and back.vmx_path == mail.vmx_path
    after = _files_on_disk(ds_dir)
    assert after.keys() == before.keys()  # registering appends to vmware.log, nothing else changes
    assert {k: v for k, v in after.items() if not k.endswith(".log")} == {
        k: v for k, v in before.items() if not k.endswith(".log")
    }


def test_powered_on_vm_is_refused_unless_explicitly_allowed(fresh_lab: LabConfig, ny: VCenterSession) -> None:
    web = read_inventory(ny).vm("web01")
    with pytest.raises(GuardrailViolation, match="powered on"):
        operations.unregister(ny, web.moref)
    assert read_inventory(ny).vm("web01").powered_on  # untouched

    record = operations.unregister(ny, web.moref, allow_powered_on=True)
    assert record.was_powered_on
    with pytest.raises(NotFound):
        read_inventory(ny).vm("web01")
    ds_dir = Path(fresh_lab.sites["new-york"].datastores["NY-SAN-01"])
    assert (ds_dir / "web01" / "web01-flat.vmdk").stat().st_size == 2 * 1024**2


def test_power_operations_are_idempotent_and_report_progress(ny: VCenterSession) -> None:
    db = read_inventory(ny).vm("db01")
    assert operations.power_on(ny, db.moref) is False  # already on
    assert operations.power_off(ny, db.moref) is True
    assert operations.power_off(ny, db.moref) is False
    seen: list[int] = []
    task = operations.vm_object(ny, db.moref).PowerOnVM_Task()
    wait_for_task(ny, task, progress=lambda _t, pct: seen.append(pct))
    assert operations.power_state(ny, db.moref) == "poweredOn"
    assert ny.calls["WaitForUpdatesEx"] >= 1


def test_create_folder_makes_nested_folders_once(ny: VCenterSession) -> None:
    first = operations.create_folder(ny, "NY-DC", "Apps/Billing/Batch")
    again = operations.create_folder(ny, "NY-DC", "Apps/Billing/Batch")
    assert first == again
    assert read_inventory(ny).folder("Apps/Billing/Batch").moref == first
    with pytest.raises(NotFound):
        operations.create_folder(ny, "NO-DC", "x")


def test_list_files_finds_seed_disks_and_missing_folder_is_empty(ny: VCenterSession) -> None:
    files = operations.list_files(ny, "ESX1_LOCAL", "mail04")
    by_name = {f.name: f for f in files}
    assert by_name["mail04_1-flat.vmdk"].size_bytes == 2 * 1024**2
    assert by_name["mail04.vmdk"].path == "[ESX1_LOCAL] mail04/mail04.vmdk"
    assert operations.list_files(ny, "ESX1_LOCAL", "no-such-vm") == []


def test_injected_vcenter_fault_surfaces_and_clears(fresh_lab: LabConfig, ny: VCenterSession) -> None:
    db = read_inventory(ny).vm("db01")
    operations.power_off(ny, db.moref)
    _inject(fresh_lab, method="PowerOnVM_Task", fault="invalid_state", count=1)
    with pytest.raises(OperationFailed, match="PowerOnVM_Task failed: InvalidState"):
        operations.power_on(ny, db.moref)
    assert operations.power_on(ny, db.moref) is True  # the rule fired once, then the call works


def test_transient_host_communication_fault_is_retried(fresh_lab: LabConfig, ny: VCenterSession) -> None:
    db = read_inventory(ny).vm("db01")
    operations.power_off(ny, db.moref)
    _inject(fresh_lab, method="PowerOnVM_Task", fault="host_communication", count=2)
    assert operations.power_on(ny, db.moref) is True
    assert ny.stub.retry_stats.by_reason == {"vmodl.fault.HostCommunication": 2}
    assert ny.calls["PowerOnVM_Task"] == 3


def test_expired_session_mid_inventory_read_starts_over_with_a_new_view(
    fresh_lab: LabConfig, ny: VCenterSession
) -> None:
    _inject(fresh_lab, method="RetrievePropertiesEx", fault="not_authenticated", count=1)
    logins = ny.stub.logins
    assert {vm.name for vm in read_inventory(ny).vms} == {"mail04", "db01", "web01", "web02"}
    assert ny.stub.logins == logins + 1 and ny.calls["CreateContainerView"] >= 2
