"""The edge where endpoints are resolved: a runbook's ``sites:`` or a lab's ``lab.yaml`` (read once per
command) become one :class:`~srmctl.adapters.endpoints.Endpoints` value the engine takes.

Passwords are not read here, only where they come from: the adapters read them when they connect.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from srmctl.adapters.endpoints import EndpointOrigin, Endpoints, Secret, ServiceEndpoint, SiteEndpoints
from srmctl.adapters.tls import TlsPolicy
from srmctl.errors import UsageError

if TYPE_CHECKING:
    from srmctl.lab.config import LabConfig, LabEndpoint
    from srmctl.runbook import Endpoint, Runbook

_KIND = {"vcenter": "vCenter", "srm": "SRM", "vr": "VR"}


def read_lab(lab_dir: Path | None) -> LabConfig | None:
    """The lab's ``lab.yaml``, parsed (the one read of it in a command), or None without ``--lab``."""
    if lab_dir is None:
        return None
    from srmctl.lab.config import load_lab

    return load_lab(lab_dir)


def endpoints_for(runbook: Runbook | None, lab: LabConfig | None) -> Endpoints:
    """The runbook's two sites from the lab (when given) or from the runbook; without a runbook, every
    site of the lab."""
    if lab is not None:
        if runbook is None:
            return lab_endpoints(lab, tuple(lab.sites))
        names = (runbook.source_site_name, runbook.target_site_name)
        missing = [n for n in names if n not in lab.sites]
        if missing:
            raise UsageError(
                f"runbook {runbook.name} names site(s) {', '.join(missing)} that the lab in "
                f"{lab.directory} does not have (lab sites: {', '.join(sorted(lab.sites))})"
            )
        return lab_endpoints(lab, names)
    if runbook is None:
        raise UsageError("give a RUNBOOK or --lab DIR to know the sites' endpoints")
    return runbook_endpoints(runbook)


def lab_endpoints(lab: LabConfig, names: tuple[str, ...]) -> Endpoints:
    sites = {}
    for name in names:
        site = lab.site(name)
        missing = [s for s in ("srm", "vr") if getattr(site, s) is None]
        sites[name] = SiteEndpoints(
            name,
            _lab(name, "vcenter", site.vcenter),
            srm=_lab(name, "srm", site.srm) if site.srm else None,
            vr=_lab(name, "vr", site.vr) if site.vr else None,
            no_dr=f"the lab in {lab.directory} has no {missing[0].upper()} endpoint for {name}" if missing else "",
        )
    return Endpoints(sites, EndpointOrigin("lab", str(Path(lab.directory).resolve())))


def _lab(site: str, service: str, e: LabEndpoint) -> ServiceEndpoint:
    return ServiceEndpoint(
        host=e.host,
        port=e.port,
        user=e.user,
        kind=_KIND[service],
        secret=Secret(where=f"lab {site}.{service}", file=e.password_file, private=False),
        tls=TlsPolicy(thumbprint=e.thumbprint),
    )


def runbook_endpoints(runbook: Runbook) -> Endpoints:
    """The failback's two sites from the runbook's ``sites:``; SRM and VR default to the vCenter's user and
    password source (one SSO domain)."""
    sites = {}
    for name in (runbook.source_site_name, runbook.target_site_name):
        site = runbook.site(name)
        vcenter = _service(name, "vcenter", site.credentials("vcenter"))
        dr: dict[str, ServiceEndpoint] = {}
        no_dr = ""
        services: tuple[Literal["srm", "vr"], ...] = ("srm", "vr")
        for service in services:
            endpoint = site.credentials(service)
            if endpoint.user is None:
                no_dr = no_dr or f"sites.{name}.{service}: no user (and the vCenter's could not be used)"
                continue
            dr[service] = _service(name, service, endpoint)
        sites[name] = SiteEndpoints(
            name, vcenter, srm=dr.get("srm"), vr=dr.get("vr"), no_dr=no_dr, no_dr_error=UsageError
        )
    return Endpoints(sites)


def _service(site: str, service: Literal["vcenter", "srm", "vr"], e: Endpoint) -> ServiceEndpoint:
    assert e.user is not None
    secret = Secret(
        where=f"sites.{site}.{service}",
        env=e.password_env,
        file=str(e.password_file) if e.password_file is not None else None,
    )
    tls = TlsPolicy(
        thumbprint=e.thumbprint,
        ca_file=str(e.ca_file) if e.ca_file else None,
        insecure=e.insecure,
        where=f"sites.{site}.{service}",
    )
    return ServiceEndpoint(host=e.host, port=e.port, user=e.user, secret=secret, tls=tls, kind=_KIND[service])
