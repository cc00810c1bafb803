"""The plan states that exist because a site pair is two SRM servers kept in step over a link that can break.

The link between the sites (``World.link_up``) can be cut while both sites' servers keep answering
(``POST /srmsim/link``): each server then sees its peer as down, so the connectivity contract's "server-down"
column applies (srmsim/remote.py), and the servers stop keeping each other in step. The plan states SRM
documents for that (srm-api-v2, ``RecoveryPlanInfo.status``) are produced here, derived from the shared world
when a plan is rendered or run:

- ``RECOVERY_STARTED``: "A recovery was started but not completed. The sites might have been disconnected
  during the recovery operation. Log into the recovery site or reconnect the sites to complete the recovery."
  The link cut during a recovery (``POST /srmsim/link`` with ``during``: the step where it breaks) stops the
  run there; the plan reports RECOVERY_STARTED at both servers until a recovery run at the recovery site
  completes it. The protected site's server refuses to run it ("Log into the recovery site").
- ``SYNC_CONFLICT``: "Changes have been made to this plan at both sites. Review the current settings by
  editing the plan to correct the problem." Recovery settings edited through both servers while the link was
  cut: from the reconnection the plan (and ``VmRecoverySettingsState.status`` of its VMs) reports
  SYNC_CONFLICT until an edit resolves it (an edit of the plan or of a VM's recovery settings). srmsim keeps
  one copy of the settings, so each server shows the other's edits too (not the product's behaviour: only the
  state is modelled).
- ``DIRECTION_ERROR``: "This plan contains protection groups that are not all configured for replication in
  the same direction. This might have been caused by running other recovery plans that contain the same
  protection groups." A plan whose groups another plan's reprotect flipped: it cannot be run.
- ``PARTIAL_RECOVERY``: "Some of the protection groups in this plan have been recovered by another recovery
  plan." Only a recovery may run it (to recover the rest).
"""

from __future__ import annotations

from typing import Any

from srmctl.srmsim import states
from srmctl.srmsim.model import SimError, SimPlan
from srmctl.srmsim.world import World

IDLE = "READY_STATE"


def status(world: World, plan: SimPlan) -> str:
    """The plan's status as both servers report it: a site pair's states (this module) over the states a
    plan's shared groups give it (:func:`srmctl.srmsim.states.plan_status`: PROTECTION_GROUPS_IN_USE,
    PARTIAL_RECOVERY)."""
    if plan.id in world.recovery_started and plan.status == "INCOMPLETE_RECOVERY":
        return "RECOVERY_STARTED"
    if plan.running or plan.status != IDLE:
        return states.plan_status(world, plan)
    if plan.id in world.sync_conflicts:
        return "SYNC_CONFLICT"
    shared = states.plan_status(world, plan)
    if shared != plan.status:
        return shared
    groups = [world.groups[g] for g in plan.group_ids if g in world.groups]
    if any(g.protected_site != plan.protected_site for g in groups):
        return "DIRECTION_ERROR"
    return plan.status


def settings_status(world: World, plan: SimPlan) -> str:
    """``VmRecoverySettingsState.status``: OK, or SYNC_CONFLICT while the plan's edits conflict."""
    return "SYNC_CONFLICT" if plan.id in world.sync_conflicts else "OK"


def check_run(world: World, site: str, plan_id: str, action: str, spec: dict[str, Any]) -> None:
    """Refuse a run the plan's derived state forbids (before the run's own state checks), and a recovery
    that needs the protected site while the link to it is down."""
    plan = world.plan(plan_id)
    state = status(world, plan)
    if state == "RECOVERY_STARTED" and (action != "recovery" or site == plan.protected_site):
        raise SimError(
            400,
            "INVALID_PLAN_STATE",
            f"recovery plan {plan.name} is RECOVERY_STARTED: log into the recovery site "
            f"({world.site(world.other(plan.protected_site)).srm_name}) to complete the recovery",
        )
    if state == "DIRECTION_ERROR" or (state == "PARTIAL_RECOVERY" and action != "recovery"):
        raise SimError(400, "INVALID_PLAN_STATE", f"cannot run {action} on plan {plan.name} in state {state}")
    if state == "SYNC_CONFLICT":
        raise SimError(
            400, "INVALID_PLAN_STATE", f"recovery plan {plan.name} is SYNC_CONFLICT: edit the plan to resolve it"
        )
    reaches_protected = spec.get("planned_failover") or not spec.get("skip_protection_site_operations")
    if action == "recovery" and not world.link_up and reaches_protected:
        raise SimError(
            400,
            "PROTECTED_SITE_DOWN",
            f"the sites are disconnected; run disaster recovery with skip_protection_site_operations "
            f"or reconnect the sites ({plan.name})",
        )


def edited(world: World, site: str, plan_id: str) -> None:
    """A plan (or a VM's recovery settings in it) was edited through ``site``'s server: while the link is cut
    the edit is remembered per server; with the link up an edit resolves a conflict."""
    with world.lock:
        if world.link_up:
            world.sync_conflicts.discard(plan_id)
        else:
            world.disconnected_edits.setdefault(plan_id, set()).add(site)


def set_link(world: World, up: bool, during: str | None = None) -> None:
    """Cut the link between the sites (now, or at the step ``during`` of the next recovery), or restore it:
    plans edited through both servers meanwhile are in SYNC_CONFLICT from the reconnection."""
    with world.lock:
        if during:
            world.link_cut_at = during
            return
        world.link_up = up
        if up:
            world.sync_conflicts |= {p for p, sites in world.disconnected_edits.items() if len(sites) > 1}
            world.disconnected_edits.clear()


def on_step(world: World, plan: SimPlan, view: str, anchor: str) -> None:
    """Called as a plan run reaches a step: the link breaks there when asked to (``during``), which stops a
    recovery where it is; the plan is then RECOVERY_STARTED (see :func:`status`)."""
    with world.lock:
        if view != "recovery" or world.link_cut_at != anchor:
            return
        world.link_cut_at, world.link_up = None, False
        world.recovery_started.add(plan.id)
    raise SimError(500, "SITES_DISCONNECTED", f"the sites were disconnected during the recovery of {plan.name}")


def completing(world: World, plan_id: str) -> None:
    """A recovery started at the recovery site completes the one the broken link stopped: from now on the
    plan's own run state applies (a failure of this run is its own INCOMPLETE_RECOVERY)."""
    world.recovery_started.discard(plan_id)
