"""SRM per-VM recovery settings in a plan: the whole settings, priority, dependent VMs (with validation),
IP customization and the summary."""

from __future__ import annotations

from srmctl.srmsim import bodies, peers, render
from srmctl.srmsim import recovery_settings as settings
from srmctl.srmsim.model import SimPlan, SimTask
from srmctl.srmsim.remote import DEPENDS
from srmctl.srmsim.web import Reply, RouteTable, SimRequest, entity, listing, task_reply

ROUTES = RouteTable("/pairings/{pairing_id}/recovery-management/plans/{plan_id}/vms/{vm_id}/recovery-settings")


def _target(req: SimRequest) -> tuple[SimPlan, str]:
    """The plan and VM of the call, checked: the VM must be in the plan."""
    plan = req.world.plan(req.args["plan_id"])
    settings.settings_of(req.world, plan, req.args["vm_id"])
    return plan, req.args["vm_id"]


def _edited(req: SimRequest, task: SimTask) -> Reply:
    """An edit through this server: remembered while the link is down, resolving a conflict when up."""
    peers.edited(req.world, req.site, req.args["plan_id"])
    return task_reply(task)


@ROUTES.get()
def get_settings(req: SimRequest) -> Reply:
    return entity(
        {
            "recovery_settings": render.settings(req.world, *_target(req)),
            "status": peers.settings_status(req.world, req.world.plan(req.args["plan_id"])),  # srmsim/peers.py
            "protection_group_support_vmotion": False,
            "vmotion_migration_supported": False,
        }
    )


@ROUTES.post("/actions/update", body=bodies.VmRecoverySettingsSpecBody, not_authenticated=DEPENDS)
def update_settings(req: SimRequest) -> Reply:
    return _edited(req, settings.update_settings(req.world, req.site, req.args["plan_id"], req.args["vm_id"], req.body))


@ROUTES.get("/priority")
def get_priority(req: SimRequest) -> Reply:
    plan = req.world.plan(req.args["plan_id"])
    return entity({"priority": settings.settings_of(req.world, plan, req.args["vm_id"]).priority})


@ROUTES.put("/priority", body=bodies.PriorityGroupDataBody)
def set_priority(req: SimRequest) -> Reply:
    return _edited(
        req, settings.set_priority(req.world, req.site, req.args["plan_id"], req.args["vm_id"], req.body["priority"])
    )


@ROUTES.get("/dependent-vms")
def dependent_vms(req: SimRequest) -> Reply:
    return listing(req, render.dependent_vms(req.world, *_target(req)))


@ROUTES.post("/dependent-vms/actions/update", body=bodies.DependentVmSpecBody)
def set_dependent_vms(req: SimRequest) -> Reply:
    return _edited(
        req,
        settings.set_dependencies(
            req.world, req.site, req.args["plan_id"], req.args["vm_id"], req.body.get("dependent_vms") or []
        ),
    )


@ROUTES.post("/dependent-vms/actions/validate", body=bodies.DependentVmSpecBody)
def validate_dependent_vms(req: SimRequest) -> Reply:
    plan, vm_id = _target(req)
    deps = req.body.get("dependent_vms") or []
    if any(d not in plan.settings for d in deps):
        return 200, {"valid": False, "issue_type": "UNKNOWN"}
    issue = settings.check_dependencies(req.world, plan, vm_id, deps)
    return 200, {"valid": issue is None, **({"issue_type": issue} if issue else {})}


@ROUTES.get("/ip-customization")
def get_ip_customization(req: SimRequest) -> Reply:
    plan, vm_id = _target(req)
    return entity(render.ip_customization(plan, vm_id, req.site != plan.protected_site))


@ROUTES.post(
    "/ip-customization/actions/update", body=bodies.VmRecoveryIpCustomizationSettingsSpecBody, not_authenticated=DEPENDS
)
def set_ip_customization(req: SimRequest) -> Reply:
    return _edited(req, settings.set_ip(req.world, req.site, req.args["plan_id"], req.args["vm_id"], req.body))


@ROUTES.get("/summary")
def summary(req: SimRequest) -> Reply:
    return entity(render.summary(req.world, *_target(req)))
