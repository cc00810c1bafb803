"""SRM recovery plans: list, create (needs the remote login), read, delete, reconfigure, the plan's groups
and VMs, and the runs: test, cleanup and reprotect act on both sites (remote login), recovery does not
(a disaster recovery runs with the protected site down), cancel."""

from __future__ import annotations

from collections.abc import Callable

from srmctl.srmsim import bodies, body_refs, peers, plans, render, reprotect, runs
from srmctl.srmsim.model import SimTask
from srmctl.srmsim.remote import DEPENDS, ERROR
from srmctl.srmsim.web import Reply, RouteTable, SimRequest, entity, first_or_404, listing, no_content, task_reply

ROUTES = RouteTable("/pairings/{pairing_id}/recovery-management/plans")


@ROUTES.get()
def list_plans(req: SimRequest) -> Reply:
    return listing(req, [render.plan(req.world, p) for p in req.world.all_plans()])


@ROUTES.post(remote=True, body=bodies.RecoveryPlanCreateSpecBody, not_authenticated=DEPENDS)
def create_plan(req: SimRequest) -> Reply:
    body_refs.check_location(req.world, req.site, "plan", req.body)
    protected = req.world.site_of_vc(req.body["protected_vc_guid"]).name
    body_refs.check_test_networks(req.world, req.world.other(protected), req.body)
    with body_refs.in_body("protection_groups"):
        return task_reply(plans.create_plan(req.world, req.site, req.body))


@ROUTES.get("/{plan_id}")
def get_plan(req: SimRequest) -> Reply:
    return entity(render.plan(req.world, req.world.plan(req.args["plan_id"])))


@ROUTES.delete("/{plan_id}")
def delete_plan(req: SimRequest) -> Reply:
    return task_reply(plans.delete_plan(req.world, req.site, req.args["plan_id"]))


@ROUTES.post("/{plan_id}/actions/reconfigure", body=bodies.RecoveryPlanEditSpecBody, not_authenticated=DEPENDS)
def reconfigure_plan(req: SimRequest) -> Reply:
    plan = req.world.plan(req.args["plan_id"])  # an unknown plan in the URL stays 404
    guid = req.body.get("protected_vc_guid")
    protected = req.world.site_of_vc(guid).name if guid else plan.protected_site
    body_refs.check_test_networks(req.world, req.world.other(protected), req.body)
    with body_refs.in_body("request body"):
        task = plans.reconfigure_plan(req.world, req.site, plan.id, req.body)
    peers.edited(req.world, req.site, plan.id)
    return task_reply(task)


def _run(start: Callable[..., SimTask], action: str) -> Callable[[SimRequest], Reply]:
    def handler(req: SimRequest) -> Reply:
        # The history report names the user who started the run: the session's.
        user = req.session.user if req.session is not None else ""
        plan_id, spec = req.args["plan_id"], req.body or {}
        peers.check_run(req.world, req.site, plan_id, action, spec)  # a site pair's states (srmsim/peers.py)
        task = start(req.world, req.site, plan_id, spec, user=user)
        if action == "recovery":
            peers.completing(req.world, plan_id)
        return task_reply(task)

    handler.__name__ = start.__name__
    return handler


ROUTES.post("/{plan_id}/actions/test", body=bodies.TestPlanSpecBody, not_authenticated=ERROR)(
    _run(runs.run_test, "test")
)
ROUTES.post("/{plan_id}/actions/cleanup", body=bodies.CleanupTestPlanSpecBody, not_authenticated=ERROR)(
    _run(runs.run_cleanup, "cleanup")
)
ROUTES.post("/{plan_id}/actions/recovery", body=bodies.RecoverPlanSpecBody, not_authenticated=ERROR)(
    _run(runs.run_recovery, "recovery")
)
ROUTES.post(
    "/{plan_id}/actions/reprotect", body=bodies.ReprotectPlanSpecBody, not_authenticated=ERROR, server_down=ERROR
)(_run(reprotect.run_reprotect, "reprotect"))


@ROUTES.post("/{plan_id}/actions/cancel", not_authenticated=ERROR)
def cancel(req: SimRequest) -> Reply:
    runs.cancel(req.world, req.args["plan_id"])
    return no_content()


@ROUTES.get("/{plan_id}/protection-groups")
def plan_groups(req: SimRequest) -> Reply:
    plan = req.world.plan(req.args["plan_id"])
    return listing(req, [render.group(req.world, req.world.group(g)) for g in plan.group_ids])


@ROUTES.get("/{plan_id}/vms", not_authenticated=DEPENDS)
def plan_vms(req: SimRequest) -> Reply:
    plan = req.world.plan(req.args["plan_id"])
    return listing(req, [render.plan_vm(req.world, plan, vm, g) for vm, g in plans.plan_vms(req.world, plan)])


@ROUTES.get("/{plan_id}/vms/{vm_id}", not_authenticated=DEPENDS)
def plan_vm(req: SimRequest) -> Reply:
    plan, vm_id = req.world.plan(req.args["plan_id"]), req.args["vm_id"]
    return entity(
        first_or_404(
            (render.plan_vm(req.world, plan, vm, g) for vm, g in plans.plan_vms(req.world, plan) if vm.id == vm_id),
            f"VM {vm_id} in plan",
        )
    )
