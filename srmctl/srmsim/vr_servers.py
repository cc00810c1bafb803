"""vSphere Replication's servers and storage policies as srmsim has them: each site's VR appliance holds one
embedded replication server (VR admin guide, "vSphere Replication Appliance": the appliance contains an
embedded vSphere Replication server), and every vCenter the default storage policies. Served by
:mod:`srmctl.srmsim.routes.vr_servers`; a configure names them (``target_replication_server_id``,
``destination_storage_policy_id``)."""

from __future__ import annotations

import uuid

from srmctl.srmsim.model import SimSite

#: The storage policies every vCenter has (vCenter's defaults, as govmomi's PBM simulator lists them): id ->
#: (name, whether it encrypts).
POLICIES = {
    "aa6d5a82-1c88-45da-85d3-3d74b91a5bad": ("vSAN Default Storage Policy", False),
    "4d5f673c-536f-11e6-beb8-9e71128cae77": ("VM Encryption Policy", True),
}


def replication_server_uuid(site: SimSite) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, site.vrms_id))


def replication_server_id(site: SimSite) -> str:
    """The id of a site's embedded replication server: stable per VR server."""
    return f"ReplicationServer:{replication_server_uuid(site)}"
