"""SRM states in which a later step of the failback would be refused (issue 21): ``preflight.check`` lists
every one of them before anything is destroyed (docs/architecture.md, "SRM's states").

- A protection group in Testing, Test Complete or Cleaning Up: "You cannot edit the group" (VLSR 9.0,
  "Protection Group States"), so it can be neither detached nor deleted; "If cleanup fails, the group goes
  to the Testing state".
- The plan PROTECTION_GROUPS_IN_USE ("in use by another recovery plan that is either currently running or
  in the Test Complete state"), PARTIAL_RECOVERY ("Some of the protection groups in this plan have been
  recovered by another recovery plan") or CLEANUP_INCOMPLETE ("After fixing the issues, press Cleanup to
  run the cleanup operation again"): SRM runs none of the plan's later steps, and the remedy is the
  operator's.
- A group the failback rebuilds that another recovery plan holds too: deleting it would take it out of that
  plan (SRM refuses to delete a group a plan holds, after the steps before have run), unless the runbook
  names that plan in ``recovery_plan.shared_with`` (steps/sharing_plans.py), which must then hold only groups
  the failback rebuilds.

The run's own test is not a problem: while the plan, already attached in the failback direction, is being
tested or waits for its cleanup, ``plan.test`` and ``plan.cleanup`` carry it on.
"""

from __future__ import annotations

from srmctl.adapters.dr.models import GroupStatus, PlanStatus, ProtectionGroup, RecoveryPlan, text
from srmctl.steps.context import StepContext
from srmctl.steps.dr_state import recovery_plan, status_of

#: Group states in which SRM does not edit or delete a group ("Protection Group States").
GROUPS_HELD = frozenset({GroupStatus.TESTING, GroupStatus.TEST_COMPLETE, GroupStatus.CLEANING_UP})
#: Plan states in which SRM runs none of the failback's plan steps, with what the operator does about them.
PLANS_REFUSED: dict[str, str] = {
    PlanStatus.PROTECTION_GROUPS_IN_USE.value: "another recovery plan's test or run holds its protection groups; "
    "let that run finish (or clean its test up) in SRM first",
    PlanStatus.PARTIAL_RECOVERY.value: "another recovery plan recovered some of its protection groups; run the "
    "recovery of this plan in SRM (or take those groups out of it) first",
    PlanStatus.CLEANUP_INCOMPLETE.value: "its test cleanup failed; fix the cause and run the cleanup again in SRM",
}
#: Plan states of a test (or its cleanup) under way or left to clean up.
TESTING = frozenset(
    {
        PlanStatus.TEST_IN_PROGRESS,
        PlanStatus.TEST_COMPLETE,
        PlanStatus.TEST_INTERRUPTED,
        PlanStatus.CLEANUP_IN_PROGRESS,
        PlanStatus.CLEANUP_INCOMPLETE,
        PlanStatus.CLEANUP_INTERRUPTED,
    }
)
#: A stale group: its VMs were recovered to the other site (the failback deletes and rebuilds it).
RECOVERED = frozenset({GroupStatus.RECOVERED, GroupStatus.PARTIALLY_RECOVERED})
#: The plan's own test (in the failback direction), which plan.test and plan.cleanup carry on.
OWN_TEST = frozenset(
    {
        PlanStatus.TEST_IN_PROGRESS,
        PlanStatus.TEST_COMPLETE,
        PlanStatus.TEST_INTERRUPTED,
        PlanStatus.CLEANUP_IN_PROGRESS,
        PlanStatus.WAITING_FOR_USER_INPUT,
        PlanStatus.CANCEL_IN_PROGRESS,
    }
)


def state_problems(ctx: StepContext, plans: list[RecoveryPlan], groups: list[ProtectionGroup]) -> list[str]:
    """Every SRM state that would stop a later step, one line each (empty: none). ``plans``: SRM's listing of
    the plans; ``groups``: the runbook's plan's groups."""
    plan = recovery_plan(ctx, plans)
    if plan is None:
        return []  # preflight says so in its own words
    problems = []
    if status_of(plan) in PLANS_REFUSED:
        problems.append(f"recovery plan {plan.name!r} is {status_of(plan)}: {PLANS_REFUSED[status_of(plan)]}")
    own_test = plan.protected_vc_guid == ctx.sides.running_guid and plan.status in OWN_TEST
    srm = ctx.sides.dr.srm
    for group in groups:
        if group.status in GROUPS_HELD and not own_test:
            problems.append(
                f"protection group {group.name!r} is {text(group.status)}: SRM neither edits nor deletes a group "
                "while a test holds it; clean that test up in SRM first"
            )
    # The failover's stale groups (the failback deletes them) that another plan holds too. (A stale group
    # already out of this plan is refused by groups.delete, naming the plans that hold it.)
    stale = {g.id: g for g in groups if g.protected_vc_guid == ctx.sides.home_guid and g.status in RECOVERED}
    named = set(ctx.runbook.recovery_plan.shared_with)
    problems += sharing_problems(ctx, plans, groups, named)
    holders: dict[str, list[str]] = {}
    for other in plans:  # one call per other plan (none for the usual plan of its own)
        if stale and other.id != plan.id and other.name not in named:
            for group in srm.plan_groups(other.id):
                if group.id in stale:
                    holders.setdefault(group.id, []).append(other.name)
    for group_id, names in sorted(holders.items(), key=lambda item: stale[item[0]].name):
        problems.append(
            f"protection group {stale[group_id].name!r} is also in recovery plan(s) "
            f"{', '.join(map(repr, sorted(names)))}: rebuilding it would take it out of them; name them in "
            "recovery_plan.shared_with (the group then goes back into them) or move the group out of them in SRM "
            "first"
        )
    return problems


def sharing_problems(
    ctx: StepContext, plans: list[RecoveryPlan], groups: list[ProtectionGroup], named: set[str]
) -> list[str]:
    """Why a plan of ``recovery_plan.shared_with`` cannot follow the runbook's plan: it does not exist, or it
    holds a group this failback does not rebuild (its direction could not change beside that group: SRM
    changes a plan's direction only while it holds no group)."""
    if not named:
        return []
    if ctx.runbook.protection_group is not None:
        return ["recovery_plan.shared_with needs the plan's own groups rebuilt: drop protection_group"]
    problems = []
    rebuilt = {g.id for g in groups}
    for name in sorted(named):
        other = next((p for p in plans if p.name == name), None)
        if other is None:
            problems.append(f"recovery plan {name!r} (recovery_plan.shared_with) not found at {ctx.source}")
            continue
        foreign = sorted(g.name for g in ctx.sides.dr.srm.plan_groups(other.id) if g.id not in rebuilt)
        if foreign:
            problems.append(
                f"recovery plan {name!r} (recovery_plan.shared_with) also holds protection group(s) "
                f"{', '.join(map(repr, foreign))} that this failback does not rebuild; SRM changes a plan's "
                "direction only while it holds no group"
            )
    return problems


def testing_at_home(ctx: StepContext) -> bool:
    """Whether the runbook's plan is being tested (or waits for its cleanup) with ``ctx.target``, where the
    VMs go home, as its recovery site: SRM's test VMs are registered there under the VMs' own names, in
    their placeholders' place ("Site Recovery Manager replaces the placeholder with the recovered virtual
    machine", SRM administration, "About Placeholder Virtual Machines"). Such a VM is neither an orphan nor
    the VM at home, and only the plan's state tells them apart. False when SRM is not part of the run."""
    if ctx.source not in ctx.dr_sites:
        return False
    plan = recovery_plan(ctx)
    if plan is None or plan.recovery_vc_guid != ctx.sides.home_guid:
        return False
    if plan.status in TESTING:
        return True
    # Waiting at a prompt, or being cancelled: a test when its VMs say so (a recovery's say RECOVERY_*).
    return plan.status in OWN_TEST and any(
        (text(vm.status) or "").startswith(("TEST_", "CLEANUP_")) for vm in ctx.sides.dr.srm.plan_vms(plan.id)
    )
