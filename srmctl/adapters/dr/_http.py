"""The base of the SRM and VR clients: the wire (``_transport``) plus pairings and tasks, which both APIs
offer identically."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from srmctl.adapters.dr._tasks import TaskCalls
from srmctl.adapters.dr._values import (
    Credentials,
    DrApiError,
    ProgressCallback,
    TaskTimeout,
    pick_one,
)
from srmctl.adapters.dr.models import Pairing
from srmctl.errors import Ambiguous, NotFound

D = TypeVar("D", bound="DrClient")
K = TypeVar("K")
V = TypeVar("V")

#: GETs :meth:`DrClient.read_each` keeps in flight at once (the APIs list neither a VM's recovery settings nor a
#: replication's disks for many at a time; one after another, a thousand of them cost minutes of round trips).
READS_IN_FLIGHT = 8

__all__ = ["Credentials", "DrApiError", "DrClient", "ProgressCallback", "TaskTimeout", "pick_one"]


class DrClient(TaskCalls):
    """Base for :class:`SrmClient` and :class:`VrClient`."""

    # -- binding ---------------------------------------------------------------------------------

    def bound(self: D, pairing_id: str) -> D:
        """This client bound to a pairing, sharing its connection, session, lock and call counts."""
        clone = copy.copy(self)
        clone.pairing_id = pairing_id
        return clone

    def read_only_view(self: D) -> D:
        """The same client (connection, lock, pairing), with every mutating method refused."""
        clone = copy.copy(self)
        clone.read_only = True
        return clone

    def invalidate(self) -> None:
        """Nothing is cached: state is read afresh by every call."""

    def read_each(self, read: Callable[[K], V], keys: Sequence[K]) -> dict[K, V]:
        """``read(key)`` for every distinct key, up to :data:`READS_IN_FLIGHT` on the wire at once."""
        wanted = list(dict.fromkeys(keys))
        if len(wanted) <= 1:
            return {key: read(key) for key in wanted}
        with ThreadPoolExecutor(max_workers=min(READS_IN_FLIGHT, len(wanted)), thread_name_prefix="dr-reads") as pool:
            return dict(zip(wanted, pool.map(read, wanted), strict=True))

    # -- pairings --------------------------------------------------------------------------------

    def pairings(self) -> list[Pairing]:
        return self.get_list(Pairing, "/pairings")

    def pairing(self) -> Pairing:
        return self.get_model(Pairing, "/pairings/{pairing_id}")

    def find_pairing(self, remote_vc_name: str | None = None) -> Pairing:
        """The pairing with that remote vCenter (by name); without a name, the only pairing there is."""
        pairings = self.pairings()
        if remote_vc_name is None:
            if len(pairings) == 1:
                return pairings[0]
            if not pairings:
                raise NotFound(f"{self.endpoint}: no pairing")
            raise Ambiguous(f"{self.endpoint}: pairing", [p.pairing_id for p in pairings])
        return pick_one(pairings, "pairing with remote vCenter", lambda p: p.remote_vc_server.name, remote_vc_name)
