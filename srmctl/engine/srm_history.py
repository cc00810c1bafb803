"""SRM's history reports in a run's journal (journaled by the plan-run steps, steps/history.py), as links from
the run report to the step that caused each one and to its file in the evidence pack."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from srmctl.engine import events as ev
from srmctl.steps.history import HISTORY, HISTORY_UNAVAILABLE

HISTORY_DIR = "srm-history"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def history_links(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per plan run the journal holds a history record for (in journal order): the step (and
    sub-step) that ran it, the SRM server, SRM's result, the journal line of the record, and the file the
    evidence pack holds it in. Runs whose report SRM did not give are listed with ``unavailable``."""
    links: list[dict[str, Any]] = []
    for line, event in enumerate(events, 1):
        if event.get("kind") != ev.RECORD or event.get("record") not in (HISTORY, HISTORY_UNAVAILABLE):
            continue
        found = event.get("report")
        report: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        step = str(event.get("substep") or event.get("step") or "run")
        operation = str(event.get("operation_type") or "")
        link: dict[str, Any] = {
            "step": event.get("step"),
            "substep": event.get("substep"),
            "site": event.get("site"),
            "plan": event.get("plan"),
            "operation_type": operation,
            "task": event.get("task"),
            "journal_line": line,
        }
        if event.get("record") == HISTORY:
            link.update(
                {
                    "report_id": event.get("report_id"),
                    "result_state": report.get("result_state"),
                    "username": report.get("username"),
                    "start_time_ms": report.get("start_time_ms"),
                    "duration_ms": report.get("duration_ms"),
                    "error_count": report.get("error_count"),
                    "warning_count": report.get("warning_count"),
                    "file": f"{HISTORY_DIR}/{len(links) + 1:02d}-{_UNSAFE.sub('_', step)}-"
                    f"{_UNSAFE.sub('_', operation)}.json",
                }
            )
        else:
            link["unavailable"] = event.get("reason")
        links.append(link)
    return links


def history_file(event: Mapping[str, Any]) -> dict[str, Any]:
    """What the pack's file of one history record holds: the record as journaled (SRM's report inside)."""
    return {key: value for key, value in event.items() if key not in ("prev", "kind")}
