"""SRM protection groups: list, create (acts on both sites: needs the remote login), read, delete,
reconfigure, configure-all-vms, and the group's VMs and recovery plans."""

from __future__ import annotations

from srmctl.srmsim import bodies, body_refs, groups, placeholders, render
from srmctl.srmsim.plans import plans_of_group
from srmctl.srmsim.remote import DEPENDS, ERROR
from srmctl.srmsim.web import Reply, RouteTable, SimRequest, entity, listing, task_reply, tasks_reply

ROUTES = RouteTable("/pairings/{pairing_id}/protection-management/groups")


@ROUTES.get()
def list_groups(req: SimRequest) -> Reply:
    return listing(req, [render.group(req.world, g) for g in req.world.all_groups()])


@ROUTES.post(body=bodies.ProtectionGroupCreateSpecBody, not_authenticated=ERROR, server_down=ERROR)
def create_group(req: SimRequest) -> Reply:
    body_refs.check_location(req.world, req.site, "group", req.body)
    with body_refs.in_body("hbr_spec.vms"):
        return task_reply(groups.create_group(req.world, req.site, req.body))


@ROUTES.get("/{group_id}")
def get_group(req: SimRequest) -> Reply:
    placeholders.check_deleted(req.world, [req.args["group_id"]])
    return entity(render.group(req.world, req.world.group(req.args["group_id"])))


@ROUTES.delete("/{group_id}", not_authenticated=DEPENDS, server_down=ERROR)
def delete_group(req: SimRequest) -> Reply:
    return task_reply(groups.delete_group(req.world, req.site, req.args["group_id"]))


@ROUTES.post(
    "/{group_id}/actions/reconfigure",
    body=bodies.ProtectionGroupEditSpecBody,
    not_authenticated=ERROR,
    server_down=ERROR,
)
def reconfigure_group(req: SimRequest) -> Reply:
    group = req.world.group(req.args["group_id"])  # an unknown group in the URL stays 404
    with body_refs.in_body("hbr_spec.vms"):
        return task_reply(groups.reconfigure_group(req.world, req.site, group.id, req.body))


@ROUTES.post("/{group_id}/actions/configure-all-vms", not_authenticated=ERROR, server_down=ERROR)
def configure_all_vms(req: SimRequest) -> Reply:
    """ "Configure protection for all virtual machines ... Empty list of tasks is returned when all virtual
    machines in the protection group are already protected": one task per VM whose placeholder is missing."""
    return tasks_reply(placeholders.configure_all(req.world, req.site, req.args["group_id"]))


@ROUTES.post("/{group_id}/actions/restore-all-placeholders", not_authenticated=ERROR, server_down=ERROR)
def restore_all_placeholders(req: SimRequest) -> Reply:
    """ "Repair placeholder VMs ... This method can be called only on the recovery site": a
    RecreateAllPlaceholderVmsResponse with one task per VM whose placeholder failed or was deleted."""
    tasks = placeholders.configure_all(req.world, req.site, req.args["group_id"], restore=True)
    return 202, {"tasks": [render.task(t) for t in tasks], "errors": [], "_meta": {"errors": []}}


@ROUTES.get("/{group_id}/vms")
def group_vms(req: SimRequest) -> Reply:
    group = req.world.group(req.args["group_id"])
    placeholders.check_deleted(req.world, [group.id])
    return listing(req, [render.group_vm(req.world, group, v) for v in group.vm_ids])


@ROUTES.get("/{group_id}/vms/{vm_id}")
def group_vm(req: SimRequest) -> Reply:
    group = req.world.group(req.args["group_id"])
    placeholders.check_deleted(req.world, [group.id], only=req.args["vm_id"])
    return entity(render.group_vm(req.world, group, req.world.group_member(group.id, req.args["vm_id"])))


@ROUTES.post("/{group_id}/vms/{vm_id}/actions/remove-from-group", not_authenticated=DEPENDS)
def remove_from_group(req: SimRequest) -> Reply:
    group = req.world.group(req.args["group_id"])
    vm_id = req.world.group_member(group.id, req.args["vm_id"])
    spec = {"hbr_spec": {"vms": [v for v in group.vm_ids if v != vm_id]}}
    return task_reply(groups.reconfigure_group(req.world, req.site, group.id, spec))


@ROUTES.get("/{group_id}/recovery-plans")
def group_plans(req: SimRequest) -> Reply:
    group = req.world.group(req.args["group_id"])
    return listing(req, [render.plan(req.world, p) for p in plans_of_group(req.world, group.id)])


# The VMs a new group may take: SRM lists them per vCenter.
CANDIDATES = RouteTable("/pairings/{pairing_id}/vcenters/{vcenter_id}")


@CANDIDATES.get("/replicated-vms", not_authenticated=DEPENDS)
def replicated_vms(req: SimRequest) -> Reply:
    return listing(
        req,
        [
            {
                "id": vm.id,
                "name": vm.name,
                "template": False,
                "inside_vapp": False,
                "replication_status": _srm_replication_status(req, vm.id),
            }
            for vm in req.world.unprotected_replicated_vms(req.args["vcenter_id"])
        ],
    )


def _srm_replication_status(req: SimRequest, vm_id: str) -> str:
    replication = req.world.replication_of_vm(vm_id)
    status = replication.status if replication else "UNKNOWN"
    return "ERROR_OCCURRED" if status == "ERROR" else status  # SRM's enum spells VR's ERROR differently
