"""A site failback's journal read back (docs/architecture.md, "Site failbacks"): its plans listed inside it, where it
stopped, its plans' runs resumed only through it; and the crash hook that lands in a given plan
(``SRMCTL_TEST_KILL_AT_EVENT=KIND#N``). Journals are written with the journal's own code, no lab needed."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from srmctl.cli.main import cli
from srmctl.engine import events as ev
from srmctl.engine import html_report, list_runs, pending_run, resume, run_summary
from srmctl.engine.events import Event
from srmctl.engine.journal import REPORT, Journal
from srmctl.engine.site_failback import is_site_failback, pending_site_failback
from srmctl.errors import UsageError

TIER1 = Path(__file__).parents[2] / "playbooks" / "site" / "tier1-db.yaml"
TIER2 = Path(__file__).parents[2] / "playbooks" / "site" / "tier2-apps.yaml"
SITE = "20240611T101500Z-site-3f9a"


def _plan_entry(index: int, path: Path) -> dict[str, object]:
    return {
        "index": index,
        "runbook": path.stem,
        "recovery_plan": f"Plan {index}",
        "run_id": f"{SITE}.p{index}",
        "runbook_path": str(path),
        "runbook_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "endpoints": {"from": "runbook", "folder": None},
    }


def _write_site(home: Path) -> None:
    """A site failback of two plans whose first plan succeeded and whose second crashed after one step."""
    site = Journal.create(
        home,
        SITE,
        runbook_bytes=None,
        meta={
            "run_id": SITE,
            "kind": "site",
            "runbook": "tier1-db → tier2-apps",
            "between": "continue",
            "started": ev.now(),
            "plans": [_plan_entry(1, TIER1), _plan_entry(2, TIER2)],
        },
    )
    for index, path in ((1, TIER1), (2, TIER2)):
        child = Journal.create(
            home,
            f"{SITE}.p{index}",
            runbook_bytes=path.read_bytes(),
            meta={
                "run_id": f"{SITE}.p{index}",
                "runbook": path.stem,
                "runbook_path": str(path),
                "runbook_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "steps": ["preflight.check", "plan.migrate"],
                "started": ev.now(),
                "site_run": SITE,
                "site_plan": index,
            },
        )
        site.append(Event("site_plan_started", None, {"plan": index}))
        child.append(Event(ev.STEP_STARTED, "preflight.check"))
        child.append(Event(ev.STEP_VERIFIED, "preflight.check", {"summary": "ready"}))
        if index == 1:
            child.append(Event(ev.STEP_STARTED, "plan.migrate"))
            child.append(Event(ev.STEP_VERIFIED, "plan.migrate"))
            child.write_json(REPORT, {"outcome": "succeeded"})
            site.append(Event("site_plan_finished", None, {"plan": 1, "outcome": "succeeded"}))
        else:
            child.append(Event(ev.STEP_STARTED, "plan.migrate"))  # killed here


def test_a_site_run_lists_its_plans_and_where_it_stopped(tmp_path: Path) -> None:
    _write_site(tmp_path)
    assert [r.run_id for r in list_runs(tmp_path)] == [SITE]  # its plans' runs are inside it
    summary = run_summary(tmp_path, SITE)
    assert summary.outcome == "incomplete" and summary.runbook == "tier1-db → tier2-apps"
    assert [(p.index, p.run_id, p.outcome) for p in summary.plans] == [
        (1, f"{SITE}.p1", "succeeded"),
        (2, f"{SITE}.p2", "incomplete"),
    ]
    assert summary.position == "plan 2/2 tier2-apps (Plan 2): step plan.migrate (interrupted)"
    child = run_summary(tmp_path, f"{SITE}.p2")
    assert child.site_run == SITE and child.position == "step plan.migrate (interrupted)"
    assert is_site_failback(tmp_path, SITE) and not is_site_failback(tmp_path, f"{SITE}.p2")
    pending = pending_site_failback(tmp_path, SITE)
    assert [p.runbook.name for p in pending.plans] == ["tier1-db", "tier2-apps"]
    assert str(pending.between) == "continue"


def test_the_runs_command_shows_a_site_run_plan_by_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_site(tmp_path)
    monkeypatch.setenv("SRMCTL_HOME", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")  # rich's width when output is not a terminal (as in a parallel worker)
    shown = CliRunner().invoke(cli, ["runs", SITE], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert shown.output.index("plan 1: tier1-db") < shown.output.index("plan 2: tier2-apps")
    assert "stopped at plan 2/2 tier2-apps" in shown.output
    listed = CliRunner().invoke(cli, ["runs"], terminal_width=200)
    assert "3/4 of 2 plans" in listed.output and f"{SITE}.p1" not in listed.output
    refused = CliRunner().invoke(cli, ["runs", SITE, "--report"])
    assert refused.exit_code == 2 and f"{SITE}.p1" in refused.stderr  # each plan has its own report


def test_a_plan_of_a_site_run_is_resumed_only_through_it(tmp_path: Path) -> None:
    _write_site(tmp_path)
    pending = pending_run(tmp_path, f"{SITE}.p2")
    assert pending.site_run == SITE
    with pytest.raises(UsageError, match=f"resume the site failback with 'srmctl resume {SITE}'"):
        resume(tmp_path, pending, None, confirm=lambda plan: True)  # type: ignore[arg-type]  # refused first
    with pytest.raises(UsageError):
        html_report(tmp_path, SITE)


def test_the_kill_hook_counts_events_of_one_kind(tmp_path: Path) -> None:
    script = (
        "import sys\nfrom pathlib import Path\nfrom srmctl.engine.journal import Journal\n"
        "from srmctl.engine.events import Event\n"
        "j = Journal.create(Path(sys.argv[1]), 'r1', runbook_bytes=None, meta={'run_id': 'r1'})\n"
        "for n in range(5):\n"
        "    j.append(Event('step_verified' if n % 2 else 'record', None, {'n': n}))\n"
    )
    env = {**os.environ, "SRMCTL_TEST_KILL_AT_EVENT": "step_verified#2"}
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=env, capture_output=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    lines = [json.loads(line) for line in (tmp_path / "runs" / "r1" / "events.jsonl").read_text().splitlines()]
    assert [e["n"] for e in lines] == [0, 1, 2, 3]  # killed right after the second step_verified (n == 3)
