"""``status``: what each site holds right now, as values (rendering lives in the CLI).

vCenter: VMs per site, and orphans (a powered-off VM registered at one site while a VM of the same name runs
at the other, as a failover leaves them). SRM/VR (when the sites have them): replications with direction,
status, RPO and last sync; protection groups with their VMs' states; recovery plans with direction and groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone

from srmctl.adapters.dr.site import DrSite
from srmctl.adapters.endpoints import Endpoints, ServiceEndpoint
from srmctl.adapters.vcenter.connection import connect
from srmctl.adapters.vcenter.inventory import read_inventory
from srmctl.metadata.mapping import enum_text


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
    orphan: bool = False  # powered off here while a VM of that name runs at the other site (never a placeholder)

    @property
    def kind(self) -> str:
        """ "placeholder" (SRM's stand-in for a VM protected at the other site), "orphan" or "vm"."""
        return "placeholder" if self.placeholder else "orphan" if self.orphan else "vm"


@dataclass(frozen=True)
class SiteStatus:
    site: str
    endpoint: str
    instance_uuid: str
    datacenters: tuple[str, ...]
    vms: tuple[VmStatus, ...]


@dataclass(frozen=True)
class ReplicationRow:
    vm: str
    source: str
    target: str
    status: str
    rpo_minutes: int | None
    current_rpo_violation_minutes: int | None
    last_sync: str | None  # ISO time


@dataclass(frozen=True)
class GroupRow:
    name: str
    protected_site: str
    status: str
    vms: tuple[tuple[str, str], ...]  # (VM name, protection status)


@dataclass(frozen=True)
class PlanRow:
    name: str
    status: str
    protected_site: str
    recovery_site: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class StatusReport:
    sites: tuple[SiteStatus, ...]
    replications: tuple[ReplicationRow, ...] = ()
    groups: tuple[GroupRow, ...] = ()
    plans: tuple[PlanRow, ...] = ()
    dr_available: bool = False

    @property
    def orphans(self) -> tuple[str, ...]:
        return tuple(f"{vm.name} at {site.site}" for site in self.sites for vm in site.vms if vm.orphan)

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(f"{vm.name} at {site.site}" for site in self.sites for vm in site.vms if vm.placeholder)


def site_status(site: str, endpoint: ServiceEndpoint) -> SiteStatus:
    session = connect(endpoint)
    try:
        inventory = read_inventory(session)
        return SiteStatus(
            site=site,
            endpoint=f"{endpoint.host}:{endpoint.port}",
            instance_uuid=session.instance_uuid,
            datacenters=inventory.datacenters,
            vms=tuple(
                VmStatus(
                    name=vm.name,
                    instance_uuid=vm.instance_uuid,
                    moref=vm.moref,
                    power_state=vm.power_state,
                    folder=vm.folder,
                    datastores=vm.datastores,
                    host=vm.host,
                    placeholder=vm.is_placeholder,
                    replicated=vm.replication is not None,
                )
                for vm in inventory.vms
            ),
        )
    finally:
        session.close()


def _mark_orphans(sites: Sequence[SiteStatus]) -> tuple[SiteStatus, ...]:
    running = {(s.site, vm.name) for s in sites for vm in s.vms if vm.power_state == "poweredOn"}
    marked = []
    for s in sites:
        others = {name for site, name in running if site != s.site}
        # SRM's placeholders are powered off and named as the VM running at the other site, by design: they
        # are what SRM recovers into, never stale copies to clean up.
        vms = tuple(
            VmStatus(
                **{**vm.__dict__, "orphan": not vm.placeholder and vm.power_state != "poweredOn" and vm.name in others}
            )
            for vm in s.vms
        )
        marked.append(SiteStatus(s.site, s.endpoint, s.instance_uuid, s.datacenters, vms))
    return tuple(marked)


def _dr_status(
    dr: Mapping[str, DrSite],
) -> tuple[tuple[ReplicationRow, ...], tuple[GroupRow, ...], tuple[PlanRow, ...]]:
    # Every site's SRM shows the groups and plans of the pairing; asking one is enough. Replications are
    # listed per VR server, each for its incoming and outgoing direction: ask one, keyed by id.
    any_site = next(iter(dr.values()))
    # Sites as the runbook (or lab) names them, found by vCenter: SRM and VR name sites as they were installed.
    named = {d.local_vc_guid: name for name, d in dr.items()}

    def site(vc_guid: str | None, srm_name: str | None) -> str:
        return named.get(vc_guid or "", srm_name or "")

    replications = tuple(
        sorted(
            (
                ReplicationRow(
                    vm=r.name or r.vm_id or r.id,
                    source=site(r.source_vc_id, r.source_site_name),
                    target=site(r.target_vc_id, r.target_site_name),
                    status=r.state or "UNKNOWN",
                    rpo_minutes=r.rpo,
                    current_rpo_violation_minutes=r.current_rpo_violation,
                    last_sync=datetime.fromtimestamp(r.last_sync_time / 1000, timezone.utc).isoformat(
                        timespec="seconds"
                    )
                    if r.last_sync_time
                    else None,
                )
                for r in any_site.vr.replications()
            ),
            key=lambda r: (r.vm, r.source),
        )
    )
    groups = tuple(
        GroupRow(
            name=g.name,
            protected_site=site(g.protected_vc_guid, g.protected_site_name),
            status=enum_text(g.status) if g.status else "",
            vms=tuple((vm.name, vm.status or "") for vm in any_site.srm.group_vms(g.id)),
        )
        for g in sorted(any_site.srm.groups(), key=lambda g: g.name)
    )
    plans = tuple(
        PlanRow(
            name=p.name,
            status=enum_text(p.status),
            protected_site=site(p.protected_vc_guid, p.protected_site_name),
            recovery_site=site(p.recovery_vc_guid, p.recovery_site_name),
            groups=tuple(sorted(g.name for g in any_site.srm.plan_groups(p.id))),
        )
        for p in sorted(any_site.srm.plans(), key=lambda p: p.name)
    )
    return replications, groups, plans


def collect_status(endpoints: Endpoints, *, with_dr: bool = False) -> StatusReport:
    """Every site read in parallel (each is one inventory retrieval), plus SRM/VR when ``with_dr``."""
    vcenters = endpoints.vcenters()
    with ThreadPoolExecutor(max_workers=max(1, len(vcenters))) as pool:
        futures = [pool.submit(site_status, name, ep) for name, ep in vcenters.items()]
        sites = _mark_orphans([f.result() for f in futures])
    if not with_dr:
        return StatusReport(sites=sites)
    with DrSite.opened(endpoints, list(vcenters)) as dr:
        replications, groups, plans = _dr_status(dr)
    return StatusReport(sites=sites, replications=replications, groups=groups, plans=plans, dr_available=True)
