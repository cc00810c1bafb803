"""The engine: runs (the whole run's plan up front, then its steps through the step library's executor,
:mod:`srmctl.steps.executor`, which plans, applies and verifies each), journal, resume, lock and events.

Public API for the CLI: :func:`dry_run`, :func:`start`, :func:`resume`, :func:`list_runs`,
:func:`run_summary`, :func:`pending_run`, :class:`RunPlan`, :class:`RunReport`, :class:`Selection`, :class:`Event`;
site failbacks (several recovery plans in order) are reached through :mod:`srmctl.engine.site_failback`.
Nothing here prints or asks; results are values, progress is events.
"""

from srmctl.engine.events import Event
from srmctl.engine.lock import LockHeld
from srmctl.engine.pending_run import PendingRun, pending_run
from srmctl.engine.run import ConfirmPlan, RunReport, Selection, dry_run, resume, start
from srmctl.engine.run_plan import RunPlan, StepPlan, select_steps
from srmctl.engine.stored_runs import PlanSummary, RunSummary, StepOutcome, html_report, list_runs, run_summary

__all__ = [
    "ConfirmPlan",
    "Event",
    "LockHeld",
    "PendingRun",
    "PlanSummary",
    "RunPlan",
    "RunReport",
    "RunSummary",
    "Selection",
    "StepOutcome",
    "StepPlan",
    "dry_run",
    "html_report",
    "list_runs",
    "pending_run",
    "resume",
    "run_summary",
    "select_steps",
    "start",
]
