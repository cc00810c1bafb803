"""SRM and VR clients for the sites a command talks to, logged in locally and to the paired site.

Endpoints and credentials come from the runbook's ``sites:`` (SRM and VR default to the vCenter's SSO
credentials) or from a lab's ``lab.yaml``; the pairing is the one pairing between the two sites.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from srmctl.adapters.dr import Credentials, SrmClient, VrClient
from srmctl.adapters.tls import TlsPolicy
from srmctl.engine.sites import password_of, tls_of
from srmctl.errors import UsageError
from srmctl.lab.config import load_lab
from srmctl.runbook import Runbook


@dataclass(frozen=True)
class DrEndpoint:
    host: str
    port: int
    credentials: Credentials
    tls: TlsPolicy


@dataclass
class DrSite:
    """One site's SRM and VR, logged in to both sites of the pairing."""

    name: str
    srm: SrmClient
    vr: VrClient
    pairing_id: str
    local_vc_guid: str  # the vCenter this site's SRM/VR belong to
    remote_vc_guid: str

    def close(self) -> None:
        for client in (self.srm, self.vr):
            client.close()


def dr_endpoints(runbook: Runbook | None, lab_dir: Path | None,
                 sites: Sequence[str]) -> dict[str, dict[str, DrEndpoint]]:
    """``{site: {"srm": endpoint, "vr": endpoint}}`` from the lab (when given) or the runbook."""
    result: dict[str, dict[str, DrEndpoint]] = {}
    if lab_dir is not None:
        lab = load_lab(lab_dir)
        for site in sites:
            result[site] = {}
            for service in ("srm", "vr"):
                le = lab.dr_endpoint(site, service)
                result[site][service] = DrEndpoint(le.host, le.port, Credentials(le.user, le.password()),
                                                   TlsPolicy(thumbprint=le.thumbprint))
        return result
    if runbook is None:
        raise UsageError("SRM/VR endpoints need a runbook or --lab DIR")
    for site in sites:
        result[site] = {}
        for service in ("srm", "vr"):
            e = runbook.site(site).credentials(service)  # type: ignore[arg-type]
            if e.user is None:
                raise UsageError(f"sites.{site}.{service}: no user (and the vCenter's could not be used)")
            result[site][service] = DrEndpoint(e.host, e.port, Credentials(e.user, password_of(site, e, service)),
                                               tls_of(e))
    return result


@contextmanager
def dr_sites(runbook: Runbook | None, lab_dir: Path | None, sites: Sequence[str]) -> Iterator[dict[str, DrSite]]:
    """Logged-in SRM and VR clients per site (each also logged in to the remote site of the pairing)."""
    endpoints = dr_endpoints(runbook, lab_dir, sites)
    opened: dict[str, DrSite] = {}
    try:
        for site in sites:
            others = [s for s in sites if s != site]
            srm = SrmClient(endpoints[site]["srm"].host, endpoints[site]["srm"].port,
                            credentials=endpoints[site]["srm"].credentials, tls=endpoints[site]["srm"].tls)
            vr = VrClient(endpoints[site]["vr"].host, endpoints[site]["vr"].port,
                          credentials=endpoints[site]["vr"].credentials, tls=endpoints[site]["vr"].tls)
            pairing = srm.find_pairing()
            for client, service in ((srm, "srm"), (vr, "vr")):
                if others:
                    client.login_remote(pairing.pairing_id, endpoints[others[0]][service].credentials)
            opened[site] = DrSite(site, srm, vr, pairing.pairing_id, str(pairing.local_vc_server.id or ""),
                                  str(pairing.remote_vc_server.id or ""))
        yield opened
    finally:
        for dr in opened.values():
            dr.close()
