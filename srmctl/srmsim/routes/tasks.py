"""Tasks, both APIs: the appliance's recent tasks and one task (SRM names the parameter ``taskId``, VR
``task_id``). A task is visible only on the site and API that started it."""

from __future__ import annotations

from srmctl.srmsim import render
from srmctl.srmsim.web import Reply, RouteTable, SimRequest, entity, listing

SRM = RouteTable()
VR = RouteTable()


@SRM.get("/tasks")
@VR.get("/tasks")
def tasks(req: SimRequest) -> Reply:
    return listing(req, [render.task(t) for t in req.world.tasks_of(req.site, req.api)])


@SRM.get("/tasks/{taskId}")
def srm_task(req: SimRequest) -> Reply:
    return entity(render.task(req.world.task_of(req.site, req.api, req.args["taskId"])))


@VR.get("/tasks/{task_id}")
def vr_task(req: SimRequest) -> Reply:
    return entity(render.task(req.world.task_of(req.site, req.api, req.args["task_id"])))
