"""Each site's SRM and VR server has its own ids: the id layer at the server boundary.

A real site pair is two SRM servers and two VR servers, each with its own database. srmsim keeps one world
(the two databases kept in step over the pairing, as the product keeps them), and this module gives every
object the id *the server answering* knows it by, and refuses the ids only the other server knows.

- **Form.** The vendor's published REST example configuration (site-recovery-manager-rest-api-examples,
  ``dr-rest-api-examples.properties``) has ``plan.id=DrRecoveryRecoveryPlan:<uuid>:<srm-guid>`` beside
  ``plan.location=DrFolder:DrRecoveryRootFolder:<srm-guid>``: three parts, the last the serving SRM server's
  GUID (its example code splits ids into exactly three parts). Protection groups take the same form
  (``DrReplicationVmProtectionGroup:<uuid>:<srm-guid>``), and so do the folders they live in.
- **Peers.** SRM's SOAP API has ``RecoveryPlanGetPeer`` and ``ProtectionGroup.GetPeer`` (SRM API reference,
  ``drextapi.RecoveryPlan``, ``drextapi.ProtectionGroup``): each server holds its own object, linked to a
  peer at the other server. So the same plan has a different uuid at each server, not only another suffix.
- **VR.** The VR spec's only example of a VR object id, ``HmsRemoteHbrServer:HBRSRV-<uuid>:<guid>``
  (``ConfigureReplicationSpec.target_replication_server_id``), ends in a server GUID; the stricter reading
  gives a replication the VR form ``HmsGroup:GID-<uuid>:<vrms-guid>`` at each VR server, the GID being the
  replication group's (the source VM's ``hbr_filter.gid``), the last part the serving VR server's GUID.
- **Refusal.** An id the answering server does not hold (the peer's, or srmsim's internal one) is not found:
  in a URL, 404 ("Not Found - server cannot find the requested in URL resource", which the specs declare
  without a body); inside a request body, 400 with a ``ResponseError`` ("Bad request - the server cannot
  understand the request due to invalid syntax or invalid request body content").

Inside srmsim (the world, the operation modules, ``/srmsim/*``) objects keep one internal id each
(``DrRecoveryRecoveryPlan:<uuid>``, two parts, never accepted by an API); :func:`inbound` and
:func:`outbound` translate at the API boundary only.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from srmctl.srmsim.model import SimError, not_found

if TYPE_CHECKING:
    from srmctl.srmsim.web import SimRequest
    from srmctl.srmsim.world import World

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_SRM_KINDS = ("DrReplicationVmProtectionGroup", "DrRecoveryRecoveryPlan")
# srmsim's internal ids, as the operation modules make them (groups.py, plans.py, replication.py), and the
# root folders rendered without a server.
_INTERNAL = re.compile(
    rf"(?<![\w:-])(?:(?P<kind>{'|'.join(_SRM_KINDS)}):(?P<uuid>{_UUID})|GID-(?P<gid>{_UUID})"
    r"|DrFolder:(?P<folder>DrReplicationRootFolder|DrRecoveryRootFolder))(?![\w:-])"
)
# What a client may send: any id of these kinds, in any form (an internal or a peer's id is refused).
_CLAIMED = re.compile(rf"^(?:{'|'.join(_SRM_KINDS)}|HmsGroup|GID-{_UUID})")
_PATH_ARGS = ("group_id", "plan_id", "replication_id")


def server_guid(world: World, site: str, api: str) -> str:
    """The GUID of the server that answers: the site's SRM server or its VR server."""
    record = world.site(site)
    return record.vrms_id if api == "vr" else record.srm_id


def _peer_uuid(guid: str, internal: str) -> str:
    """The uuid this server gives the object: each server its own (the peers' ids differ)."""
    return str(uuid.uuid5(uuid.UUID(guid), internal))


def external(world: World, site: str, api: str, internal: str) -> str:
    """The id the site's server (``api``) knows an internal id by; other text is returned unchanged."""
    return _INTERNAL.sub(lambda match: _render(world, site, api, match), internal)


def _render(world: World, site: str, api: str, match: re.Match[str]) -> str:
    record = world.site(site)
    if match["folder"]:
        return f"DrFolder:{match['folder']}:{record.srm_id}"
    if match["gid"]:
        # The group id (GID) is VR's footprint on the source VM (``hbr_filter.gid``), which both VR servers
        # share; the server part tells them apart.
        return f"HmsGroup:GID-{match['gid']}:{record.vrms_id}"
    return f"{match['kind']}:{_peer_uuid(record.srm_id, match['uuid'])}:{record.srm_id}"


def resolve(world: World, site: str, api: str, claimed: str) -> str | None:
    """The internal id of an id this server gave out, or None (the peer's id, an internal id, a stranger)."""
    guid = server_guid(world, site, api)
    if not claimed.endswith(f":{guid}"):
        return None
    known = world.peer_ids.setdefault((site, api), {})
    internal = known.get(claimed)
    if internal is None or not _exists(world, api, internal):
        # Objects created since the last look: index them all at once (a lookup per object would make a
        # call naming 1,000 replications quadratic; docs/architecture.md, section 7).
        known.clear()
        known.update({external(world, site, api, i): i for i in _internal_ids(world, api, claimed)})
        internal = known.get(claimed)
    return internal


def _exists(world: World, api: str, internal: str) -> bool:
    return internal in (world.replications if api == "vr" else world.groups if "Group" in internal else world.plans)


def _internal_ids(world: World, api: str, claimed: str) -> list[str]:
    if api == "vr":
        return list(world.replications) if claimed.startswith("HmsGroup:GID-") else []
    if claimed.startswith("DrReplicationVmProtectionGroup:"):
        return list(world.groups)
    if claimed.startswith("DrRecoveryRecoveryPlan:"):
        return list(world.plans)
    return []


def inbound(req: SimRequest) -> SimRequest:
    """The request with the answering server's ids replaced by internal ones: an unknown id in the URL is
    404, one in the body 400; a filter value naming an unknown id matches nothing."""
    world, site, api = req.world, req.site, req.api
    args = dict(req.args)
    for key in _PATH_ARGS:
        if key in args:
            found = resolve(world, site, api, args[key])
            if found is None:
                raise not_found(f"{key.removesuffix('_id').replace('_', ' ')} {args[key]}")
            args[key] = found
    query = dict(req.query)
    if "filter" in query:
        query["filter"] = [_filter_value(world, site, api, value) for value in query["filter"]]
    return replace(req, args=args, query=query, body=_body(world, site, api, req.body))


def _filter_value(world: World, site: str, api: str, value: str) -> str:
    if not _CLAIMED.match(value):
        return value
    return resolve(world, site, api, value) or f"(unknown id {value})"


def _body(world: World, site: str, api: str, node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _body(world, site, api, value) for key, value in node.items()}
    if isinstance(node, list):
        return [_body(world, site, api, value) for value in node]
    if isinstance(node, str) and _CLAIMED.match(node):
        found = resolve(world, site, api, node)
        if found is None:
            raise SimError(400, "INVALID_ID", f"{node} is not an object of this server")
        return found
    return node


def outbound(world: World, site: str, api: str, node: Any) -> Any:
    """A reply body with every internal id replaced by the answering server's id."""
    if isinstance(node, dict):
        return {key: outbound(world, site, api, value) for key, value in node.items()}
    if isinstance(node, list):
        return [outbound(world, site, api, value) for value in node]
    if isinstance(node, str) and ("Dr" in node or "GID-" in node):
        return external(world, site, api, node)
    return node


def error(world: World, site: str, api: str, failure: SimError) -> SimError:
    """The same refusal, its message naming the answering server's ids."""
    message = external(world, site, api, failure.message)
    if message == failure.message:
        return failure
    return SimError(failure.status, failure.code, message)
