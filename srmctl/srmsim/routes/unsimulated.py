"""Documented operations srmsim does not simulate: each answers 400 with the specs' ``ResponseError`` saying so
(issue #21, point 8), a status every one of them documents ("Bad request"), instead of a 404 or 405 the spec
cannot document for a path it lists. srmctl calls none of them; a client that does learns at once that the
simulator, not the product, stops it.

The table is copied by hand from both specs (``~`` abbreviates ``/pairings/{pairing_id}``, ``^``
``/pairings/{pairing_id}/srms/{srm_id}``): tests/srmsim/test_unsimulated.py checks that the operations srmsim
serves and these are together exactly the specs' operations, so neither can drift (the specs are never shipped).
"""

from __future__ import annotations

from srmctl.srmsim.model import SimError
from srmctl.srmsim.web import Reply, RouteTable, SimRequest

_ABBREVIATIONS = {"^": "/pairings/{pairing_id}/srms/{srm_id}", "~": "/pairings/{pairing_id}"}

_TABLE = {
    "srm": """
POST   /pairings
DELETE ~
POST   ~/actions/reconnect
GET    ~/issues
GET    ~/protection-management/groups/{group_id}/datastore-groups
POST   ~/protection-management/groups/{group_id}/datastore-groups
GET    ~/protection-management/groups/{group_id}/datastore-groups/{datastore_group_id}
DELETE ~/protection-management/groups/{group_id}/datastore-groups/{datastore_group_id}
GET    ~/protection-management/groups/{group_id}/issues
GET    ~/protection-management/groups/{group_id}/replication-groups
GET    ~/protection-management/groups/{group_id}/replication-groups/{replication_group_id}
POST   ~/protection-management/groups/{group_id}/vms/{vm_id}/actions/remove-protection
GET    ~/protection-management/groups/{group_id}/vms/{vm_id}/protection-settings
PUT    ~/protection-management/groups/{group_id}/vms/{vm_id}/protection-settings
GET    ~/protection-management/inventory
POST   ~/protection-management/inventory
GET    ~/protection-management/inventory/{folder_id}
DELETE ~/protection-management/inventory/{folder_id}
POST   ~/protection-management/inventory/{folder_id}/actions/move
POST   ~/protection-management/inventory/{folder_id}/actions/rename
GET    ~/protection-management/inventory/{folder_id}/children
GET    ~/recovery-management/inventory
POST   ~/recovery-management/inventory
GET    ~/recovery-management/inventory/{folder_id}
DELETE ~/recovery-management/inventory/{folder_id}
POST   ~/recovery-management/inventory/{folder_id}/actions/move
POST   ~/recovery-management/inventory/{folder_id}/actions/rename
GET    ~/recovery-management/inventory/{folder_id}/children
GET    ~/recovery-management/plans/{plan_id}/issues
GET    ~/recovery-management/plans/{plan_id}/test-networks
GET    ~/srms
GET    ^
GET    ^/inventory-mappings/networks/{mapping_id}/ip-subnet-mapping
PUT    ^/inventory-mappings/networks/{mapping_id}/ip-subnet-mapping
DELETE ^/inventory-mappings/networks/{mapping_id}/ip-subnet-mapping
POST   ^/inventory-mappings/placeholder-datastores/actions/query-suitable-datastores
GET    ^/inventory-mappings/storage-policies
POST   ^/inventory-mappings/storage-policies
GET    ^/inventory-mappings/storage-policies/{mapping_id}
DELETE ^/inventory-mappings/storage-policies/{mapping_id}
GET    ^/inventory-mappings/test-networks
POST   ^/inventory-mappings/test-networks
GET    ^/inventory-mappings/test-networks/{mapping_id}
DELETE ^/inventory-mappings/test-networks/{mapping_id}
GET    ^/issues
GET    ^/replication-management/abr/array-managers
POST   ^/replication-management/abr/array-managers
GET    ^/replication-management/abr/array-managers/{array_manager_id}
DELETE ^/replication-management/abr/array-managers/{array_manager_id}
POST   ^/replication-management/abr/array-managers/{array_manager_id}/actions/discover-array-pairs
GET    ^/replication-management/abr/array-pairs
POST   ^/replication-management/abr/array-pairs
GET    ^/replication-management/abr/array-pairs/{array_pair_id}
DELETE ^/replication-management/abr/array-pairs/{array_pair_id}
POST   ^/replication-management/abr/array-pairs/{array_pair_id}/actions/discover-storage-devices
POST   ^/replication-management/abr/array-pairs/{array_pair_id}/actions/retrieve-unassigned-datastore-groups
GET    ^/replication-management/abr/array-pairs/{array_pair_id}/storage-devices
GET    ^/replication-management/abr/storage-adapters
GET    ^/replication-management/abr/storage-adapters/{storage_adapter_id}
GET    ^/replication-management/abr/storage-adapters/{storage_adapter_id}/connection-params
GET    ^/replication-management/vvol/fault-domains
GET    ^/replication-management/vvol/fault-domains/{domain_id}
GET    ^/replication-management/vvol/fault-domains/{domain_id}/replication-groups
GET    ^/replication-management/vvol/fault-domains/{domain_id}/replication-groups/{replication_group_id}
GET    ~/vcenters/{vcenter_id}
GET    ~/vcenters/{vcenter_id}/inventory/compute
GET    ~/vcenters/{vcenter_id}/inventory/compute/{compute_id}
GET    ~/vcenters/{vcenter_id}/inventory/compute/{compute_id}/browser
GET    ~/vcenters/{vcenter_id}/inventory/datastores
GET    ~/vcenters/{vcenter_id}/inventory/datastores/{datastore_id}
GET    ~/vcenters/{vcenter_id}/inventory/network
GET    ~/vcenters/{vcenter_id}/inventory/network/{network_id}
GET    ~/vcenters/{vcenter_id}/inventory/vm-folder
GET    ~/vcenters/{vcenter_id}/inventory/vm-folder/{vm_folder_id}
GET    ~/vcenters/{vcenter_id}/storage-policies
GET    ~/vcenters/{vcenter_id}/storage-policies/{storage_policy_id}
""",
    "vr": """
POST   /pairings
DELETE ~
POST   ~/actions/reconnect
GET    ~/issues
GET    ~/replications/count
GET    ~/replications/issues
POST   ~/vcenters/{vcenter_id}/storage-policies/{storage_policy_id}/actions/check-compliance
POST   ~/vrs/{vr_id}/replication-servers
DELETE ~/vrs/{vr_id}/replication-servers/{replication_server_id}
POST   ~/vrs/{vr_id}/replication-servers/{replication_server_id}/actions/reconnect
POST   /replication-servers
DELETE /replication-servers/{replication_server_id}
POST   /replication-servers/{replication_server_id}/actions/reconnect
""",
}


def refuse(req: SimRequest) -> Reply:
    raise SimError(
        400, "NOT_SIMULATED", f"{req.method} {req.path} is documented but not simulated by srmsim (SRM/VR simulator)"
    )


def _table(text: str) -> RouteTable:
    routes = RouteTable()
    for line in text.strip().splitlines():
        method, path = line.split()
        for short, full in _ABBREVIATIONS.items():
            path = path.replace(short, full) if path.startswith(short) else path
        routes.route(method, path)(refuse)
    return routes


ROUTES = {api: _table(text) for api, text in _TABLE.items()}
