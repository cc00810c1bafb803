"""SRM REST v2, inventory mappings (spec tag ``inventory-mappings``): the folder, resource and network
mappings and the placeholder datastores of one SRM server of the pairing. Part of
:class:`~srmctl.adapters.dr.srm.SrmClient`.

Every path takes an ``srm_id`` (``local_srm_server.id`` or ``remote_srm_server.id`` of the pairing); the
methods default to the client's own SRM, which is what says where this site's protected VMs get their
placeholders ("Get currently configured folder mappings for an SRM in a given pairing")."""

from __future__ import annotations

from dataclasses import dataclass

from srmctl.adapters.dr.client import DrClient
from srmctl.adapters.dr.models import InventoryMapping, PlaceholderDatastore
from srmctl.errors import NotFound

_MAPPINGS = "/pairings/{pairing_id}/srms/{srm_id}/inventory-mappings"


@dataclass(frozen=True)
class InventoryMappings:
    """One SRM's mappings of its own vCenter's objects to the paired vCenter's, and its placeholder
    datastores (at its own site: where the paired site's protected VMs get their placeholders)."""

    srm_id: str
    folders: tuple[InventoryMapping, ...]
    resources: tuple[InventoryMapping, ...]
    networks: tuple[InventoryMapping, ...]
    placeholder_datastores: tuple[PlaceholderDatastore, ...]

    def target(self, kind: str, source_moref: str) -> InventoryMapping | None:
        """The mapping of one object (``kind``: folders | resources | networks), None when unmapped."""
        mappings: tuple[InventoryMapping, ...] = getattr(self, kind)
        return next((m for m in mappings if m.source_moref == source_moref), None)


class MappingCalls(DrClient):
    """The inventory-mapping calls of the SRM client."""

    def local_srm_id(self) -> str:
        server = self.pairing().local_srm_server
        if server is None or not server.id:
            raise NotFound(f"{self.endpoint}: the pairing names no local SRM server")
        return str(server.id)

    def folder_mappings(self, srm_id: str | None = None) -> list[InventoryMapping]:
        return self._mappings("folders", srm_id)

    def resource_mappings(self, srm_id: str | None = None) -> list[InventoryMapping]:
        return self._mappings("resources", srm_id)

    def network_mappings(self, srm_id: str | None = None) -> list[InventoryMapping]:
        return self._mappings("networks", srm_id)

    def placeholder_datastores(self, srm_id: str | None = None) -> list[PlaceholderDatastore]:
        return self.get_list(
            PlaceholderDatastore, _MAPPINGS + "/placeholder-datastores", srm_id=srm_id or self.local_srm_id()
        )

    def inventory_mappings(self, srm_id: str | None = None) -> InventoryMappings:
        """All of one SRM's mappings and placeholder datastores (this client's own SRM by default)."""
        srm_id = srm_id or self.local_srm_id()
        return InventoryMappings(
            srm_id,
            tuple(self.folder_mappings(srm_id)),
            tuple(self.resource_mappings(srm_id)),
            tuple(self.network_mappings(srm_id)),
            tuple(self.placeholder_datastores(srm_id)),
        )

    def _mappings(self, kind: str, srm_id: str | None) -> list[InventoryMapping]:
        return self.get_list(InventoryMapping, _MAPPINGS + "/" + kind, srm_id=srm_id or self.local_srm_id())
