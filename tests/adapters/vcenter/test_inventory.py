from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from pyVmomi import vim

from srmctl.adapters.vcenter import operations
from srmctl.adapters.vcenter.connection import VCenterSession, connect
from srmctl.adapters.vcenter.inventory import read_inventory
from srmctl.errors import Ambiguous, NotFound
from srmctl.lab import lab
from srmctl.lab.config import LabConfig
from srmctl.labkit.topology import load_topology, scaled_topology
from srmctl.srmsim import provision

pytestmark = pytest.mark.lab


def test_inventory_records_carry_identity_placement_and_disks(shared_lab: LabConfig) -> None:
    session = connect(shared_lab.vcenter_endpoint("new-york"))
    try:
        inv = read_inventory(session)
    finally:
        session.close()
    assert {vm.name for vm in inv.vms} == {"mail04", "db01", "web01", "web02"}
    mail = inv.vm("mail04")
    assert mail.folder == "Mail" and mail.datacenter == "NY-DC"
    assert mail.inventory_path == "/NY-DC/vm/Mail/mail04"
    assert mail.power_state == "poweredOn" and mail.connection_state == "connected"
    assert mail.datastores == ("ESX1_LOCAL",)
    assert mail.vmx_path == "[ESX1_LOCAL] mail04/mail04.vmx"
    assert [d.capacity_bytes for d in mail.disks] == [4 * 1024**2, 2 * 1024**2]
    assert all(d.datastore == "ESX1_LOCAL" for d in mail.disks)
    assert mail.moref.startswith("vm-") and len(mail.instance_uuid) == 36
    assert mail.host.startswith("DC0_C0_H") and mail.resource_pool == "Resources"
    assert not mail.is_placeholder
    # vSphere Replication's footprint on the source VM (srmsim sets it as VR does), per the topology.
    assert mail.replication is not None and (
        mail.replication.rpo_minutes,
        mail.replication.quiesce,
        mail.replication.network_compression,
    ) == (15, True, False)
    assert inv.vm("web01").folder == "Web/Frontend"
    assert [f.path for f in inv.folders] == ["DB", "Mail", "Web", "Web/Frontend"]
    ds = inv.datastore("ESX1_LOCAL")
    assert Path(ds.url).is_dir() and ds.accessible
    assert inv.round_trips == 1


def test_lookups_by_path_moref_and_uuid_agree(shared_lab: LabConfig) -> None:
    session = connect(shared_lab.vcenter_endpoint("new-york"))
    inv = read_inventory(session)
    session.close()
    mail = inv.vm("mail04")
    assert inv.vm(path="NY-DC/vm/Mail/mail04") == mail
    assert inv.vm(moref=mail.moref) == mail
    assert inv.vm(instance_uuid=mail.instance_uuid) == mail


def test_lookup_misses_are_not_found_and_never_guess(shared_lab: LabConfig) -> None:
    session = connect(shared_lab.vcenter_endpoint("new-jersey"))
    inv = read_inventory(session)
    session.close()
    # mail04 lives at new-york; new-jersey holds only SRM's placeholder of it.
    assert [v.is_placeholder for v in inv.vms_named("mail04")] == [True]
    with pytest.raises(NotFound, match="VM with name 'mail05' not found"):
        inv.vm("mail05")
    with pytest.raises(NotFound):
        inv.datastore("ESX1_LOCAL")
    with pytest.raises(NotFound):
        inv.folder("Nope")


def test_same_name_in_two_folders_is_ambiguous_listing_both(ny: VCenterSession) -> None:
    inv = read_inventory(ny)
    dc = ny.content.rootFolder.childEntity[0]
    cluster = dc.hostFolder.childEntity[0]
    provision.create_vm(
        ny,
        name="mail04",
        folder=vim.Folder(inv.folder("DB").moref, ny.stub),
        pool=cluster.resourcePool,
        host=cluster.host[0],
        datastore="NY-SAN-01",
        disk_sizes=[1024],
    )
    inv = read_inventory(ny)
    with pytest.raises(Ambiguous) as caught:
        inv.vm("mail04")
    assert len(caught.value.candidates) == 2
    assert any(c.startswith("/NY-DC/vm/DB/mail04") for c in caught.value.candidates)
    assert any(c.startswith("/NY-DC/vm/Mail/mail04") for c in caught.value.candidates)
    assert inv.vm(path="/NY-DC/vm/DB/mail04").datastores == ("NY-SAN-01",)


def test_morefs_of_one_site_do_not_resolve_on_the_other(shared_lab: LabConfig) -> None:
    ny = connect(shared_lab.vcenter_endpoint("new-york"))
    nj = connect(shared_lab.vcenter_endpoint("new-jersey"))
    try:
        ny_ds = {d.moref for d in read_inventory(ny).datastores}
        nj_ds = {d.moref for d in read_inventory(nj).datastores}
        mail = read_inventory(ny).vm("mail04")
        assert not ny_ds & nj_ds
        with pytest.raises(NotFound):
            operations.power_state(nj, mail.moref)
    finally:
        ny.close()
        nj.close()


@pytest.mark.slow
def test_inventory_of_600_vms_is_one_retrieval(tmp_path: Path) -> None:
    config = lab.up(tmp_path / "lab", scaled_topology(load_topology(), 600))
    try:
        session = connect(config.vcenter_endpoint("new-york"))
        before = session.calls.copy()
        started = time.perf_counter()
        inv = read_inventory(session)
        elapsed = time.perf_counter() - started
        used = session.calls - before
        assert len(inv.vms) == 600
        assert inv.round_trips == 1
        assert used["RetrievePropertiesEx"] == 1 and used["ContinueRetrievePropertiesEx"] == 0
        assert used["Fetch"] == 0  # no per-object property walks
        print(f"inventory of 600 VMs: {elapsed:.3f}s, calls {dict(used)}")

        paged = read_inventory(session, page_size=100)
        objects = len(paged.vms) + len(paged.datastores) + len(paged.folders) + len(paged.hosts)
        assert paged.round_trips >= math.ceil(600 / 100)
        assert paged.vms == inv.vms and objects > 600
        session.close()
    finally:
        lab.down(tmp_path / "lab")
