"""Plan-metadata snapshots against live sites: export, diff, restore (for ``srmctl snapshot`` and checks)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from srmctl.adapters.vcenter.inventory import read_inventory
from srmctl.engine.dr import DrSite, dr_sites
from srmctl.engine.sites import connected, runbook_endpoints
from srmctl.errors import UsageError
from srmctl.lab.config import load_lab
from srmctl.metadata.capture import capture
from srmctl.metadata.diff import Change, diff_snapshots
from srmctl.metadata.restore import RestorePlan, apply_restore, plan_restore
from srmctl.metadata.snapshot import Snapshot
from srmctl.runbook import Runbook


@dataclass(frozen=True)
class Target:
    """Where a plan is read and written: the runbook's sites or a lab's, and which site's SRM to ask."""

    runbook: Runbook | None
    lab_dir: Path | None
    site: str
    sites: tuple[str, ...]


def target(runbook: Runbook | None, lab_dir: Path | None, site: str | None = None) -> Target:
    if runbook is not None:
        sites = (runbook.target_site_name, runbook.source_site_name)
    elif lab_dir is not None:
        lab = load_lab(lab_dir)
        sites = (lab.protected_site, lab.recovery_site)
    else:
        raise UsageError("give a RUNBOOK or --lab DIR to know the sites' endpoints")
    chosen = site or sites[0]
    if chosen not in sites:
        raise UsageError(f"--site {chosen}: not one of {', '.join(sites)}")
    return Target(runbook, lab_dir, chosen, sites)


def instance_uuids(where: Target) -> dict[str, str]:
    """VM name → instance UUID where exactly one powered-on VM has that name across both sites (the live
    copy); names that are ambiguous are left out rather than guessed."""
    if where.runbook is not None:
        endpoints = runbook_endpoints(where.runbook, where.lab_dir)
    else:
        assert where.lab_dir is not None
        lab = load_lab(where.lab_dir)
        endpoints = {name: lab.vcenter_endpoint(name) for name in where.sites}
    found: dict[str, list[str]] = {}
    with connected(endpoints) as sessions:
        for session in sessions.values():
            for vm in read_inventory(session).vms:
                if vm.powered_on:
                    found.setdefault(vm.name, []).append(vm.instance_uuid)
    return {name: uuids[0] for name, uuids in found.items() if len(uuids) == 1}


def export(where: Target, plan: str) -> Snapshot:
    uuids = instance_uuids(where)
    with dr_sites(where.runbook, where.lab_dir, where.sites) as sites:
        dr = sites[where.site]
        return capture(dr.srm, dr.pairing_id, plan, site=where.site, instance_uuids=uuids)


def diff(where: Target, plan: str, snapshot: Snapshot) -> tuple[Change, ...]:
    with dr_sites(where.runbook, where.lab_dir, where.sites) as sites:
        dr = sites[where.site]
        return diff_snapshots(snapshot, capture(dr.srm, dr.pairing_id, plan, site=where.site))


def restore(where: Target, plan: str, snapshot: Snapshot, *, dry_run: bool) -> RestorePlan:
    with dr_sites(where.runbook, where.lab_dir, where.sites) as sites:
        dr: DrSite = sites[where.site]
        planned = plan_restore(dr.srm, dr.pairing_id, plan, snapshot)
        if not dry_run:
            apply_restore(dr.srm, dr.pairing_id, planned)
        return planned

