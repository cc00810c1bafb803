"""Plan-metadata snapshots against live sites: export, diff, restore (for ``srmctl snapshot`` and checks)."""

from __future__ import annotations

from dataclasses import dataclass

from srmctl.adapters.dr.site import DrSite
from srmctl.adapters.endpoints import Endpoints
from srmctl.adapters.vcenter.inventory import read_inventory
from srmctl.engine.vcenter_sessions import connected
from srmctl.errors import UsageError
from srmctl.metadata.capture import capture
from srmctl.metadata.diff import Change, diff_snapshots, sync_conflict
from srmctl.metadata.mapping import enum_text
from srmctl.metadata.restore import RestorePlan, apply_restore, plan_restore, require_placed
from srmctl.metadata.snapshot import Snapshot


@dataclass(frozen=True)
class Target:
    """Where a plan is read and written: the sites' endpoints, and which site's SRM to ask."""

    endpoints: Endpoints
    site: str
    sites: tuple[str, ...]


def target(endpoints: Endpoints, sites: tuple[str, ...], site: str | None = None) -> Target:
    """``sites`` in order of preference: the first is asked unless ``site`` names another of them."""
    chosen = site or sites[0]
    if chosen not in sites:
        raise UsageError(f"--site {chosen}: not one of {', '.join(sites)}")
    return Target(endpoints, chosen, sites)


def instance_uuids(where: Target) -> dict[str, str]:
    """VM name → instance UUID where exactly one powered-on VM has that name across both sites (the live
    copy); names that are ambiguous are left out rather than guessed."""
    found: dict[str, list[str]] = {}
    with connected(where.endpoints.vcenters(where.sites)) as sessions:
        for session in sessions.values():
            for vm in read_inventory(session).vms:
                if vm.powered_on:
                    found.setdefault(vm.name, []).append(vm.instance_uuid)
    return {name: uuids[0] for name, uuids in found.items() if len(uuids) == 1}


def export(where: Target, plan: str) -> Snapshot:
    uuids = instance_uuids(where)
    with DrSite.opened(where.endpoints, where.sites) as sites:
        dr = sites[where.site]
        return capture(dr.srm, plan, site=dr.site, instance_uuids=uuids, vr=dr.vr)


def diff(where: Target, plan: str, snapshot: Snapshot) -> tuple[Change, ...]:
    with DrSite.opened(where.endpoints, where.sites) as sites:
        dr = sites[where.site]
        live = enum_text(dr.srm.plan_by_name(plan).status)
        return sync_conflict(live) + diff_snapshots(snapshot, capture(dr.srm, plan, site=dr.site, vr=dr.vr))


def restore(where: Target, plan: str, snapshot: Snapshot, *, dry_run: bool) -> RestorePlan:
    with DrSite.opened(where.endpoints, where.sites) as sites:
        dr = sites[where.site]
        planned = plan_restore(dr.srm, plan, snapshot)
        require_placed(planned)  # a dry run says so too: it shows what a restore would do
        if not dry_run:
            apply_restore(dr.srm, planned)
        return planned
