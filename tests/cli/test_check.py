"""srmctl check against a lab: ready, drifted, unreachable; the Prometheus textfile parses."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner
from edge import dr_sites
from prometheus_client.parser import text_string_to_metric_families

from srmctl.cli.main import cli
from srmctl.lab.config import LabConfig


def _runbook(tmp_path: Path, snapshot: Path, max_age: str = "1d") -> Path:
    site = {
        "vcenter": {"host": "vc.invalid", "user": "u", "password_env": "UNUSED_WITH_LAB"},
        "srm": {"host": "srm.invalid"},
        "vr": {"host": "vr.invalid"},
    }
    doc = {
        "version": 1,
        "name": "nightly",
        "scenario": "planned-migration",
        "sites": {"new-york": site, "new-jersey": site},
        "failback": {"from": "new-jersey", "to": "new-york"},
        "vms": [{"name": n} for n in ("mail04", "db01", "web01", "web02")],
        "replication": {"rpo": "30m"},
        "protection_group": {"name": "VR mail"},
        "recovery_plan": {"name": "VR Failover", "metadata": str(snapshot)},
        "snapshot": {"max_age": max_age},
    }
    path = tmp_path / "nightly.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _metrics(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(path.read_text())
        for s in family.samples
    }


def test_ready_then_drifted_then_unreachable(fresh_lab: LabConfig, tmp_path: Path) -> None:
    runner = CliRunner()
    snapshot = tmp_path / "vr-failover.yaml"
    exported = runner.invoke(
        cli, ["snapshot", "export", "--lab", fresh_lab.directory, "--plan", "VR Failover", "-f", str(snapshot)]
    )
    assert exported.exit_code == 0, exported.output
    runbook, prom = str(_runbook(tmp_path, snapshot)), tmp_path / "textfile" / "srmctl.prom"

    ready = runner.invoke(
        cli, ["check", runbook, "--lab", fresh_lab.directory, "-o", "json", "--prometheus", str(prom)]
    )
    report = json.loads(ready.output)["result"]
    assert ready.exit_code == 0, [i for i in report["items"] if not i["ok"]]
    checks = {i["check"] for i in report["items"]}
    assert {
        "vcenter:new-york",
        "srm:new-jersey",
        "vm:mail04",
        "seeds:web01",
        "replication:db01",
        "snapshot:age",
        "snapshot:drift",
    } <= checks
    metrics = _metrics(prom)
    assert metrics[("srmctl_ready", (("runbook", "nightly"),))] == 1
    assert metrics[("srmctl_check_ok", (("check", "seeds:mail04"), ("runbook", "nightly")))] == 1
    assert ("srmctl_replication_rpo_violation_minutes", (("runbook", "nightly"), ("vm", "db01"))) in metrics

    with dr_sites(fresh_lab.directory, ["new-york", "new-jersey"]) as sites:
        ny = sites["new-york"]
        plan = ny.srm.plan_by_name("VR Failover")
        ny.srm.set_priority(plan.id, ny.srm.plan_vm_by_name(plan.id, "db01").id, "P4")
    drifted = runner.invoke(
        cli, ["check", runbook, "--lab", fresh_lab.directory, "--prometheus", str(prom)], terminal_width=200
    )
    assert drifted.exit_code == 1
    assert "vms.db01.priority" in drifted.output
    assert _metrics(prom)[("srmctl_ready", (("runbook", "nightly"),))] == 0

    Path(fresh_lab.sites["new-jersey"].vcenter.password_file).write_text("wrong")
    unreachable = runner.invoke(
        cli, ["check", runbook, "--lab", fresh_lab.directory, "-o", "json", "--prometheus", str(prom)]
    )
    assert unreachable.exit_code == 5
    failed = {i["check"] for i in json.loads(unreachable.output)["result"]["items"] if not i["ok"]}
    assert "vcenter:new-jersey" in failed
    assert _metrics(prom)[("srmctl_reachable", (("runbook", "nightly"),))] == 0


def test_stale_snapshot_is_not_ready(shared_lab: LabConfig, tmp_path: Path) -> None:
    snapshot = tmp_path / "snap.yaml"
    CliRunner().invoke(
        cli, ["snapshot", "export", "--lab", shared_lab.directory, "--plan", "VR Failover", "-f", str(snapshot)]
    )
    text = snapshot.read_text()
    old = text.replace(text.split("taken_at: ")[1].split("\n")[0], "'2020-01-01T00:00:00Z'")
    snapshot.write_text(old)
    result = CliRunner().invoke(
        cli, ["check", str(_runbook(tmp_path, snapshot, "1h")), "--lab", shared_lab.directory, "-o", "json"]
    )
    assert result.exit_code == 1
    items = {i["check"]: i for i in json.loads(result.output)["result"]["items"]}
    assert not items["snapshot:age"]["ok"] and items["snapshot:drift"]["ok"]


def test_a_snapshot_dated_in_the_future_is_not_fresh(shared_lab: LabConfig, tmp_path: Path) -> None:
    # Issue 22: "taken -631761.5 h ago" passed max_age.
    snapshot = tmp_path / "snap.yaml"
    CliRunner().invoke(
        cli, ["snapshot", "export", "--lab", shared_lab.directory, "--plan", "VR Failover", "-f", str(snapshot)]
    )
    text = snapshot.read_text()
    snapshot.write_text(text.replace(text.split("taken_at: ")[1].split("\n")[0], "'2099-01-01T00:00:00Z'"))
    result = CliRunner().invoke(
        cli, ["check", str(_runbook(tmp_path, snapshot, "1h")), "--lab", shared_lab.directory, "-o", "json"]
    )
    assert result.exit_code == 1
    age = next(i for i in json.loads(result.output)["result"]["items"] if i["check"] == "snapshot:age")
    assert not age["ok"] and "in the future" in age["detail"]
