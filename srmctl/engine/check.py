"""``srmctl check``: is the failback runbook ready to run? Read-only, every problem listed, for cron.

Checks: each endpoint reachable with valid credentials, the SRM pairing healthy, every VM running at
exactly one site, seed disks present at the site the VMs would return to, replication healthy within the
runbook's RPO, the recovery plan present, and the plan-metadata snapshot present, fresh and equal to the
live plan (no drift).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from srmctl.adapters.dr.site import DrSite
from srmctl.adapters.endpoints import Endpoints, ServiceEndpoint
from srmctl.adapters.vcenter.connection import VCenterSession, connect
from srmctl.adapters.vcenter.inventory import Inventory, read_inventory
from srmctl.adapters.vcenter.operations import list_files
from srmctl.engine.selection import selected_vm_names
from srmctl.errors import ConnectionFailed, NotFound, SrmctlError
from srmctl.metadata.capture import capture
from srmctl.metadata.diff import diff_snapshots
from srmctl.metadata.snapshot import read_snapshot
from srmctl.runbook import Runbook
from srmctl.steps.dr_state import plan_not_found

#: A sync running past the RPO (SYNC_/FULL_SYNC_RPO_VIOLATION) is healthy too: the check's RPO bound judges it.
HEALTHY_REPLICATION = {"OK", "SYNC", "FULL_SYNC", "INITIAL_FULL_SYNC", "SYNC_RPO_VIOLATION", "FULL_SYNC_RPO_VIOLATION"}


@dataclass(frozen=True)
class CheckItem:
    check: str  # e.g. "vcenter:new-york", "replication:mail04"
    ok: bool
    detail: str


@dataclass(frozen=True)
class CheckReport:
    runbook: str
    ready: bool
    unreachable: bool  # some endpoint could not be reached or logged in to (exit 5)
    items: tuple[CheckItem, ...]
    seconds: float
    checked_at: str
    snapshot_age_seconds: float | None = None
    rpo_violation_minutes: dict[str, int] = field(default_factory=dict)


class _Collector:
    def __init__(self) -> None:
        self.items: list[CheckItem] = []
        self.unreachable = False

    def add(self, check: str, ok: bool, detail: str) -> bool:
        self.items.append(CheckItem(check, ok, detail))
        return ok

    def attempt(self, check: str, action: Callable[[], str]) -> bool:
        """Run ``action``; its text is the detail on success, a connection error marks the site unreachable."""
        try:
            return self.add(check, True, action())
        except ConnectionFailed as error:
            self.unreachable = True
            return self.add(check, False, error.message)
        except SrmctlError as error:
            return self.add(check, False, error.message)


def run_check(runbook: Runbook, endpoints: Endpoints) -> CheckReport:
    started = time.monotonic()
    out = _Collector()
    sites = (runbook.target_site_name, runbook.source_site_name)
    inventories: dict[str, Inventory] = {}
    sessions: dict[str, VCenterSession] = {}
    vcenters = endpoints.vcenters((runbook.source_site_name, runbook.target_site_name))
    for endpoint in vcenters.values():
        endpoint.secret.reveal()  # an unreadable password is a usage error (exit 2), not a failed check
    try:
        for site, endpoint in vcenters.items():
            out.attempt(f"vcenter:{site}", functools.partial(_login, site, endpoint, sessions, inventories))
        rpo: dict[str, int] = {}
        age: float | None = None
        try:
            with DrSite.opened(endpoints, sites) as dr:
                for site in sites:
                    out.attempt(f"srm:{site}", functools.partial(_pairing, dr[site]))
                plan_found = out.attempt("plan", functools.partial(_plan, runbook, sites[0], dr[sites[0]]))
                names = selected_vm_names(runbook, dr[sites[0]])
                if inventories:
                    _vms(out, names, inventories)
                if runbook.target_site_name in inventories:  # the inventory read may have failed
                    _seeds(
                        out, runbook, names, sessions[runbook.target_site_name], inventories[runbook.target_site_name]
                    )
                rpo = _replication(out, runbook, names, dr)
                age = _snapshot(out, runbook, dr[sites[0]], plan_found)
        except ConnectionFailed as error:
            out.unreachable = True
            out.add("srm/vr", False, error.message)
        except SrmctlError as error:  # an SRM/VR refusal is a failed check, beside the checks already made
            out.add("srm/vr", False, error.message)
    finally:
        for session in sessions.values():
            session.close()
    ready = all(item.ok for item in out.items)
    return CheckReport(
        runbook=runbook.name,
        ready=ready,
        unreachable=out.unreachable,
        items=tuple(out.items),
        seconds=round(time.monotonic() - started, 3),
        checked_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        snapshot_age_seconds=age,
        rpo_violation_minutes=rpo,
    )


def _login(
    site: str, endpoint: ServiceEndpoint, sessions: dict[str, VCenterSession], inventories: dict[str, Inventory]
) -> str:
    sessions[site] = connect(endpoint)
    inventories[site] = read_inventory(sessions[site])
    return f"logged in as {endpoint.user}; {len(inventories[site].vms)} VMs"


def _pairing(dr: DrSite) -> str:
    pairing = dr.srm.pairing()
    remote = pairing.remote_srm_server
    status = str(getattr(remote.server_status, "value", remote.server_status)) if remote else "UNKNOWN"
    if status != "OK":
        raise SrmctlError(f"pairing {pairing.pairing_id}: remote SRM {remote.name if remote else '?'} is {status}")
    return f"pairing {pairing.pairing_id} with {pairing.remote_vc_server.name} healthy; remote session ok"


def _plan(runbook: Runbook, site: str, dr: DrSite) -> str:
    missing = plan_not_found(dr, site, runbook.recovery_plan.name)
    if missing:
        raise NotFound(missing)
    return f"recovery plan {runbook.recovery_plan.name!r} found at {site}"


def _vms(out: _Collector, names: tuple[str, ...], inventories: dict[str, Inventory]) -> None:
    for name in names:
        running = [
            f"{site} ({vm.moref})" for site, inv in inventories.items() for vm in inv.vms_named(name) if vm.powered_on
        ]
        if len(running) == 1:
            out.add(f"vm:{name}", True, f"running at {running[0]}")
        elif not running:
            out.add(f"vm:{name}", False, "not running at any site")
        else:
            out.add(f"vm:{name}", False, f"running at {len(running)} places (split brain): {', '.join(running)}")


def _seeds(
    out: _Collector, runbook: Runbook, names: tuple[str, ...], session: VCenterSession, inventory: Inventory
) -> None:
    """Disks the reverse replication can use as seeds at the site the VMs return to."""
    wanted = {vm.name: vm for vm in runbook.vms or ()}
    for name in names:
        registered = inventory.vms_named(name)
        if registered:
            datastore, folder = registered[0].home
        elif wanted.get(name) and wanted[name].datastore:
            datastore, folder = str(wanted[name].datastore), name
        else:
            out.add(
                f"seeds:{name}",
                False,
                f"no copy of {name} registered at {runbook.target_site_name} and no "
                "datastore in the runbook to look for its disks",
            )
            continue
        disks = [f for f in list_files(session, datastore, folder) if f.name.endswith("-flat.vmdk")]
        out.add(
            f"seeds:{name}",
            bool(disks),
            f"{len(disks)} disk(s) in [{datastore}] {folder}" if disks else f"no disks in [{datastore}] {folder}",
        )


def _replication(out: _Collector, runbook: Runbook, names: tuple[str, ...], dr: dict[str, DrSite]) -> dict[str, int]:
    default = runbook.replication.rpo_minutes
    any_site = next(iter(dr.values()))
    replications = {r.name: r for r in any_site.vr.replications()}
    violations = {}
    for name in names:
        rep = replications.get(name)
        if rep is None:
            out.add(f"replication:{name}", False, "not replicated")
            continue
        violation = int(rep.current_rpo_violation or 0)
        # Each VM's own RPO: a failback keeps it (the runbook's rpo only when it overrides every VM's).
        bound = default if runbook.replication.override and default else int(rep.rpo or default or 0)
        violations[name] = violation
        state = rep.state or "UNKNOWN"
        ok = state in HEALTHY_REPLICATION and violation <= bound
        out.add(
            f"replication:{name}",
            ok,
            f"{rep.source_site_name} → {rep.target_site_name}: {state}, RPO "
            f"{rep.rpo} min, current violation {violation} min (bound {bound} min)",
        )
    return violations


#: How far a snapshot's date may lie ahead of this machine's clock (clocks of two hosts differ a little).
CLOCK_SKEW_SECONDS = 300


def _snapshot(out: _Collector, runbook: Runbook, dr: DrSite, plan_found: bool) -> float | None:
    path = runbook.recovery_plan.metadata
    if path is None:
        out.add("snapshot", False, "no snapshot file configured (recovery_plan.metadata)")
        return None
    if not Path(path).is_file():
        out.add("snapshot", False, f"{path} does not exist: run 'srmctl snapshot export'")
        return None
    snapshot = read_snapshot(Path(path))
    age = (datetime.now(timezone.utc) - snapshot.taken_at).total_seconds()
    limit = runbook.snapshot.max_age
    if age < -CLOCK_SKEW_SECONDS:  # a date in the future proves nothing about freshness
        out.add(
            "snapshot:age",
            False,
            f"dated {-age / 3600:.1f} h in the future: the file was edited or a clock is wrong; export it again",
        )
    else:
        fresh = limit is None or age <= limit.total_seconds()
        out.add("snapshot:age", fresh, f"taken {max(age, 0) / 3600:.1f} h ago" + (f" (limit {limit})" if limit else ""))
    if not plan_found:
        out.add("snapshot:drift", False, "not compared: the recovery plan was not found (see 'plan')")
        return age
    changes = diff_snapshots(snapshot, capture(dr.srm, runbook.recovery_plan.name, site=dr.site))
    out.add(
        "snapshot:drift",
        not changes,
        "live plan equals the snapshot"
        if not changes
        else f"{len(changes)} difference(s): " + "; ".join(str(c) for c in changes[:5]),
    )
    return age
