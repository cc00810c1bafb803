"""SRM's own record of a plan run, journaled by the step that caused it (see docs/architecture.md,
"Evidence"): after each test, cleanup, recovery or reprotect, the history report the SRM server that ran it
keeps (who, when, how long, how it ended, its errors and warnings) goes into the run's journal, under that
step, so the evidence pack needs no network and the report can show SRM's result beside srmctl's.

Reading it never fails the step: a report SRM does not give (an older SRM, a missing privilege) is journaled
as unavailable, with the reason."""

from __future__ import annotations

from srmctl.adapters.dr.models import RecoveryPlan, Task
from srmctl.adapters.dr.site import DrSite
from srmctl.adapters.dr.srm_history import HistoryReport
from srmctl.errors import SrmctlError
from srmctl.steps.context import StepContext

#: Journal records (``record`` events) this module writes; engine/srm_history.py reads them back.
HISTORY = "srm_history"
HISTORY_UNAVAILABLE = "srm_history_unavailable"
#: The ``operation_type`` of SRM's history report of each kind of plan run srmctl starts (by action kind).
OPERATION_TYPE = {
    "test": "TEST",
    "cleanup": "CLEANUP",
    "migrate": "FAILOVER",
    "complete_recovery": "FAILOVER",
    "complete_started_recovery": "FAILOVER",
    "reprotect": "REPROTECT",
}
#: How far before the run's task a report may start (SRM stamps the run, the gateway the task).
SLACK_MS = 60_000


def record_history(
    ctx: StepContext, dr: DrSite, plan: RecoveryPlan, kind: str, task: Task | None
) -> HistoryReport | None:
    """Journal the report of the plan run (``kind``: a key of :data:`OPERATION_TYPE`) just ended on ``plan``
    at ``dr``'s SRM, and return it (None when SRM gives none). A plan runs one operation at a time, so the
    latest report of that operation is this run's; with the run's task at hand, only reports from its start
    on count. Times are the server's own."""
    operation = OPERATION_TYPE[kind]
    started = (task.queued_time or task.start_time) if task is not None else None
    since = None if started is None else started - SLACK_MS
    where = {
        "plan": plan.name,
        "plan_id": plan.id,
        "site": dr.site,
        "operation_type": operation,
        "task": task.id if task is not None else None,
    }
    try:
        reports = dr.srm.history_reports(plan.id, start_ms=since)
    except SrmctlError as error:
        ctx.record(HISTORY_UNAVAILABLE, {**where, "reason": error.message})
        return None
    mine = [r for r in reports if r.operation_type == operation and (since is None or (r.start_time_ms or 0) >= since)]
    if not mine:
        ctx.record(
            HISTORY_UNAVAILABLE,
            {**where, "reason": f"SRM at {dr.site} lists no {operation} report of plan {plan.name} for this run"},
        )
        return None
    report = max(mine, key=lambda r: (r.start_time_ms or 0, r.run_key or 0))
    ctx.record(HISTORY, {**where, "report_id": report.report_id, "report": report.model_dump(mode="json")})
    return report
