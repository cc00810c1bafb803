"""Every shipped playbook validates, and the lab playbook fits the built-in lab."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from srmctl.cli.main import cli
from srmctl.labkit.topology import load_topology
from srmctl.runbook import load_runbook

PLAYBOOKS = sorted((Path(__file__).parents[1] / "playbooks").glob("*.yaml"))


def test_the_expected_playbooks_ship() -> None:
    assert {p.name for p in PLAYBOOKS} >= {
        "failback-planned.yaml",
        "failback-disaster.yaml",
        "prepare-only.yaml",
        "lab.yaml",
    }


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=lambda p: p.name)
def test_playbook_validates(playbook: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", str(playbook)])
    assert result.exit_code == 0, result.output + result.stderr
    assert playbook.read_text().lstrip().startswith("#"), "playbooks explain themselves to operators"


def test_lab_playbook_matches_the_default_topology() -> None:
    runbook, topology = load_runbook(PLAYBOOKS[[p.name for p in PLAYBOOKS].index("lab.yaml")]), load_topology()
    assert set(runbook.sites) == set(topology.sites)
    assert runbook.target_site_name == topology.protected_site
    plan = next(p for p in topology.recovery_plans if p.name == runbook.recovery_plan.name)
    plan_vms = {vm for g in topology.protection_groups if g.name in plan.protection_groups for vm in g.vms}
    assert set(runbook.vm_names) == plan_vms  # a plan fails back as a whole


def test_prepare_only_stops_before_migrating() -> None:
    runbook = load_runbook(PLAYBOOKS[[p.name for p in PLAYBOOKS].index("prepare-only.yaml")])
    assert "plan.migrate" not in runbook.effective_steps and "plan.test" in runbook.effective_steps
