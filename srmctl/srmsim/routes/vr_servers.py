"""vSphere Replication: what a configure-replication workflow reads before it configures (issue #21, point 8):
the paired VR management servers (``/pairings/{pairing_id}/vrs``), their replication servers (a
``ReplicationServerInfo.id`` is what ``ConfigureReplicationSpec.target_replication_server_id`` names), the
vCenter's storage policies (``destination_storage_policy_id``) and a VM's replication capability.

What srmsim has of them: :mod:`srmctl.srmsim.vr_servers`.
"""

from __future__ import annotations

from typing import Any

from srmctl.srmsim import render
from srmctl.srmsim.model import SimSite, not_found
from srmctl.srmsim.remote import DEPENDS
from srmctl.srmsim.vr_servers import POLICIES, replication_server_id, replication_server_uuid
from srmctl.srmsim.web import Reply, RouteTable, SimRequest, entity, listing
from srmctl.srmsim.world import World

ROUTES = RouteTable()
#: Pairing-scoped operations whose spec documents no 404 (VR: "Get information about vSphere Replication servers
#: that are paired" lists 200, 400, 401, 403, 500): an unknown pairing there is the documented 400.
NO_404 = frozenset({("GET", "/pairings/{pairing_id}/vrs")})


def _vrms(req: SimRequest, site: SimSite) -> dict[str, Any]:
    return {
        **render.server(site, "vr", req.sim.ports[site.name]),
        "vc_guid": site.vc_guid,
        "vc_name": f"vc-{site.name}",
        "extension_key": "com.vmware.vcHms",
    }


def _replication_server(world: World, site: SimSite) -> dict[str, Any]:
    return {
        "id": replication_server_id(site),
        "name": f"vr-{site.name} (embedded)",
        "hostname": f"vr-{site.name}",
        "uuid": replication_server_uuid(site),
        "replication_count": sum(1 for r in world.replications.values() if r.target_site == site.name),
        "connected": site.up,
        "decommissioned": False,
        "internally_managed": True,
    }


def _paired_vrms(req: SimRequest, vr_id: str) -> SimSite:
    for site in req.world.sites.values():
        if site.vrms_id == vr_id:
            return site
    raise not_found(f"vSphere Replication server {vr_id}")


@ROUTES.get("/pairings/{pairing_id}/vrs")
def vrs(req: SimRequest) -> Reply:
    """ "Get information about vSphere Replication servers that are paired": this one and its peer."""
    sites = [req.world.site(req.site), req.world.site(req.world.other(req.site))]
    return listing(req, [_vrms(req, s) for s in sites])


@ROUTES.get("/pairings/{pairing_id}/vrs/{vr_id}")
def vr(req: SimRequest) -> Reply:
    return entity(_vrms(req, _paired_vrms(req, req.args["vr_id"])))


@ROUTES.get("/pairings/{pairing_id}/vrs/{vr_id}/replication-servers", not_authenticated=DEPENDS)
def vr_replication_servers(req: SimRequest) -> Reply:
    site = _paired_vrms(req, req.args["vr_id"])
    return listing(req, [_replication_server(req.world, site)])


@ROUTES.get("/pairings/{pairing_id}/vrs/{vr_id}/replication-servers/{replication_server_id}", not_authenticated=DEPENDS)
def vr_replication_server(req: SimRequest) -> Reply:
    site = _paired_vrms(req, req.args["vr_id"])
    if req.args["replication_server_id"] != replication_server_id(site):
        raise not_found(f"replication server {req.args['replication_server_id']}")
    return entity(_replication_server(req.world, site))


@ROUTES.get("/replication-servers")
def replication_servers(req: SimRequest) -> Reply:
    """ "Get all registered replication servers": this VR server's."""
    return listing(req, [_replication_server(req.world, req.world.site(req.site))])


@ROUTES.get("/replication-servers/{replication_server_id}")
def replication_server(req: SimRequest) -> Reply:
    site = req.world.site(req.site)
    if req.args["replication_server_id"] != replication_server_id(site):
        raise not_found(f"replication server {req.args['replication_server_id']}")
    return entity(_replication_server(req.world, site))


@ROUTES.get("/pairings/{pairing_id}/vcenters/{vcenter_id}/storage-policies", not_authenticated=DEPENDS)
def storage_policies(req: SimRequest) -> Reply:
    req.world.site_of_vc(req.args["vcenter_id"])
    return listing(
        req,
        [
            {"storage_policy_id": pid, "storage_policy_name": name, "vm_encryption_supported": encryption}
            for pid, (name, encryption) in POLICIES.items()
        ],
    )


@ROUTES.get("/pairings/{pairing_id}/vcenters/{vcenter_id}/vms/{vm_id}/capability", not_authenticated=DEPENDS)
def capability(req: SimRequest) -> Reply:
    """VmCapabilities: what VR can do for the VM; ``vm_validation_status`` ALREADY_CONFIGURED once it is
    replicated ("Replication validation status of the VM"), as the configure call would refuse it."""
    vm = req.world.vm_at(req.args["vcenter_id"], req.args["vm_id"])
    replicated = req.world.replication_of_vm(vm.id) is not None
    return entity(
        {
            "vm_id": vm.id,
            "vm_validation_status": "ALREADY_CONFIGURED" if replicated else "OK",
            "quiescing_supported": True,
            "network_compression_supported": True,
            "mpit_supported": True,
            "lwd_encryption_supported": True,
            "vm_encrypted": False,
            "replication_not_supported_reasons": [],
            "auto_replicate_new_disks_supported": True,
            "min_rpo_mins": 5,
            "reconfigure_vm_disks_supported": True,
        }
    )
