"""vSphere Replication: replications (list, configure (acts on both sites: needs the remote login), read,
delete, unconfigure, pause, resume, sync, reconfigure, disks) and the pairing's vCenters as VR sees them
(VMs with disks, datastores, seeds).

Calls that name replications first re-read the inventory behind recovered replications (a call naming one,
behind that one only): VR unconfigures a RECOVERED replication once its source VM leaves vCenter
(:func:`srmctl.srmsim.replication_sync.refresh_recovered`), and srmctl unregisters VMs in vCenter, not through
srmsim."""

from __future__ import annotations

from srmctl.srmsim import render, replication_seeds, replication_sync, vr_bodies
from srmctl.srmsim import replication as vr
from srmctl.srmsim.remote import DEPENDS, ERROR
from srmctl.srmsim.web import Reply, RouteTable, SimRequest, entity, listing, task_reply, tasks_reply

ROUTES = RouteTable("/pairings/{pairing_id}")


@ROUTES.get("/replications")
def list_replications(req: SimRequest) -> Reply:
    replication_sync.refresh_recovered(req.world, all_sources=req.value("offset") in (None, "0"))
    items = req.world.replications_from(req.value("source_vc_guid"))
    return listing(req, [render.replication(req.world, r) for r in items])


@ROUTES.post("/replications", body=vr_bodies.ConfigureReplicationSpecs, not_authenticated=ERROR, server_down=ERROR)
def configure(req: SimRequest) -> Reply:
    replication_seeds.refresh_for_configure(req.world, req.array())
    return tasks_reply(vr.configure(req.world, req.site, req.array()))


@ROUTES.get("/replications/{replication_id}")
def get_replication(req: SimRequest) -> Reply:
    replication_sync.refresh_recovered(req.world, req.args["replication_id"])
    return entity(render.replication(req.world, req.world.replication(req.args["replication_id"])))


@ROUTES.delete("/replications/{replication_id}")
def delete(req: SimRequest) -> Reply:
    replication_sync.refresh_recovered(req.world, req.args["replication_id"])
    return task_reply(
        vr.remove(req.world, req.site, req.args["replication_id"], req.flag("retain_replica_disks"), "Delete")
    )


@ROUTES.post("/replications/{replication_id}/actions/unconfigure", not_authenticated=ERROR, server_down=ERROR)
def unconfigure(req: SimRequest) -> Reply:
    replication_sync.refresh_recovered(req.world, req.args["replication_id"])
    return task_reply(
        vr.remove(req.world, req.site, req.args["replication_id"], req.flag("retain_replica_disks"), "Unconfigure")
    )


@ROUTES.post("/replications/{replication_id}/actions/pause", not_authenticated=ERROR, server_down=ERROR)
def pause(req: SimRequest) -> Reply:
    replication_sync.refresh_recovered(req.world, req.args["replication_id"])
    return task_reply(replication_sync.set_paused(req.world, req.site, req.args["replication_id"], True))


@ROUTES.post("/replications/{replication_id}/actions/resume", not_authenticated=ERROR, server_down=ERROR)
def resume(req: SimRequest) -> Reply:
    replication_sync.refresh_recovered(req.world, req.args["replication_id"])
    return task_reply(replication_sync.set_paused(req.world, req.site, req.args["replication_id"], False))


@ROUTES.post("/replications/{replication_id}/actions/sync", server_down=ERROR)
def sync(req: SimRequest) -> Reply:
    replication_sync.refresh_recovered(req.world, req.args["replication_id"])
    return task_reply(replication_sync.sync_now(req.world, req.site, req.args["replication_id"]))


@ROUTES.post(
    "/replications/{replication_id}/actions/reconfigure",
    body=vr_bodies.ReconfigureReplicationSpecBody,
    not_authenticated=ERROR,
    server_down=ERROR,
)
def reconfigure(req: SimRequest) -> Reply:
    replication_sync.refresh_recovered(req.world, req.args["replication_id"])
    return task_reply(vr.reconfigure(req.world, req.site, req.args["replication_id"], req.body))


@ROUTES.get("/replications/{replication_id}/disks")
def replicated_disks(req: SimRequest) -> Reply:
    replication_sync.refresh_recovered(req.world, req.args["replication_id"])
    replication = req.world.replication(req.args["replication_id"])
    return listing(req, render.replicated_disk(req.world, replication, req.world.find_vm(replication.vm_id)))


@ROUTES.get("/vcenters/{vcenter_id}/vms", not_authenticated=DEPENDS)
def vcenter_vms(req: SimRequest) -> Reply:
    site = req.world.site_of_vc(req.args["vcenter_id"])
    req.world.refresh(site.name)
    suitable = req.flag("suitable_for_replication")
    return listing(
        req,
        [
            render.vr_vm(req.world, vm)
            for vm in sorted(site.vms.values(), key=lambda v: v.name)
            if vm.registered and not (suitable and req.world.replication_of_vm(vm.id))
        ],
    )


@ROUTES.get("/vcenters/{vcenter_id}/vms/{vm_id}/disks", not_authenticated=DEPENDS)
def vm_disks(req: SimRequest) -> Reply:
    return listing(req, render.vm_disks(req.world, req.world.vm_at(req.args["vcenter_id"], req.args["vm_id"])))


@ROUTES.get("/vcenters/{vcenter_id}/datastores", not_authenticated=DEPENDS)
def datastores(req: SimRequest) -> Reply:
    site = req.world.site_of_vc(req.args["vcenter_id"])
    return listing(req, [render.datastore(site, ds) for ds in site.datastores])


@ROUTES.post(
    "/vcenters/{vcenter_id}/datastores/{datastore_id}/actions/find-seeds",
    body=vr_bodies.VmDiskFindSeedSpecs,
    not_authenticated=DEPENDS,
)
def find_seeds(req: SimRequest) -> Reply:
    return listing(req, replication_seeds.find_seeds(req.world, req.args["datastore_id"], req.array()), 10_000)


@ROUTES.post(
    "/vcenters/{vcenter_id}/datastores/{datastore_id}/actions/browse",
    body=vr_bodies.DatastoreBrowserRequestBody,
    not_authenticated=DEPENDS,
)
def browse(req: SimRequest) -> Reply:
    req.world.site_of_vc(req.args["vcenter_id"])
    return listing(req, replication_seeds.browse(req.world, req.args["datastore_id"], req.body), 10_000)
