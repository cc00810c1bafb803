"""SRM REST v2, recovery history (spec tag ``recovery``): SRM's own report of every plan run (test, cleanup,
failover, reprotect) with who ran it, when, how long it took and how it ended. Part of
:class:`~srmctl.adapters.dr.srm.SrmClient`.

The lists answer ``202`` with a task ("A task to monitor the generation of the history list"); the list is
the finished task's ``result``, a ``{list, _meta}`` page (a bare list is accepted too). Without dates SRM
returns the last seven days."""

from __future__ import annotations

from typing import Any

from srmctl.adapters.dr.client import DrClient
from srmctl.adapters.dr.models import Record
from srmctl.adapters.dr.values import Params
from srmctl.errors import OperationFailed

_RECOVERY = "/pairings/{pairing_id}/recovery-management"
_MAX_PAGES = 100


class HistoryReport(Record):
    """``HistoryReport``: one plan run as the SRM server that ran it recorded it."""

    plan_name: str | None = None
    username: str | None = None
    operation_type: str | None = None  # TEST | CLEANUP | FAILOVER | REPROTECT
    start_time_ms: int | None = None
    human_friendly_duration: str | None = None
    duration_ms: int | None = None
    result_state: str | None = None  # SUCCESS | WARNINGS | ERRORS | CANCELLED
    error_count: int | None = None
    warning_count: int | None = None
    run_key: int | None = None
    errors_list: list[str | None] | None = None
    warnings_list: list[str | None] | None = None

    @property
    def report_id(self) -> str:
        """The id ``history-reports/{report_id}`` takes: the report's ``run_key``."""
        return "" if self.run_key is None else str(self.run_key)


class HistoryCalls(DrClient):
    """The recovery-history calls of the SRM client."""

    def history_reports(
        self, plan_id: str, *, start_ms: int | None = None, end_ms: int | None = None
    ) -> list[HistoryReport]:
        """One plan's reports at this SRM server in the timeframe (default: the last seven days)."""
        return self._history(_RECOVERY + "/plans/{plan_id}/history-reports", start_ms, end_ms, plan_id=plan_id)

    def all_history_reports(self, *, start_ms: int | None = None, end_ms: int | None = None) -> list[HistoryReport]:
        """Every plan's reports at this SRM server in the timeframe (default: the last seven days)."""
        return self._history(_RECOVERY + "/history-reports", start_ms, end_ms)

    def history_report(self, plan_id: str, report_id: str) -> HistoryReport:
        return self.get_model(
            HistoryReport,
            _RECOVERY + "/plans/{plan_id}/history-reports/{report_id}",
            plan_id=plan_id,
            report_id=report_id,
        )

    def _history(self, template: str, start_ms: int | None, end_ms: int | None, **path: str) -> list[HistoryReport]:
        query: Params = {k: str(v) for k, v in (("start_date", start_ms), ("end_date", end_ms)) if v is not None}
        found: list[HistoryReport] = []
        for _ in range(_MAX_PAGES):
            task = self.wait_task(self.task("GET", template, params=query or None, **path), timeout=600.0)
            items, more = _page(task.result, template, self.endpoint)
            found.extend(self.http.parse(HistoryReport, item, template) for item in items)
            if not more or not items:
                break
            query = {**query, "offset": str(more), "limit": str(len(items))}
        return found


def _page(result: Any, where: str, endpoint: str) -> tuple[list[Any], int | None]:
    """The reports in a history task's result, and the offset of the next page when there is one."""
    if isinstance(result, list):
        return result, None
    if not isinstance(result, dict):
        raise OperationFailed(f"{endpoint}: {where}: the history task's result is not a list of reports")
    items = result.get("list") or []
    meta = result.get("_meta") or {}
    total, offset = meta.get("total"), meta.get("offset")
    if isinstance(total, int) and isinstance(offset, int) and offset + len(items) < total:
        return items, offset + len(items)
    return items, None
