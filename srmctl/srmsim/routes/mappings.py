"""SRM inventory mappings (spec tag ``inventory-mappings``): folder, resource and network mappings and
placeholder datastores of one SRM server of the pairing (``srm_id``: ``local_srm_server.id`` or
``remote_srm_server.id`` of ``GET /pairings``). Every mapping operation's
``x-dr-remote-site-connectivity-contract`` is ERROR for both a missing remote login and a down remote site;
the placeholder-datastore reads DEPEND_ON_PROVIDED_PARAMS: they need the remote site only for its SRM."""

from __future__ import annotations

from srmctl.srmsim import bodies, mappings
from srmctl.srmsim.model import SimError
from srmctl.srmsim.remote import DEPENDS, ERROR
from srmctl.srmsim.web import Reply, RouteTable, SimRequest, entity, listing, no_content, task_reply

ROUTES = RouteTable("/pairings/{pairing_id}/srms/{srm_id}/inventory-mappings")


def _both_up(req: SimRequest) -> None:
    req.world.require_up(req.world.other(req.site))


def _remote_srm(req: SimRequest) -> None:
    """The placeholder-datastore reads: the paired SRM's need its site up (srmsim.remote checks the login)."""
    if req.world.site_of_srm(req.args["srm_id"]).name != req.site:
        _both_up(req)


_BODIES: dict[str, bodies.Schema] = {
    "folders": bodies.FolderMappingsSpecBody,
    "resources": bodies.ResourceMappingsSpecBody,
    "networks": bodies.NetworkMappingsSpecBody,
}


def _family(kind: str) -> None:
    """list (GET), create (POST, 204), read and delete (204) of one mapping kind."""

    @ROUTES.get(f"/{kind}", not_authenticated=ERROR, server_down=ERROR)
    def list_mappings(req: SimRequest) -> Reply:
        _both_up(req)
        site = req.world.site_of_srm(req.args["srm_id"]).name
        return listing(req, [mappings.render(req.world, m) for m in mappings.of_site(req.world, site, kind)])

    @ROUTES.post(f"/{kind}", body=_BODIES[kind], not_authenticated=ERROR, server_down=ERROR)
    def create_mapping(req: SimRequest) -> Reply:
        _both_up(req)
        mappings.create(req.world, req.args["srm_id"], kind, req.body)
        return no_content()

    @ROUTES.get(f"/{kind}/{{mapping_id}}", not_authenticated=ERROR, server_down=ERROR)
    def get_mapping(req: SimRequest) -> Reply:
        _both_up(req)
        return entity(
            mappings.render(req.world, mappings.get(req.world, req.args["srm_id"], kind, req.args["mapping_id"]))
        )

    @ROUTES.delete(f"/{kind}/{{mapping_id}}", not_authenticated=ERROR, server_down=ERROR)
    def delete_mapping(req: SimRequest) -> Reply:
        _both_up(req)
        mappings.delete(req.world, req.args["srm_id"], kind, req.args["mapping_id"])
        return no_content()


for _kind in mappings.KINDS:
    _family(_kind)


@ROUTES.get("/placeholder-datastores", not_authenticated=DEPENDS)
def list_placeholder_datastores(req: SimRequest) -> Reply:
    _remote_srm(req)
    site, configured = mappings.placeholder_datastores(req.world, req.args["srm_id"])
    return listing(req, [mappings.render_datastore(site, d) for d in configured])


@ROUTES.post(
    "/placeholder-datastores", body=bodies.AddPlaceholderDatastoreSpecBody, not_authenticated=ERROR, server_down=ERROR
)
def add_placeholder_datastores(req: SimRequest) -> Reply:
    _both_up(req)
    return task_reply(mappings.add_placeholder_datastores(req.world, req.args["srm_id"], req.body))


@ROUTES.get("/placeholder-datastores/{datastore_id}", not_authenticated=DEPENDS)
def get_placeholder_datastore(req: SimRequest) -> Reply:
    _remote_srm(req)
    site, configured = mappings.placeholder_datastores(req.world, req.args["srm_id"])
    if req.args["datastore_id"] not in configured:
        raise SimError(404, "NOT_FOUND", f"placeholder datastore {req.args['datastore_id']} not found")
    return entity(mappings.render_datastore(site, req.args["datastore_id"]))


@ROUTES.delete("/placeholder-datastores/{datastore_id}", not_authenticated=ERROR, server_down=ERROR)
def delete_placeholder_datastore(req: SimRequest) -> Reply:
    _both_up(req)
    return task_reply(mappings.remove_placeholder_datastore(req.world, req.args["srm_id"], req.args["datastore_id"]))
