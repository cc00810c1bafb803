"""Each step's end event in the journal says how many API calls the step made, split into vCenter SOAP, SRM
and VR (srmctl/engine/run_plan.py), so a run's calls per VM per step can be read from its journal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from labstate import RunbookSpec, make_failover, write_runbook

from srmctl.cli.main import cli
from srmctl.lab.config import LabConfig


def test_step_end_events_carry_the_steps_api_calls(
    fresh_lab: LabConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SRMCTL_HOME", str(tmp_path / "home"))
    make_failover(fresh_lab, ["mail04"])
    rb = str(write_runbook(tmp_path / "rb.yaml", RunbookSpec(vms=("mail04",))))
    result = CliRunner().invoke(cli, ["failback", rb, "--lab", fresh_lab.directory, "--yes", "-o", "json"])
    assert result.exit_code == 0, result.output
    run_dir = Path(json.loads(result.output)["result"]["journal"])
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    ends = [e for e in events if e["kind"] == "step_verified"]
    assert ends
    for end in ends:
        calls = end["api_calls"]
        assert set(calls) == {"soap", "srm", "vr"} and all(isinstance(n, int) and n >= 0 for n in calls.values())
        assert sum(calls.values()) > 0, end["step"]  # every step observes live state at least once
    unregister = next(e for e in ends if e["step"] == "orphans.unregister")
    assert unregister["api_calls"]["soap"] > 0  # unregistering is vCenter's work
    # Sub-steps' events are not step ends of the run: they carry no counts of their own.
    assert all("api_calls" not in e for e in events if e["kind"].startswith("substep_"))
