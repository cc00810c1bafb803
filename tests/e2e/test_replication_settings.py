"""End to end: a failback of the default lab with its own playbook (playbooks/lab.yaml) leaves every VM
replicating with the settings it had before the failover, in both scenarios.

The lab's VMs replicate with different settings (srmctl/labkit/default-topology.yaml: db01 every 5 minutes
with point-in-time instances, mail04 every 15 without compression, web01/web02 every 30 without quiescing, web02
also without new-disk auto-replication); the playbook's ``replication:`` block is only the default for VMs with
no recorded settings, so none of its values may replace a VM's own.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from edge import dr_sites
from labstate import ALL_VMS

from srmctl.cli.main import cli
from srmctl.lab import lab
from srmctl.labkit.topology import load_topology
from srmctl.runbook.values import parse_duration

pytestmark = [pytest.mark.slow, pytest.mark.lab]

HOME, AWAY = "new-york", "new-jersey"
PLAYBOOK = Path(__file__).resolve().parents[2] / "playbooks" / "lab.yaml"


def topology_settings() -> dict[str, dict[str, Any]]:
    """Each VM's replication as the lab's topology configures it before the failover."""
    out = {}
    for vm in load_topology().vms:
        r = vm.replication
        assert r is not None
        out[vm.name] = {
            "rpo": int(parse_duration(r.rpo).total_seconds() // 60),
            "quiesce": r.quiesce,
            "compression": r.network_compression,
            "encryption": r.encryption,
            "new_disks": r.auto_replicate_new_disks,
            "mpit": (r.mpit.instances, r.mpit.days) if r.mpit else None,
            "datastores": {r.target_datastore},
        }
    return out


def live_settings(lab_dir: Path) -> dict[str, dict[str, Any]]:
    """Each VM's replication from home to the recovery site, as VR reports it."""
    out = {}
    with dr_sites(lab_dir, [HOME]) as dr:
        vr = dr[HOME].vr
        replications = vr.replications(source_vc_guid=dr[HOME].local_vc_guid)
        assert sorted(r.name or "" for r in replications) == sorted(ALL_VMS)
        for r in replications:
            assert r.state == "OK" and r.target_vc_id == dr[HOME].remote_vc_guid, (r.name, r.state, r.target_site_name)
            disks = vr.replication_disks(r.id)
            out[r.name or ""] = {
                "rpo": r.rpo,
                "quiesce": r.quiescing_enabled,
                "compression": r.network_compression_enabled,
                "encryption": r.encryption_enabled,
                "new_disks": r.auto_replicate_new_disks_enabled,
                "mpit": (r.mpit_instances, r.mpit_days) if r.mpit_enabled else None,
                "datastores": {d.destination_path.datastore_name for d in disks if d.destination_path},
            }
    return out


@pytest.mark.parametrize("scenario", ["planned-migration", "disaster-recovery"])
def test_lab_failback_keeps_each_vms_replication_settings(tmp_path: Path, scenario: str) -> None:
    wanted = topology_settings()
    assert len({v["rpo"] for v in wanted.values()}) > 1  # the check means something only if they differ
    # The playbook as shipped, in a folder of its own: its snapshot path (../lab/...) lands in this test's lab.
    runbook = tmp_path / "playbooks" / "lab.yaml"
    runbook.parent.mkdir()
    shutil.copyfile(PLAYBOOK, runbook)
    if scenario == "disaster-recovery":
        doc = yaml.safe_load(runbook.read_text())
        doc.update(scenario=scenario, confirm={"power_off_stale_vms": True})
        runbook.write_text(yaml.safe_dump(doc, sort_keys=False))
    lab_dir = tmp_path / "lab"
    lab.up(lab_dir, load_topology(), scenario=scenario)
    try:
        ran = CliRunner().invoke(
            cli, ["failback", str(runbook), "--lab", str(lab_dir), "--yes"], env={"SRMCTL_HOME": str(tmp_path / "home")}
        )
        assert ran.exit_code == 0, ran.output
        assert live_settings(lab_dir) == wanted
        # Recorded in the run's journal before anything was removed (and in its snapshot).
        (events,) = (tmp_path / "home" / "runs").glob("*/events.jsonl")
        (recorded,) = [
            e["vms"]
            for e in map(json.loads, events.read_text().splitlines())
            if e.get("record") == "replication_settings"
        ]
        assert {name: (r["rpo"], r["quiesce"], r["network_compression"]) for name, r in recorded.items()} == {
            name: (w["rpo"], w["quiesce"], w["compression"]) for name, w in wanted.items()
        }
    finally:
        lab.down(lab_dir)


def _configure_actions(runbook: Path, lab_dir: Path) -> dict[str, dict[str, Any]]:
    planned = CliRunner().invoke(cli, ["plan", str(runbook), "--lab", str(lab_dir), "-o", "json"])
    assert planned.exit_code == 0, planned.output
    steps = {s["step"]: s for s in json.loads(planned.output)["result"]["steps"]}
    return {
        a["targets"][0]: a["details"]
        for a in steps["replication.reverse"]["actions"]
        if a["kind"] == "configure_replication"
    }


def test_plan_shows_each_vms_settings_and_what_an_override_changes(tmp_path: Path) -> None:
    runbook = tmp_path / "playbooks" / "lab.yaml"
    runbook.parent.mkdir()
    doc = yaml.safe_load(PLAYBOOK.read_text())
    lab_dir = tmp_path / "lab"
    lab.up(lab_dir, load_topology(), scenario="planned-migration")
    try:
        runbook.write_text(yaml.safe_dump(doc, sort_keys=False))
        own = _configure_actions(runbook, lab_dir)
        assert {
            name: (d["rpo"], d["quiesce"], d["network_compression"], d["mpit"], d["settings_from"])
            for name, d in own.items()
        } == {
            "db01": (5, True, True, "3/day for 2 days", "recorded"),
            "mail04": (15, True, False, "off", "recorded"),
            "web01": (30, False, True, "off", "recorded"),
            "web02": (30, False, True, "off", "recorded"),
        }
        assert not any("changes" in d for d in own.values())
        table = CliRunner().invoke(cli, ["plan", str(runbook), "--lab", str(lab_dir)], terminal_width=400)
        assert table.exit_code == 0, table.output
        assert (
            "rpo 5m, quiesce on, compression on, encryption off, new disks on, MPIT 3/day for 2 days (recorded)"
            in table.output
        )
        doc["replication"] = {**doc["replication"], "rpo": "20m", "override": True}
        runbook.write_text(yaml.safe_dump(doc, sort_keys=False))
        forced = _configure_actions(runbook, lab_dir)
        assert {d["settings_from"] for d in forced.values()} == {"runbook override"}
        assert forced["db01"]["changes"] == ["rpo: 5 → 20"]
        assert forced["db01"]["mpit"] == "3/day for 2 days"  # what the runbook cannot set stays the VM's own
        assert forced["mail04"]["changes"] == ["rpo: 15 → 20", "network_compression: False → True"]
        assert forced["web01"]["changes"] == ["rpo: 30 → 20", "quiesce: False → True"]
    finally:
        lab.down(lab_dir)
