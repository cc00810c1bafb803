"""SRM's recovery history in srmsim: one report per plan run at the server that ran it, lists answered with a
task, the spec's default timeframe (the last seven days), only finished runs, CANCELLED for a cancelled run."""

from __future__ import annotations

import ssl
import time
from pathlib import Path

import httpx
import pytest
from srmsim_fixtures import PASSWORD, launch, logged_in

from srmctl.errors import OperationFailed
from srmctl.srmsim import history
from srmctl.srmsim.model import SimError, SimPlan
from srmctl.srmsim.seed import SEED_USER
from srmctl.srmsim.web import ROOTS


def _entry(runs: list[history.SimHistory], key: int, site: str, start_ms: int, state: str | None) -> None:
    plan = SimPlan(id="plan-1", name="VR Failover", description="", protected_site="new-york", group_ids=[])
    entry = history.opened(runs, key, site, plan, "Test", "admin")
    entry.start_ms = start_ms
    if state is not None:
        history.closed(entry, state)


def test_the_default_timeframe_is_the_last_seven_days_and_only_finished_runs_are_listed() -> None:
    now = int(time.time() * 1000)
    runs: list[history.SimHistory] = []
    _entry(runs, 1, "new-york", now - history.WEEK_MS - 60_000, "SUCCESS")  # eight days ago
    _entry(runs, 2, "new-york", now - 60_000, "ERRORS")
    _entry(runs, 3, "new-york", now - 30_000, None)  # still running: no final result_state yet
    _entry(runs, 4, "new-jersey", now - 30_000, "SUCCESS")  # another server's run
    start, end = history.window(None, None)
    assert end - start == history.WEEK_MS and abs(end - now) < 60_000
    assert [r["run_key"] for r in history.reports(runs, "new-york", start, end)] == [2]
    wider = history.window(str(now - 9 * 24 * 3600 * 1000), None)
    assert [r["run_key"] for r in history.reports(runs, "new-york", *wider)] == [1, 2]
    assert [r["run_key"] for r in history.reports(runs, "new-york", *wider, plan_id="other")] == []
    for bad in (("yesterday", None), (str(now), str(now - 1))):
        with pytest.raises(SimError) as refused:
            history.window(*bad)
        assert refused.value.status == 400
    assert history.friendly(3_723_000) == "1h 2m 3s" and history.friendly(0) == "0s"


@pytest.mark.lab
def test_each_server_lists_the_runs_it_ran_with_the_user_and_a_cancelled_run_is_cancelled(tmp_path: Path) -> None:
    sim = launch(tmp_path, scenario="planned-migration")
    try:
        nj, ny = logged_in(sim, "new-jersey"), logged_in(sim, "new-york")
        seeded = nj.all_history_reports()
        assert [(r.operation_type, r.result_state, r.username) for r in seeded] == [("FAILOVER", "SUCCESS", SEED_USER)]
        assert ny.all_history_reports() == []
        plan = nj.plan_by_name("VR Failover")
        task = nj.reprotect_plan(plan.id, wait=False)
        nj.cancel_plan(plan.id)
        with pytest.raises(OperationFailed):
            nj.wait_task(task)
        reports = nj.history_reports(plan.id)
        assert [(r.operation_type, r.result_state) for r in reports] == [
            ("FAILOVER", "SUCCESS"),
            ("REPROTECT", "CANCELLED"),
        ]
        last = reports[-1]
        assert last.username == sim.sites["new-jersey"].user and last.errors_list and last.error_count == 1
        assert nj.history_report(plan.id, last.report_id) == last
        # The list answers 202 with a task, whatever its content.
        site = sim.sites["new-york"]
        with httpx.Client(
            base_url=f"https://{site.host}:{site.port}{ROOTS['srm']}",
            timeout=10,
            verify=ssl.create_default_context(cafile=site.cert),
        ) as raw:
            raw.headers["x-dr-session"] = raw.post("/session", auth=(site.user, PASSWORD)).json()["session_id"]
            answer = raw.get(f"/pairings/{sim.pairing_id}/recovery-management/history-reports")
            assert answer.status_code == 202 and answer.json()["status"] in ("QUEUED", "RUNNING", "SUCCESS")
            assert (
                raw.get(
                    f"/pairings/{sim.pairing_id}/recovery-management/plans/{plan.id}/history-reports/{last.report_id}"
                ).status_code
                == 404
            )  # new-jersey ran it, not new-york
    finally:
        sim.stop()
