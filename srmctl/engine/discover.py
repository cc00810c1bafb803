"""``srmctl init``: a live recovery plan → what a runbook and a metadata snapshot are written from.

Everything here reads: the SRM and VR clients are read-only views (a mutating call would be refused before any
request) and vCenter is read with one inventory retrieval per site. Lookups never guess: a plan name that
matches nothing lists the plans there, one that matches several lists the candidates. The values returned are
plain and frozen; ``srmctl.engine.init_runbook`` turns them into a runbook draft that says where each value came
from (docs/architecture.md, "srmctl init: a runbook from the live plan").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from srmctl.adapters.dr.models import RecoveryPlan, Replication
from srmctl.adapters.dr.site import DrSite
from srmctl.adapters.endpoints import Endpoints
from srmctl.adapters.vcenter.inventory import Inventory, read_inventory
from srmctl.engine.vcenter_sessions import connected
from srmctl.errors import Ambiguous, NotFound, UsageError
from srmctl.metadata.capture import capture
from srmctl.metadata.mapping import enum_text
from srmctl.metadata.snapshot import Snapshot

#: Plan states after which the VMs run at the recovery site: the failback's starting points.
_DISASTER = ("DISASTER_RECOVERY_COMPLETE", "RECOVERY_SPLIT_BRAIN")
_PLANNED = ("RECOVERY_COMPLETE",)


@dataclass(frozen=True)
class VmReplication:
    """A VM's replication in the plan's direction, as VR reports it."""

    rpo_minutes: int | None
    quiesce: bool
    compression: bool
    mpit: str  # "" when off, else e.g. "3 instances per day for 5 days"
    status: str
    target_datastores: tuple[str, ...]  # where its replica disks are, at the recovery site


@dataclass(frozen=True)
class DiscoveredVm:
    name: str
    group: str
    running: tuple[str, ...]  # the sites where a copy is powered on
    home_datastores: tuple[str, ...]  # datastores of its copy at the plan's protected site (the seeds)
    home_copy_powered_on: bool
    instance_uuid: str | None  # set only when the name alone is not unique at a site
    replication: VmReplication | None


@dataclass(frozen=True)
class DiscoveredGroup:
    name: str
    vms: tuple[str, ...]


@dataclass(frozen=True)
class Discovery:
    """A recovery plan as it is live: direction (by the command's site names), groups, VMs, replication and
    the metadata snapshot."""

    plan: str
    plan_id: str
    status: str
    asked: str  # the site whose SRM was asked
    home: str  # the plan's protected site: where a failback brings the VMs (failback.to)
    away: str  # the plan's recovery site (failback.from)
    groups: tuple[DiscoveredGroup, ...]
    vms: tuple[DiscoveredVm, ...]
    snapshot: Snapshot

    @property
    def prompts(self) -> tuple[str, ...]:
        """Names of the plan's prompt steps (per VM and plan-level), each once, in a stable order."""
        names = [
            c.name
            for vm in self.snapshot.vms.values()
            for c in (*vm.pre_power_on, *vm.post_power_on)
            if c.type == "PROMPT"
        ]
        names += [s.name for steps in self.snapshot.steps.values() for s in steps if s.type == "PROMPT"]
        return tuple(sorted(set(names)))

    @property
    def custom_steps(self) -> int:
        return sum(len(steps) for steps in self.snapshot.steps.values())


def find_plan(plans: Sequence[RecoveryPlan], name: str, site: str) -> RecoveryPlan:
    """The one plan named ``name``; NotFound listing the plans there, Ambiguous listing the candidates."""
    matches = [p for p in plans if p.name == name]
    if not matches:
        there = ", ".join(repr(p.name) for p in sorted(plans, key=lambda p: p.name)) or "none"
        raise NotFound(f"recovery plan {name!r} not found at {site} (--plan); plans there: {there}")
    if len(matches) > 1:
        raise Ambiguous(
            f"recovery plan {name!r} at {site} (--plan)",
            [f"{p.id} ({p.location or 'no folder'}, {enum_text(p.status)})" for p in matches],
        )
    return matches[0]


def discover(endpoints: Endpoints, sites: tuple[str, str], plan_name: str) -> Discovery:
    """Read ``plan_name`` from the first of ``sites`` (logged in to the other as its pair) and both vCenters."""
    with connected(endpoints.vcenters(sites)) as sessions:
        inventories = {site: read_inventory(session) for site, session in sessions.items()}
    with DrSite.opened(endpoints, sites) as opened:
        dr = {site: d.read_only_view() for site, d in opened.items()}
        asked = dr[sites[0]]
        plan = find_plan(asked.srm.plans(), plan_name, sites[0])
        home, away = _direction(plan, {site: d.local_vc_guid for site, d in dr.items()})
        groups = tuple(
            DiscoveredGroup(g.name, tuple(sorted(v.name for v in asked.srm.group_vms(g.id))))
            for g in sorted(asked.srm.plan_groups(plan.id), key=lambda g: g.name)
        )
        group_of = {vm: g.name for g in groups for vm in g.vms}
        names = sorted({vm.name for vm in asked.srm.plan_vms(plan.id)} | set(group_of))
        replications = _replications(dr[home], names, plan.protected_vc_guid or dr[home].local_vc_guid)
        uuids = _running_uuids(inventories)
        snapshot = capture(asked.srm, plan.name, site=sites[0], instance_uuids=uuids, vr=asked.vr)
    vms = tuple(_vm(name, group_of.get(name, ""), inventories, home, uuids, replications.get(name)) for name in names)
    return Discovery(
        plan=plan.name,
        plan_id=plan.id,
        status=enum_text(plan.status),
        asked=sites[0],
        home=home,
        away=away,
        groups=groups,
        vms=vms,
        snapshot=snapshot,
    )


def _direction(plan: RecoveryPlan, guids: Mapping[str, str]) -> tuple[str, str]:
    """(protected, recovery) as the command's site names, matched by vCenter GUID (SRM's site names may
    differ from ours)."""
    by_guid = {guid: site for site, guid in guids.items()}
    protected = by_guid.get(plan.protected_vc_guid or "")
    recovery = by_guid.get(plan.recovery_vc_guid or "")
    if protected is None or recovery is None or protected == recovery:
        raise UsageError(
            f"recovery plan {plan.name!r} protects vCenter {plan.protected_vc_guid} to "
            f"{plan.recovery_vc_guid}, which are not the two sites given "
            f"({', '.join(f'{s}: {g}' for s, g in guids.items())})"
        )
    return protected, recovery


def _replications(dr: DrSite, names: Sequence[str], source_guid: str) -> dict[str, VmReplication]:
    """The plan's VMs' replications in the plan's direction, by VM name (VR names a replication after its
    VM). A VM with two replications of its name is left out: which one is meant cannot be told."""
    found: dict[str, list[Replication]] = {}
    for r in dr.vr.replications(source_vc_guid=source_guid):
        if r.name is not None and r.name in names:
            found.setdefault(r.name, []).append(r)
    result = {}
    for name, matches in found.items():
        if len(matches) != 1:
            continue
        r = matches[0]
        disks = dr.vr.replication_disks(r.id)
        targets = tuple(
            sorted(
                {
                    d.destination_path.datastore_name or d.destination_path.datastore_id
                    for d in disks
                    if d.destination_path is not None
                }
            )
        )
        mpit = f"{r.mpit_instances or '?'} instances per day for {r.mpit_days or '?'} days" if r.mpit_enabled else ""
        result[name] = VmReplication(
            r.rpo, bool(r.quiescing_enabled), bool(r.network_compression_enabled), mpit, r.state or "UNKNOWN", targets
        )
    return result


def _running_uuids(inventories: Mapping[str, Inventory]) -> dict[str, str]:
    """VM name → instance UUID where exactly one powered-on VM has that name across the sites."""
    found: dict[str, list[str]] = {}
    for inventory in inventories.values():
        for vm in inventory.vms:
            if vm.powered_on and not vm.is_placeholder:
                found.setdefault(vm.name, []).append(vm.instance_uuid)
    return {name: uuids[0] for name, uuids in found.items() if len(uuids) == 1}


def _vm(
    name: str,
    group: str,
    inventories: Mapping[str, Inventory],
    home: str,
    uuids: Mapping[str, str],
    replication: VmReplication | None,
) -> DiscoveredVm:
    copies = {site: [v for v in inv.vms_named(name) if not v.is_placeholder] for site, inv in inventories.items()}
    running = [site for site, vms in copies.items() for v in vms if v.powered_on]
    at_home = copies.get(home, [])
    unique = all(len(vms) <= 1 for vms in copies.values())
    home_copy = at_home[0] if len(at_home) == 1 else None
    return DiscoveredVm(
        name=name,
        group=group,
        running=tuple(sorted(set(running))),
        home_datastores=home_copy.datastores if home_copy else (),
        home_copy_powered_on=bool(home_copy and home_copy.powered_on),
        instance_uuid=None if unique else uuids.get(name),
        replication=replication,
    )


def scenario_of(discovery: Discovery) -> tuple[str, str]:
    """(runbook scenario, why) from the plan's state."""
    if discovery.status in _DISASTER:
        return "disaster-recovery", f"the plan is {discovery.status}: its last recovery was a disaster recovery"
    if discovery.status in _PLANNED:
        return "planned-migration", f"the plan is {discovery.status}: its last recovery was a planned migration"
    return "planned-migration", (
        f"the plan is {discovery.status}, not recovered yet: this runbook is for after a "
        "planned migration; set disaster-recovery here if the failover is one"
    )
