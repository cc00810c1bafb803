"""The vCenter facade steps use, with a read-only variant that makes dry runs safe by construction.

Steps never touch a pyvmomi session directly: they get a :class:`VCenterOps` per site (and, for SRM/VR, a
:class:`~srmctl.adapters.dr.site.DrSite` whose bound clients are guarded the same way). Every mutating method
is marked with :func:`~srmctl.adapters.guard.mutating`, which refuses to run on a read-only facade (dry runs
and every ``plan()``) and drops any cached observation after the change, so the next observation is fresh.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from srmctl.adapters.guard import ReadOnlyViolation, generation, is_mutating, mutating
from srmctl.adapters.vcenter import operations
from srmctl.adapters.vcenter.connection import VCenterSession
from srmctl.adapters.vcenter.inventory import Inventory, read_inventory
from srmctl.adapters.vcenter.operations import DatastoreFile, UnregisteredVm

__all__ = ["ReadOnlyViolation", "VCenterOps", "is_mutating", "mutating"]


class _InventoryCache:
    """One inventory per site, shared by a facade and its read-only view; thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value: Inventory | None = None
        self.generation = -1  # the change generation the value was read at (its read started)


class VCenterOps:
    """What steps may do with one site's vCenter."""

    kind = "vCenter"

    def __init__(
        self, session: VCenterSession, site: str, *, read_only: bool = False, cache: _InventoryCache | None = None
    ) -> None:
        self.session = session
        self.site = site
        self.read_only = read_only
        self._cache = cache or _InventoryCache()

    def read_only_view(self) -> VCenterOps:
        """The same site and cache, with every mutating method refused."""
        return VCenterOps(self.session, self.site, read_only=True, cache=self._cache)

    # --- reads ---------------------------------------------------------------------------------------------

    def inventory(self) -> Inventory:
        """The site's inventory, read once (one PropertyCollector retrieval) until the next change."""
        with self._cache.lock:
            if self._cache.value is None:
                self._cache.generation = generation()
                self._cache.value = read_inventory(self.session)
            return self._cache.value

    def invalidate(self) -> None:
        with self._cache.lock:
            self._cache.value = None

    def invalidate_if_changed(self) -> None:
        """Drop the inventory when this process changed anything (anywhere) since it was read: what the
        executor does between steps, so a step whose predecessor changed nothing does not read it again."""
        with self._cache.lock:
            if self._cache.generation != generation():
                self._cache.value = None

    def list_files(self, datastore: str, folder: str) -> list[DatastoreFile]:
        return operations.list_files(
            self.session, datastore, folder, datastore_moref=self.inventory().datastore(datastore).moref
        )

    def list_files_many(self, folders: Sequence[tuple[str, str]], *, limit: int) -> list[list[DatastoreFile]]:
        """:meth:`list_files` of many ``(datastore, folder)`` at once: at most ``limit`` searches in flight,
        awaited together (see docs/architecture.md, "Concurrency and batching")."""
        inventory = self.inventory()
        return operations.list_files_many(
            self.session, [(ds, folder, inventory.datastore(ds).moref) for ds, folder in folders], limit=limit
        )

    def vm_states(self, morefs: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Name, power state, instance UUID and .vmx path of many VMs, fresh, in one retrieval (a VM that is
        gone is left out): what :meth:`unregister` checks, read once for a whole step."""
        return operations.vms_properties(self.session, morefs)

    def marker(self, field: str) -> str | None:
        """The value of custom attribute ``field`` on the site's datacenter, None when unset."""
        return operations.get_datacenter_attribute(self.session, field)

    @property
    def api_calls(self) -> int:
        return sum(self.session.calls.values())

    # --- changes -------------------------------------------------------------------------------------------

    @mutating
    def unregister(
        self,
        moref: str,
        *,
        allow_powered_on: bool = False,
        files: Sequence[DatastoreFile] | None = None,
        state: dict[str, Any] | None = None,
    ) -> UnregisteredVm:
        """Unregister (never destroy) a VM; a powered-on VM only with ``allow_powered_on``. ``state``: the
        VM's entry of :meth:`vm_states`, read for the whole step."""
        return operations.unregister(self.session, moref, allow_powered_on=allow_powered_on, files=files, props=state)

    @mutating
    def power_off_many(self, morefs: Sequence[str], *, limit: int) -> None:
        """Power off many VMs, at most ``limit`` tasks in flight, awaited together."""
        operations.power_off_many(self.session, morefs, limit=limit)

    @mutating
    def set_marker(self, field: str, value: str) -> None:
        """Set custom attribute ``field`` on the site's datacenter ("" clears it)."""
        operations.set_datacenter_attribute(self.session, field, value)
