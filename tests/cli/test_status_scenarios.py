"""status after srmsim's own failover: the post-failover states (docs/architecture.md, "Scenario states"),
seen through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from srmctl.cli.main import cli
from srmctl.lab import lab
from srmctl.labkit.topology import load_topology

pytestmark = pytest.mark.lab


@pytest.mark.parametrize(
    "scenario, plan_status, replication_status, stale_power",
    [
        ("planned-migration", "RECOVERY_COMPLETE", "RECOVERED", "poweredOff"),
        ("disaster-recovery", "RECOVERY_SPLIT_BRAIN", "RPO_VIOLATION", "poweredOn"),
    ],
)
def test_status_after_failover_shows_the_post_failover_state(
    tmp_path: Path, scenario: str, plan_status: str, replication_status: str, stale_power: str
) -> None:
    lab.up(tmp_path / "lab", load_topology(), scenario=scenario)
    try:
        result = CliRunner().invoke(cli, ["status", "--lab", str(tmp_path / "lab"), "-o", "json"])
        assert result.exit_code == 0, result.output
        doc = json.loads(result.output)["result"]
        sites = {s["site"]: {v["name"]: v for v in s["vms"]} for s in doc["sites"]}
        assert all(v["power_state"] == "poweredOn" for v in sites["new-jersey"].values())
        assert {v["power_state"] for v in sites["new-york"].values()} == {stale_power}
        assert [p["status"] for p in doc["plans"]] == [plan_status]
        assert {r["status"] for r in doc["replications"]} == {replication_status}
        assert {s for g in doc["groups"] for _, s in g["vms"]} == {"REPLICATION_ERROR"}
        assert {g["status"] for g in doc["groups"]} == {"RECOVERED"}
        if scenario == "planned-migration":
            assert sorted(doc["orphans"]) == [f"{n} at new-york" for n in ("db01", "mail04", "web01", "web02")]
    finally:
        lab.down(tmp_path / "lab")
