"""Each VM's replication settings in snapshots: read from what VR reports, round trip, diff, old snapshots."""

from __future__ import annotations

from srmctl.adapters.dr.models import ReplicatedDisk, Replication
from srmctl.metadata.diff import diff_snapshots, not_compared
from srmctl.metadata.replication import DiskTarget, Mpit, VmReplication, from_vr
from srmctl.metadata.snapshot import PlanInfo, Snapshot, Source, dump_snapshot, now, parse_snapshot

DB01 = VmReplication(
    rpo=5,
    quiesce=True,
    network_compression=True,
    mpit=Mpit(instances=3, days=2),
    source_site="new-york",
    target_site="new-jersey",
    target_vcenter="nj-guid",
    disks=(DiskTarget(device_key=2000, datastore="NJ-SAN-01"),),
)


def _snapshot(replication: dict[str, VmReplication] | None) -> Snapshot:
    return Snapshot(
        taken_at=now(),
        source=Source(site="new-york", srm="127.0.0.1:1"),
        plan=PlanInfo(name="VR Failover", protected_site="new-york", recovery_site="new-jersey"),
        groups={},
        replication=replication,
    )


def test_every_setting_vr_reports_is_recorded() -> None:
    replication = Replication.model_validate(
        {
            "id": "GID-1",
            "name": "db01",
            "source_site_name": "new-york",
            "target_site_name": "new-jersey",
            "target_vc_id": "nj-guid",
            "rpo": 5,
            "quiescing_enabled": True,
            "network_compression_enabled": False,
            "encryption_enabled": True,
            "auto_replicate_new_disks_enabled": False,
            "mpit_enabled": True,
            "mpit_instances": 3,
            "mpit_days": 2,
            "vm_data_sets_replication_enabled": True,
        }
    )
    disks = [
        ReplicatedDisk.model_validate(
            {
                "vm_disk": {"vm_id": "vm-1", "device_key": key, "is_vm_home": False},
                "replicated": True,
                "destination_storage_policy_id": "gold" if key == 2001 else None,
                "destination_path": {
                    "datastore_id": f"ds-{key}",
                    "datastore_name": name,
                    "path": "db01",
                    "filename": f"db01_{key}.vmdk",
                },
            }
        )
        for key, name in ((2001, "NJ-SSD"), (2000, "NJ-SAN-01"))
    ]
    assert from_vr(replication, disks) == VmReplication(
        rpo=5,
        quiesce=True,
        network_compression=False,
        encryption=True,
        auto_replicate_new_disks=False,
        mpit=Mpit(instances=3, days=2),
        vm_data_sets=True,
        source_site="new-york",
        target_site="new-jersey",
        target_vcenter="nj-guid",
        disks=(
            DiskTarget(device_key=2000, datastore="NJ-SAN-01"),
            DiskTarget(device_key=2001, datastore="NJ-SSD", storage_policy_id="gold"),
        ),
    )


def test_settings_round_trip_and_diff_per_vm() -> None:
    before = _snapshot({"db01": DB01})
    assert parse_snapshot(dump_snapshot(before)) == before
    after = _snapshot({"db01": DB01.model_copy(update={"rpo": 15, "mpit": None})})
    assert [(c.path, c.before, c.after) for c in diff_snapshots(before, after)] == [
        ("replication.db01.mpit", {"instances": 3, "days": 2}, None),
        ("replication.db01.rpo", 5, 15),
    ]
    assert not_compared(before) == ()


def test_an_old_snapshot_still_loads_and_the_diff_says_settings_were_not_compared() -> None:
    old = parse_snapshot(dump_snapshot(_snapshot(None)))  # written before replication settings were recorded
    assert old.replication is None and "\nreplication:" not in dump_snapshot(old)
    assert diff_snapshots(old, _snapshot({"db01": DB01})) == ()
    (note,) = not_compared(old)
    assert "replication settings not compared" in note and "export a new snapshot" in note
