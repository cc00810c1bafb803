"""SRM plan-level recovery steps: the user prompts a running plan raises (list, read, dismiss), and the
steps of a view mode with custom steps (list, add, read, delete, read and edit a custom step's callout)."""

from __future__ import annotations

from srmctl.srmsim import bodies, render
from srmctl.srmsim import recovery_steps as steps
from srmctl.srmsim.model import not_found
from srmctl.srmsim.remote import DEPENDS
from srmctl.srmsim.web import Reply, RouteTable, SimRequest, entity, first_or_404, listing, no_content, task_reply

ROUTES = RouteTable("/pairings/{pairing_id}/recovery-management/plans/{plan_id}/recovery-steps")


# user-prompts first: "/{view_mode}" would match it too
@ROUTES.get("/user-prompts", not_authenticated=DEPENDS)
def prompts(req: SimRequest) -> Reply:
    plan = req.world.plan(req.args["plan_id"])
    return listing(req, [render.prompt(p) for p in list(plan.prompts.values())])


@ROUTES.get("/user-prompts/{prompt_id}", not_authenticated=DEPENDS)
def prompt(req: SimRequest) -> Reply:
    found = req.world.plan(req.args["plan_id"]).prompts.get(req.args["prompt_id"])
    if found is None:
        raise not_found("prompt")
    return entity(render.prompt(found))


@ROUTES.post("/user-prompts/{prompt_id}/actions/dismiss-prompt")
def dismiss(req: SimRequest) -> Reply:
    steps.dismiss(req.world, req.args["plan_id"], req.args["prompt_id"])
    return no_content()


@ROUTES.get("/{view_mode}", not_authenticated=DEPENDS)
def list_steps(req: SimRequest) -> Reply:
    plan = req.world.plan(req.args["plan_id"])
    steps.require_readable(plan, req.args["view_mode"])
    return listing(req, render.steps(req.world, plan, req.args["view_mode"]))


@ROUTES.post("/{view_mode}", body=bodies.CalloutCreateSpecBody)
def add_step(req: SimRequest) -> Reply:
    return task_reply(steps.add_custom_step(req.world, req.site, req.args["plan_id"], req.args["view_mode"], req.body))


@ROUTES.get("/{view_mode}/{recovery_step_id}")
def get_step(req: SimRequest) -> Reply:
    plan = req.world.plan(req.args["plan_id"])
    steps.require_readable(plan, req.args["view_mode"])
    rendered = render.steps(req.world, plan, req.args["view_mode"])
    return entity(first_or_404((s for s in rendered if str(s["id"]) == req.args["recovery_step_id"]), "recovery step"))


@ROUTES.delete("/{view_mode}/{recovery_step_id}")
def delete_step(req: SimRequest) -> Reply:
    return task_reply(
        steps.delete_custom_step(req.world, req.site, req.args["plan_id"], req.args["view_mode"], req.step_id())
    )


@ROUTES.get("/{view_mode}/{recovery_step_id}/callout-data", not_authenticated=DEPENDS)
def callout(req: SimRequest) -> Reply:
    plan = req.world.plan(req.args["plan_id"])
    steps.require_readable(plan, req.args["view_mode"])
    return entity(render.callout(steps.custom_step(plan, req.args["view_mode"], req.step_id())))


@ROUTES.post("/{view_mode}/{recovery_step_id}/callout-data/actions/edit", body=bodies.CalloutModifySpecBody)
def edit_callout(req: SimRequest) -> Reply:
    return task_reply(
        steps.edit_custom_step(req.world, req.site, req.args["plan_id"], req.args["view_mode"], req.step_id(), req.body)
    )
