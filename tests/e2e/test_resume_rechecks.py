"""Resume re-checks the world (issue 13, defect 13): before skipping a step its journal records as verified,
resume verifies it again against live state, and plans and runs again every step from the first that no
longer holds. Real lab, real ``srmctl`` processes; the end state and nothing-lost checks of the e2e tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from invariants import UNCHANGED, RunbookFacts, capture, violations

from srmctl.cli.main import cli
from srmctl.lab import lab
from srmctl.labkit.topology import load_topology

sys.path.insert(0, str(Path(__file__).parent))  # the end-state checks of the sibling e2e module
from test_failback_e2e import (  # noqa: E402
    DISASTER,
    PLANNED,
    assert_end_state,
    failback_runbook,
    journal,
    scenario_lab,
    take_baseline,
)

pytestmark = [pytest.mark.slow, pytest.mark.lab]


def _kinds(events: list[dict[str, Any]], kind: str) -> list[str]:
    return [str(e["step"]) for e in events if e["kind"] == kind]


def _since_resume(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    last = max(i for i, e in enumerate(events) if e["kind"] == "run_resumed")
    return events[last:]


def _resume(home: Path, run_id: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("SRMCTL_HOME", str(home))
    result = CliRunner().invoke(cli, ["resume", run_id, "--yes", "-o", "json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.output)["result"])


def test_resume_after_the_world_was_reset_runs_again_from_the_first_step_that_no_longer_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect 13: the run verified steps up to groups.delete, then the lab was torn down and brought up again
    with the same scenario (orphans, old replications and groups back). Resume used to skip those steps,
    configure the reverse replication next to the old one and fail at plan.attach_groups with groups and
    replications in both directions."""
    rb = failback_runbook(tmp_path / "rb.yaml", PLANNED)
    home, directory = tmp_path / "home", tmp_path / "lab"
    with scenario_lab(directory, PLANNED) as config:
        env = {**os.environ, "SRMCTL_HOME": str(home)}
        env.pop("SRMCTL_TEST_PAUSE", None)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from srmctl.cli.main import main; main()",
                "failback",
                str(rb),
                "--lab",
                config.directory,
                "--yes",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 240
            while "groups.delete" not in _kinds(journal(home), "step_verified"):
                assert proc.poll() is None, "the run ended before groups.delete was verified"
                assert time.monotonic() < deadline, "groups.delete was not verified in time"
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    # The world as before the run: the same scenario in the same lab folder (the run's endpoints come from it).
    config = lab.up(directory, load_topology(), scenario=PLANNED)
    try:
        facts = RunbookFacts.load(rb)
        (tmp_path / "before").mkdir()
        before = capture(config, facts, tmp_path / "before")
        baseline = take_baseline(config, tmp_path / "before")
        run_id = sorted(p.name for p in (home / "runs").iterdir())[0]

        report = _resume(home, run_id, monkeypatch)

        assert report["outcome"] == "succeeded", report["error"]
        events = _since_resume(journal(home, run_id))
        assert _kinds(events, "step_reverified") == ["preflight.check", "metadata.snapshot"]
        [stale] = [e for e in events if e["kind"] == "step_stale"]
        assert stale["step"] == "orphans.unregister" and stale["problems"]
        assert stale["replanned"][:2] == ["orphans.unregister", "replication.cleanup"]
        assert stale["replanned"][-1] == "protection.restore"
        assert _kinds(events, "step_verified") == stale["replanned"]  # every re-planned step ran again
        plan = json.loads((home / "runs" / run_id / "plan-resume-1.json").read_text())
        assert [r["step"] for r in plan["rechecked"]] == ["preflight.check", "metadata.snapshot", "orphans.unregister"]
        assert [s["step"] for s in plan["steps"]] == stale["replanned"]
        assert {s["status"] for s in report["steps"]} == {"verified"}
        assert_end_state(config, baseline, full=True)  # one group, one plan, replications one way only
        assert violations(config, facts, before) == []
    finally:
        lab.down(directory)


@pytest.mark.parametrize("scenario", [PLANNED, DISASTER])
def test_a_finished_run_resumed_plans_nothing_and_changes_nothing(
    scenario: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rb = failback_runbook(tmp_path / "rb.yaml", scenario)
    home = tmp_path / "home"
    monkeypatch.setenv("SRMCTL_HOME", str(home))
    with scenario_lab(tmp_path / "lab", scenario) as config:
        done = CliRunner().invoke(cli, ["failback", str(rb), "--lab", config.directory, "--yes", "-o", "json"])
        assert done.exit_code == 0, done.output
        run_id = json.loads(done.output)["result"]["run_id"]
        facts = RunbookFacts.load(rb)
        after = capture(config, facts, tmp_path)

        report = _resume(home, run_id, monkeypatch)

        assert report["outcome"] == "succeeded", report["error"]
        events = _since_resume(journal(home, run_id))
        steps = json.loads((home / "runs" / run_id / "meta.json").read_text())["steps"]
        assert _kinds(events, "step_reverified") == steps  # every step checked again, and all still hold
        assert not [e for e in events if e["kind"] in ("step_stale", "step_started", "action_done")]
        plan = json.loads((home / "runs" / run_id / "plan-resume-1.json").read_text())
        assert plan["steps"] == [] and plan["action_count"] == 0
        assert all(r["holds"] for r in plan["rechecked"])
        assert {s["status"] for s in report["steps"]} == {"verified"}
        assert violations(config, facts, after, UNCHANGED) == []
