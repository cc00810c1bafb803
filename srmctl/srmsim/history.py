"""SRM's recovery history: one report per plan run (test, cleanup, recovery, reprotect), kept by the SRM
server that ran it, and the history-report listings that answer with a task.

Spec text followed (srm-api-v2, tag ``recovery``): the lists "Get a list of all history reports for recovery
runs in a given timeframe" answer ``202`` with "A task to monitor the generation of the history list. Result
is of type HistoryReport"; "If no start_date and end_date are specified, then the last seven days of data
will be returned"; both dates are "milliseconds since [...] the epoch". ``result_state`` "will only be
final state": a run still going is not listed. ``Task.result`` is an object, so the list travels in the
API's own ``{list, _meta}`` page shape.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from srmctl.srmsim.model import SimError, SimPlan, not_found, now_ms

#: The runs' task kinds (srmsim/runs.py) as the spec's ``operation_type``: a recovery (planned migration or
#: disaster recovery) is a FAILOVER.
OPERATION = {"Test": "TEST", "Cleanup": "CLEANUP", "Recovery": "FAILOVER", "Reprotect": "REPROTECT"}
WEEK_MS = 7 * 24 * 3600 * 1000


@dataclass
class SimHistory:
    run_key: int
    site: str  # the SRM server that ran the plan: only it lists the report
    plan_id: str
    plan_name: str  # "Recovery plan name when the result was recorded"
    username: str
    operation_type: str
    start_ms: int = field(default_factory=now_ms)
    duration_ms: int | None = None
    result_state: str | None = None  # None while the run goes on
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def opened(history: list[SimHistory], run_key: int, site: str, plan: SimPlan, kind: str, user: str) -> SimHistory:
    """The report of a run starting now. Caller holds the world lock."""
    entry = SimHistory(run_key, site, plan.id, plan.name, user, OPERATION[kind])
    history.append(entry)
    return entry


def closed(entry: SimHistory, state: str, errors: list[str] | None = None) -> None:
    """The run ended: SUCCESS, ERRORS (with its errors) or CANCELLED. Caller holds the world lock."""
    entry.result_state, entry.errors = state, list(errors or [])
    entry.duration_ms = now_ms() - entry.start_ms


def render(entry: SimHistory) -> dict[str, Any]:
    """``HistoryReport``, field for field."""
    return {
        "plan_name": entry.plan_name,
        "username": entry.username,
        "operation_type": entry.operation_type,
        "start_time_ms": entry.start_ms,
        "human_friendly_duration": friendly(entry.duration_ms or 0),
        "duration_ms": entry.duration_ms or 0,
        "result_state": entry.result_state,
        "error_count": len(entry.errors),
        "warning_count": len(entry.warnings),
        "run_key": entry.run_key,
        "errors_list": list(entry.errors),
        "warnings_list": list(entry.warnings),
    }


def friendly(ms: int) -> str:
    """``human_friendly_duration``: "['days' d ['hours' h ['minutes' m 'seconds' s]]]]", leading zero units
    left out."""
    seconds = ms // 1000
    parts = [(seconds // 86400, "d"), (seconds // 3600 % 24, "h"), (seconds // 60 % 60, "m"), (seconds % 60, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{value}{unit}" for value, unit in parts)


def window(start: str | None, end: str | None) -> tuple[int, int]:
    """The timeframe asked for: defaults are the last seven days up to now. A date that is not a number of
    milliseconds, or a start after the end, is refused (400) rather than guessed."""
    try:
        end_ms = int(end) if end is not None else int(time.time() * 1000)
        start_ms = int(start) if start is not None else end_ms - WEEK_MS
    except ValueError as error:
        raise SimError(400, "INVALID_PARAMETER", f"start_date/end_date must be milliseconds: {error}") from None
    if start_ms > end_ms:
        raise SimError(400, "INVALID_PARAMETER", f"start_date {start_ms} is after end_date {end_ms}")
    return start_ms, end_ms


def reports(
    history: list[SimHistory], site: str, start_ms: int, end_ms: int, plan_id: str | None = None
) -> list[dict[str, Any]]:
    """The finished runs this site's SRM ran in the timeframe (of one plan, or all), oldest first."""
    return [
        render(h)
        for h in sorted(history, key=lambda h: (h.start_ms, h.run_key))
        if h.site == site
        and h.result_state is not None
        and start_ms <= h.start_ms <= end_ms
        and (plan_id is None or h.plan_id == plan_id)
    ]


def report(history: list[SimHistory], site: str, plan_id: str, report_id: str) -> dict[str, Any]:
    """One finished run's report at this site; ``report_id`` is its ``run_key``."""
    for entry in history:
        if (
            str(entry.run_key) == report_id
            and entry.site == site
            and entry.plan_id == plan_id
            and entry.result_state is not None
        ):
            return render(entry)
    raise not_found(f"history report {report_id}")
