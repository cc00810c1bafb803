"""``status``: what each site holds right now, as values (rendering lives in the CLI)."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from srmctl.adapters.vcenter.connection import VCenterEndpoint, connect
from srmctl.adapters.vcenter.inventory import read_inventory


@dataclass(frozen=True)
class VmStatus:
    name: str
    instance_uuid: str
    moref: str
    power_state: str
    folder: str
    datastores: tuple[str, ...]
    host: str
    placeholder: bool
    replicated: bool


@dataclass(frozen=True)
class SiteStatus:
    site: str
    endpoint: str
    instance_uuid: str
    datacenters: tuple[str, ...]
    vms: tuple[VmStatus, ...]


@dataclass(frozen=True)
class StatusReport:
    sites: tuple[SiteStatus, ...]


def site_status(site: str, endpoint: VCenterEndpoint) -> SiteStatus:
    session = connect(endpoint)
    try:
        inventory = read_inventory(session)
        return SiteStatus(
            site=site,
            endpoint=f"{endpoint.host}:{endpoint.port}",
            instance_uuid=session.instance_uuid,
            datacenters=inventory.datacenters,
            vms=tuple(VmStatus(
                name=vm.name, instance_uuid=vm.instance_uuid, moref=vm.moref, power_state=vm.power_state,
                folder=vm.folder, datastores=vm.datastores, host=vm.host, placeholder=vm.is_placeholder,
                replicated=vm.replication is not None)
                for vm in inventory.vms),
        )
    finally:
        session.close()


def collect_status(endpoints: Mapping[str, VCenterEndpoint]) -> StatusReport:
    """Both sites read in parallel (each is one inventory retrieval)."""
    with ThreadPoolExecutor(max_workers=max(1, len(endpoints))) as pool:
        futures = [pool.submit(site_status, name, ep) for name, ep in endpoints.items()]
        return StatusReport(sites=tuple(f.result() for f in futures))
