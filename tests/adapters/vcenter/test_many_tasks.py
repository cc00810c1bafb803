"""Many vCenter tasks awaited together on a real vcsim: a window of searches on one PropertyCollector, VM
states in one retrieval, VMs powered off together (see docs/architecture.md, "Concurrency and batching")."""

from __future__ import annotations

from srmctl.adapters.vcenter import operations
from srmctl.adapters.vcenter.connection import VCenterSession
from srmctl.adapters.vcenter.inventory import read_inventory
from srmctl.adapters.vcenter.tasks import TaskWatcher


def test_many_folders_are_listed_by_a_window_of_searches_on_one_collector(ny: VCenterSession) -> None:
    # Three folders of one datastore: one search from its root, sub-folders included; the other datastore's
    # one folder (missing): a search of that folder. Both tasks in a window of one, on one collector.
    folders = [
        ("ESX1_LOCAL", "mail04"),
        ("ESX1_LOCAL", "no-such-vm"),
        ("ESX1_LOCAL", "mail04"),
        ("NY-SAN-01", "no-such-vm"),
    ]
    before = dict(ny.calls)
    listed = operations.list_files_many(ny, [(ds, folder, None) for ds, folder in folders], limit=1)
    calls = {k: v - before.get(k, 0) for k, v in ny.calls.items()}
    assert listed[0] == listed[2] == operations.list_files(ny, "ESX1_LOCAL", "mail04") and listed[1] == []
    assert listed[0] and all(f.path.startswith("[ESX1_LOCAL] mail04/") for f in listed[0])
    assert listed[3] == []
    assert calls["SearchDatastoreSubFolders_Task"] == 1 and calls["SearchDatastore_Task"] == 1
    assert calls["CreatePropertyCollector"] == 1  # one collector for both tasks
    assert calls.get("DestroyPropertyCollector", 0) == 1


def test_one_folder_of_a_datastore_is_searched_alone(ny: VCenterSession) -> None:
    before = dict(ny.calls)
    listed = operations.list_files_many(ny, [("ESX1_LOCAL", "mail04", None)], limit=8)
    calls = {k: v - before.get(k, 0) for k, v in ny.calls.items()}
    assert listed == [operations.list_files(ny, "ESX1_LOCAL", "mail04")] and listed[0]
    assert calls["SearchDatastore_Task"] == 1 and "SearchDatastoreSubFolders_Task" not in calls


def test_vm_states_in_one_retrieval_leave_out_a_vm_that_is_gone(ny: VCenterSession) -> None:
    inventory = read_inventory(ny)
    morefs = [vm.moref for vm in inventory.vms if not vm.is_placeholder][:3]
    before = ny.calls["RetrievePropertiesEx"]
    states = operations.vms_properties(ny, morefs)
    assert ny.calls["RetrievePropertiesEx"] == before + 1
    assert {states[m]["name"] for m in morefs} == {inventory.vm(moref=m).name for m in morefs}
    assert operations.vms_properties(ny, [*morefs, "vm-999999"]).keys() == set(morefs)


def test_vms_are_powered_off_together_and_a_watcher_reports_each_end(ny: VCenterSession) -> None:
    running = [vm for vm in read_inventory(ny).vms if vm.powered_on][:2]
    assert len(running) == 2
    operations.power_off_many(ny, [vm.moref for vm in running], limit=1)
    assert all(operations.power_state(ny, vm.moref) == "poweredOff" for vm in running)
    with TaskWatcher(ny) as watcher:
        tasks = [operations.vm_object(ny, vm.moref).PowerOnVM_Task() for vm in running]
        ended = watcher.wait(tasks, what="power on")
        assert {t._moId for t in ended} == {t._moId for t in tasks}
        assert all(watcher.ended(t) for t in tasks)
