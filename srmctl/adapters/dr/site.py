"""One site's SRM and VR as steps and the engine use them: logged in to both sites, bound to their pairing.

Built once per command from the site's :class:`~srmctl.adapters.endpoints.SiteEndpoints` (and the paired
site's, for the remote-site login SRM and VR require before they change anything at both sites). Callers use
the bound clients directly (``dr.srm.groups()``, ``dr.vr.replications(...)``) and never pass pairing ids. The
clients' calls overlap on one pooled connection per API (only logins take turns), and a read-only view (dry
runs, every step's ``plan()``) refuses every call that changes state before it is sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from srmctl.adapters.dr.client import Credentials
from srmctl.adapters.dr.models import Pairing
from srmctl.adapters.dr.srm import SrmClient
from srmctl.adapters.dr.vr import VrClient
from srmctl.adapters.endpoints import Endpoints, ServiceEndpoint, SiteEndpoints
from srmctl.errors import Ambiguous, NotFound

D = TypeVar("D", bound="DrSite")


@dataclass(frozen=True)
class DrPairing:
    """What a site's calls are bound to. SRM and VR pairings are separate objects with their own ids: the
    SRM pairing comes from SRM's ``GET /pairings``, the VR pairing from VR's (the one with the same remote
    vCenter, :func:`find_vr_pairing`)."""

    srm_pairing_id: str
    vr_pairing_id: str
    local_vc_guid: str  # the vCenter this site's SRM/VR belong to
    remote_vc_guid: str


def find_vr_pairing(vr: VrClient, remote_vc_guid: str) -> Pairing:
    """The VR pairing whose remote vCenter is the SRM pairing's remote vCenter (by id: names may differ
    between the APIs). VR operations under the SRM pairing's id answer 404."""
    matches = [p for p in vr.pairings() if str(p.remote_vc_server.id or "") == remote_vc_guid]
    if not matches:
        raise NotFound(f"{vr.endpoint}: no vSphere Replication pairing with remote vCenter {remote_vc_guid}")
    if len(matches) > 1:
        raise Ambiguous(
            f"{vr.endpoint}: vSphere Replication pairing with remote vCenter {remote_vc_guid}",
            [p.pairing_id for p in matches],
        )
    return matches[0]


def _credentials(endpoint: ServiceEndpoint) -> Credentials:
    return Credentials(endpoint.user, endpoint.password)


class DrSite:
    """One site's SRM and VR clients, bound to the site's pairing."""

    def __init__(self, site: str, srm: SrmClient, vr: VrClient, pairing: DrPairing) -> None:
        self.site = site
        self.pairing = pairing
        self.srm = srm if srm.pairing_id == pairing.srm_pairing_id else srm.bound(pairing.srm_pairing_id)
        self.vr = vr if vr.pairing_id == pairing.vr_pairing_id else vr.bound(pairing.vr_pairing_id)
        for client in (self.srm, self.vr):
            client.site = site  # named when a read-only view refuses a change

    @classmethod
    def open(cls: type[D], local: SiteEndpoints, remote: SiteEndpoints | None = None) -> D:
        """Log in to the site's SRM and VR, find their pairing, and log in to the paired site through it."""
        srm_ep, vr_ep = local.dr("srm"), local.dr("vr")
        srm = SrmClient(srm_ep.host, srm_ep.port, credentials=_credentials(srm_ep), tls=srm_ep.tls)
        vr = VrClient(vr_ep.host, vr_ep.port, credentials=_credentials(vr_ep), tls=vr_ep.tls)
        try:
            found = srm.find_pairing()
            remote_vc = str(found.remote_vc_server.id or "")
            vr_pairing = find_vr_pairing(vr, remote_vc)
            pairing = DrPairing(found.pairing_id, vr_pairing.pairing_id, str(found.local_vc_server.id or ""), remote_vc)
            site = cls(local.site, srm, vr, pairing)
            if remote is not None:
                site.srm.login_remote(_credentials(remote.dr("srm")))
                site.vr.login_remote(_credentials(remote.dr("vr")))
        except BaseException:
            srm.close()
            vr.close()
            raise
        return site

    @classmethod
    @contextmanager
    def opened(cls: type[D], endpoints: Endpoints, sites: Sequence[str]) -> Iterator[dict[str, D]]:
        """Each site's clients, logged in to the first other site of ``sites`` as the paired site; all
        closed on exit."""
        opened: dict[str, D] = {}
        try:
            for site in sites:
                others = [s for s in sites if s != site]
                opened[site] = cls.open(endpoints.site(site), endpoints.site(others[0]) if others else None)
            yield opened
        finally:
            for dr in opened.values():
                dr.close()

    def read_only_view(self: D) -> D:
        """The same site, connections and locks, with every call that changes state refused."""
        return type(self)(self.site, self.srm.read_only_view(), self.vr.read_only_view(), self.pairing)

    @property
    def read_only(self) -> bool:
        return self.srm.read_only and self.vr.read_only

    def close(self) -> None:
        for client in (self.srm, self.vr):
            client.close()

    @property
    def local_vc_guid(self) -> str:
        return self.pairing.local_vc_guid

    @property
    def remote_vc_guid(self) -> str:
        return self.pairing.remote_vc_guid

    @property
    def api_calls(self) -> int:
        return sum(self.srm.calls.values()) + sum(self.vr.calls.values())
