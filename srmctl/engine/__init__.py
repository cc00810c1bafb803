"""The engine: planner (observe → actions), executor (apply → verify), journal, resume, lock and events.

Public API for the CLI: :func:`dry_run`, :func:`start`, :func:`resume`, :func:`list_runs`,
:func:`run_summary`, :func:`pending_run`, :class:`RunPlan`, :class:`RunReport`, :class:`Selection`, :class:`Event`.
Nothing here prints or asks; results are values, progress is events.
"""

from srmctl.engine.events import Event
from srmctl.engine.executor import RunPlan, StepPlan, select_steps
from srmctl.engine.lock import LockHeld
from srmctl.engine.run import (
           ConfirmPlan,
           PendingRun,
           RunReport,
           RunSummary,
           Selection,
           StepOutcome,
           dry_run,
           html_report,
           list_runs,
           pending_run,
           resume,
           run_summary,
           start,
)

__all__ = ["ConfirmPlan", "Event", "LockHeld", "PendingRun", "RunPlan", "RunReport", "RunSummary", "Selection",
           "StepOutcome", "StepPlan", "dry_run", "html_report", "list_runs", "pending_run", "resume", "run_summary",
           "select_steps", "start"]
