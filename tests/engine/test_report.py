"""report.html from a journal: complete, escaped, self-contained, and also for a crashed run."""

from __future__ import annotations

from pathlib import Path

from report_checks import assert_well_formed_html

from srmctl.engine import html_report
from srmctl.engine.events import Event
from srmctl.engine.journal import Journal
from srmctl.engine.report_html import render_html

T = "2026-11-25T10:00:{:02d}.000+00:00"


def _events() -> list[dict[str, object]]:
    return [
        {"at": T.format(0), "kind": "run_started", "step": None},
        {"at": T.format(1), "kind": "step_started", "step": "plan.migrate"},
        {
            "at": T.format(2),
            "kind": "action_done",
            "step": "plan.migrate",
            "action": {"kind": "migrate", "site": "new-york", "targets": ["<script>alert(1)</script>"]},
            "result": {},
        },
        {"at": T.format(9), "kind": "step_verified", "step": "plan.migrate", "summary": "VMs running at new-york"},
        {
            "at": T.format(9),
            "kind": "record",
            "step": "replication.reverse",
            "record": "replication_bytes",
            "vm": "mail04",
            "full_bytes": 6291456,
            "transferred_bytes": 65536,
            "checksummed_bytes": 6291456,
        },
        {
            "at": T.format(10),
            "kind": "record",
            "step": "plan.test",
            "record": "prompt_answered",
            "prompt": "Verify DNS",
            "answer": "dismissed (runbook prompts.dismiss)",
        },
        {"at": T.format(11), "kind": "step_started", "step": "metadata.restore"},
        {"at": T.format(12), "kind": "step_failed", "step": "metadata.restore", "error": "dependency cycle"},
        {
            "at": T.format(12),
            "kind": "record",
            "step": "metadata.restore",
            "record": "metadata_diff",
            "changes": ["vms.mail04.priority: 'P2' → 'P3'"],
        },
    ]


def test_report_shows_steps_rto_bytes_prompts_errors_and_diff() -> None:
    html = render_html(
        {"run_id": "r1", "runbook": "mail-back"},
        _events(),
        {
            "outcome": "failed",
            "error": "metadata.restore failed",
            "steps": [
                {
                    "step": "plan.migrate",
                    "status": "verified",
                    "actions_done": 1,
                    "seconds": 8.0,
                    "message": "VMs running at new-york",
                }
            ],
        },
    )
    assert_well_formed_html(html)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Achieved RTO</dt><dd>8.0s" in html
    assert "6291456" in html and "65536" in html
    assert "Verify DNS" in html and "dependency cycle" in html
    assert "vms.mail04.priority" in html
    assert html.count("<rect") == 2  # one bar per step attempt


def test_crashed_run_gets_a_report_from_its_journal(tmp_path: Path) -> None:
    journal = Journal.create(
        tmp_path,
        "20261125T100000Z-crashed-0001",
        runbook_bytes=b"version: 1\n",
        meta={"run_id": "20261125T100000Z-crashed-0001", "runbook": "crashed", "steps": ["orphans.unregister"]},
        secrets=["hunter2"],
    )
    journal.append(Event("step_started", "orphans.unregister", {"note": "pw hunter2"}))
    path = html_report(tmp_path, "20261125T100000Z-crashed-0001")
    html = path.read_text()
    assert_well_formed_html(html)
    assert "incomplete" in html and "interrupted" in html and "hunter2" not in html
    assert path.stat().st_mode & 0o777 == 0o600


def test_report_shows_srm_history_beside_the_steps_and_marks_who_did_what() -> None:
    history = {
        "plan_name": "VR Failover",
        "username": "admin@<corp>",
        "operation_type": "TEST",
        "start_time_ms": 1795600802000,
        "duration_ms": 5000,
        "result_state": "SUCCESS",
        "error_count": 0,
        "warning_count": 1,
        "run_key": 7,
    }
    events = [
        {"at": T.format(1), "kind": "step_started", "step": "plan.test"},
        {
            "at": T.format(8),
            "kind": "record",
            "step": "plan.test",
            "record": "srm_history",
            "plan": "VR Failover",
            "site": "new-jersey",
            "operation_type": "TEST",
            "task": "t-1",
            "report_id": "7",
            "report": history,
        },
        {"at": T.format(9), "kind": "step_verified", "step": "plan.test"},
        {"at": T.format(10), "kind": "step_started", "step": "plan.migrate"},
        {
            "at": T.format(11),
            "kind": "record",
            "step": "plan.migrate",
            "record": "srm_history_unavailable",
            "plan": "VR Failover",
            "site": "new-york",
            "operation_type": "FAILOVER",
            "reason": "403 forbidden",
        },
        {"at": T.format(12), "kind": "step_verified", "step": "plan.migrate"},
    ]
    html = render_html(
        {"run_id": "r2"},
        events,
        {
            "outcome": "succeeded",
            "steps": [{"step": "plan.test", "status": "verified"}, {"step": "plan.migrate", "status": "verified"}],
        },
    )
    assert_well_formed_html(html)
    assert "<h2>SRM's history reports</h2>" in html and "admin@&lt;corp&gt;" in html
    assert "srm-history/01-plan.test-TEST.json" in html and "not available: 403 forbidden" in html
    assert 'TEST: <span class="ok">SUCCESS</span>' in html  # in plan.test's row of the steps table
    assert html.count("<rect") == 3 and html.count('stroke="#1a73e8"') == 1  # two steps, one SRM run
    assert "<title>SRM: TEST: verified, 5.00s</title>" in html and "<title>srmctl: plan.test: verified" in html
