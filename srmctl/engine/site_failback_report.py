"""A site failback's result: each plan's outcome, read from the journal of the run that failed it back, and
the whole site failback's report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from srmctl.engine import events as ev
from srmctl.engine.journal import META, Journal, runs_dir
from srmctl.engine.run import outcome_of
from srmctl.engine.site_failback_plans import Between, Tier
from srmctl.engine.stored_runs import INCOMPLETE, NOT_STARTED, StepOutcome, load_run, run_summary
from srmctl.errors import SrmctlError


@dataclass(frozen=True)
class PlanOutcome:
    index: int
    runbook: str
    recovery_plan: str
    run_id: str
    outcome: str  # a run's outcome, or not_started
    error: str | None = None
    steps: tuple[StepOutcome, ...] = ()


@dataclass(frozen=True)
class SiteFailbackReport:
    run_id: str
    outcome: str
    started: str
    finished: str
    between: str
    plans: tuple[PlanOutcome, ...]
    error: str | None
    journal: str


def child_id(site_run: str, index: int) -> str:
    return f"{site_run}.p{index}"


def plan_outcome(home: Path, site_run: str, index: int) -> str | None:
    """The outcome of the run failing plan ``index`` back, None when it never started."""
    child = runs_dir(home) / child_id(site_run, index)
    if not (child / META).is_file():
        return None
    report = load_run(home, child.name).report or {}
    return str(report.get("outcome") or INCOMPLETE)


def message_of(error: BaseException) -> str:
    return error.message if isinstance(error, SrmctlError) else repr(error)


def site_report(
    home: Path, journal: Journal, site: Sequence[Tier], between: Between, error: BaseException | None
) -> SiteFailbackReport:
    plans = []
    for plan in site:
        run_id = child_id(journal.run_id, plan.index)
        outcome = plan_outcome(home, journal.run_id, plan.index)
        summary = run_summary(home, run_id) if outcome is not None else None
        report = (load_run(home, run_id).report or {}) if outcome is not None else {}
        plans.append(
            PlanOutcome(
                plan.index,
                plan.runbook.name,
                plan.runbook.recovery_plan.name,
                run_id,
                outcome or NOT_STARTED,
                report.get("error"),
                summary.steps if summary else (),
            )
        )
    return SiteFailbackReport(
        run_id=journal.run_id,
        outcome=outcome_of(error),
        started=str(journal.read_json(META)["started"]),
        finished=ev.now(),
        between=str(between),
        plans=tuple(plans),
        error=None if error is None else message_of(error),
        journal=str(journal.directory),
    )


def report_dict(report: SiteFailbackReport) -> dict[str, Any]:
    return asdict(report)
