"""SRM recovery history reports (srmsim/history.py): the pairing's and one plan's lists, each answered with
a task whose result is the list, and one plan's report by id."""

from __future__ import annotations

from typing import Any

from srmctl.srmsim import history
from srmctl.srmsim.web import Reply, RouteTable, SimRequest, entity, listing, task_reply

ROUTES = RouteTable("/pairings/{pairing_id}/recovery-management")


def _listed(req: SimRequest, plan_id: str | None) -> Reply:
    start, end = history.window(req.value("start_date"), req.value("end_date"))
    found = history.reports(req.world.history, req.site, start, end, plan_id)
    # The list's page (filter, offset, limit) as any listing gives it, delivered as the task's result.
    _, page = listing(req, found)
    description = "Get recovery history" + ("" if plan_id is None else f" of recovery plan {plan_id}")

    def work(_ctx: Any) -> dict[str, Any]:
        return dict(page)

    return task_reply(req.world.start_task(req.site, "srm", description, plan_id, None, work, kind="srm.history"))


@ROUTES.get("/history-reports")
def all_reports(req: SimRequest) -> Reply:
    return _listed(req, None)


@ROUTES.get("/plans/{plan_id}/history-reports")
def plan_reports(req: SimRequest) -> Reply:
    return _listed(req, req.world.plan(req.args["plan_id"]).id)


@ROUTES.get("/plans/{plan_id}/history-reports/{report_id}")
def plan_report(req: SimRequest) -> Reply:
    plan = req.world.plan(req.args["plan_id"])
    return entity(history.report(req.world.history, req.site, plan.id, req.args["report_id"]))
