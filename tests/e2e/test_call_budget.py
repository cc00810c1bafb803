"""API calls per VM of a whole failback (both directions: the failback and protection.restore, polling
included) at N = 50 VMs, against a budget: a batching or waiting regression (a call per VM where one call per
step did, a task awaited alone) fails here, deterministically, whatever the machine's speed. Not timed: speed
targets live in bench/. See docs/architecture.md, "Concurrency and batching".

The budget is set just above what the run measured (20.6 calls/VM at N = 50, planned migration, concurrency 8, after
inventories were re-read only after a change and the stale VMs' folders listed per datastore; 27.0 before; 21.4 once
metadata.snapshot records each VM's replication settings with its disks' target datastores, one GET per VM, as VR
lists a replication's disks for one replication at a time; 21.9 once each plan run's SRM history report is read
for the run's evidence (about 3 calls per plan run, a constant) and preflight reads the plan's groups to refuse a
runbook covering part of it; 22.2 once each step that needs the paired site reads its servers' status before it
changes anything and each SRM server is asked for its own id of the plan (issue #20: constants per step);
22.5 with issue #21 beside it (preflight's SRM-state checks, seed sizes read through VR's datastore browser:
per step, not per VM: preflight 35 calls, replication.reverse 29, metadata.snapshot 114 in the run measured);
issue #11's target is at most 15 calls/VM at N = 200,
where the per-step constants weigh four times less. The floor per VM: 7 recovery-settings GETs (SRM has no list of
them), about 1.6 settings updates and 2 UnregisterVM (one per direction; vSphere has no batch unregister)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml
from edge import start

from srmctl.lab import lab
from srmctl.labkit.topology import Topology, load_topology, scaled_topology

sys.path.insert(0, str(Path(__file__).parent))
from test_failback_e2e import PLANNED  # noqa: E402

VMS = 50
#: Calls per VM the whole failback may make at N = VMS (vCenter SOAP + SRM + VR, both sites).
BUDGET = 23.0


def calls_per_vm(api_calls: Mapping[str, int], vms: int) -> float:
    """The run report's ``api_calls`` (per endpoint) summed, per VM."""
    return sum(api_calls.values()) / vms


def over_budget(api_calls: Mapping[str, int], vms: int, budget: float = BUDGET) -> str | None:
    """Why the calls exceed the budget (with the per-endpoint counts), or None when they fit."""
    per_vm = calls_per_vm(api_calls, vms)
    if per_vm <= budget:
        return None
    counts = ", ".join(f"{name} {n}" for name, n in sorted(api_calls.items()))
    return f"{per_vm:.1f} API calls per VM at N = {vms}, budget {budget} ({counts})"


def test_the_budget_check_fails_on_a_count_over_budget() -> None:
    assert over_budget({"a": 10 * VMS, "a SRM/VR": 10 * VMS}, VMS) is None
    problem = over_budget({"a": 20 * VMS, "a SRM/VR": 10 * VMS}, VMS)
    assert problem is not None and "30.0 API calls per VM at N = 50" in problem and "a SRM/VR 500" in problem


def _runbook(topology: Topology, path: Path) -> Path:
    plan = topology.recovery_plans[0]
    groups = [g for g in topology.protection_groups if g.name in plan.protection_groups]
    site = {
        "vcenter": {"host": "vc.lab", "user": "u", "password_env": "UNUSED"},
        "srm": {"host": "srm.lab"},
        "vr": {"host": "vr.lab"},
    }
    doc = {
        "version": 1,
        "name": "budget",
        "scenario": PLANNED,
        "sites": {name: site for name in topology.sites},
        "failback": {"from": topology.recovery_site, "to": topology.protected_site},
        "vms": [{"name": vm} for g in groups for vm in g.vms],
        "replication": {"rpo": "20m", "seeds": "required"},
        "protection_group": {"name": groups[0].name},
        "recovery_plan": {"name": plan.name},
        "concurrency": 8,
        "prompts": {"dismiss": ["*"]},
    }
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.lab
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_whole_failback_of_50_vms_stays_within_the_call_budget(tmp_path: Path) -> None:
    topology = scaled_topology(load_topology(), VMS)
    config = lab.up(tmp_path / "lab", topology, scenario=PLANNED)
    try:
        runbook = _runbook(topology, tmp_path / "runbook.yaml")
        report = start(runbook, config.directory, tmp_path / "home", confirm=lambda _plan: True)
    finally:
        lab.down(tmp_path / "lab")
    assert report.outcome == "succeeded", report.error
    vms = len(yaml.safe_load(runbook.read_text())["vms"])
    assert vms == VMS
    problem = over_budget(report.api_calls, vms)
    assert problem is None, problem
