"""SRM's documented state machines of protection groups and recovery plans: which states allow which
operation, the states a plan takes from the groups it shares with other plans, and where a run that fails
or is cancelled leaves them.

Sources: VMware Live Site Recovery 9.0 administration, "Protection Group States" (and the same table in SRM
5.8 onwards) for the groups; the SRM REST v2 spec's ``RecoveryPlanInfo.status`` descriptions and the SRM
administration's "Recovery States" table for the plans; "Creating, Testing, and Running Recovery Plans" for
groups shared by several plans.
"""

from __future__ import annotations

from srmctl.srmsim.model import SimError, SimGroup, SimPlan
from srmctl.srmsim.world import Failed, World

# "Protection Group States": Testing, Test Complete, Cleaning Up, Recovering, Reprotecting: "You cannot edit
# the group." While a group is configured or unconfigured it is busy too (Configuring Protection, Removing
# Protection, Restoring Placeholders: "... is in progress"); srmsim refuses edits then as well (stricter).
GROUP_NO_EDIT = frozenset(
    {
        "TESTING",
        "TEST_COMPLETE",
        "CLEANING_UP",
        "RECOVERING",
        "REPROTECTING",
        "CONFIGURING_PROTECTION",
        "REMOVING_PROTECTION",
        "RESTORING_PLACEHOLDERS",
    }
)
# Recovered, Partially Recovered, Partially Reprotected: "You can remove virtual machines, but cannot
# configure or restore them."
GROUP_REMOVE_ONLY = frozenset({"RECOVERED", "PARTIALLY_RECOVERED", "PARTIALLY_REPROTECTED"})
# The group states another plan's run puts a shared group in: "If you test or run a recovery plan with a
# replication group that is shared in other recovery plans, the other recovery plans change the state ... to
# Protection Group In Use and you cannot run them" (srm-api-v2 PROTECTION_GROUPS_IN_USE: "in use by another
# recovery plan that is either currently running or in the Test Complete state"). A failed cleanup leaves the
# group Testing ("If cleanup fails, the group goes to the Testing state"), so it stays in use.
GROUP_IN_USE = frozenset({"TESTING", "TEST_COMPLETE", "CLEANING_UP", "RECOVERING", "REPROTECTING"})
# A group recovered by a run of another plan: srm-api-v2 PARTIAL_RECOVERY "Some of the protection groups in
# this plan have been recovered by another recovery plan."
GROUP_RECOVERED = frozenset({"RECOVERED", "PARTIALLY_RECOVERED"})

# Where a failed run leaves the plan's groups ("Protection Group States"): "If recovery fails, group status
# changes to Partially Recovered"; "If reprotect fails, the group goes to Partially Reprotected state"; "If
# cleanup fails, the group goes to the Testing state". A failed test leaves them Testing: only a cleanup
# returns them to OK ("Group returns to the OK or Not Configured state when cleanup is successful").
GROUPS_AFTER_FAILURE = {
    "Test": "TESTING",
    "Cleanup": "TESTING",
    "Recovery": "PARTIALLY_RECOVERED",
    "Reprotect": "PARTIALLY_REPROTECTED",
}

#: Plan states in which a plan is idle and takes its state from its groups.
PLAN_IDLE = frozenset({"READY_STATE", "NO_PROTECTION_GROUPS", "DIRECTION_ERROR"})


class Cancelled(Failed):
    """Raised in a plan run's worker when the operator cancelled it: the task ends CANCELLED (the spec's
    ``Task.status`` enum), not ERROR; SRM's history report says CANCELLED."""

    task_status = "CANCELLED"


def require_group_editable(group: SimGroup, *, adding: bool) -> None:
    """Refuse an edit of ``group`` (``adding``: the edit adds VMs). A Recovered group's name and description
    may change: the table limits only what happens to its VMs there, where for Testing and the like it says
    "You cannot edit the group"."""
    if group.status in GROUP_NO_EDIT:
        raise SimError(
            400, "INVALID_GROUP_STATE", f"protection group {group.name} is {group.status}: it cannot be edited"
        )
    if adding and group.status in GROUP_REMOVE_ONLY:
        raise SimError(
            400,
            "INVALID_GROUP_STATE",
            f"protection group {group.name} is {group.status}: virtual machines can only be removed from it",
        )


def require_group_configurable(group: SimGroup) -> None:
    """configure-all-vms and restore-all-placeholders: refused while the group cannot be edited, and in the
    states where its VMs "cannot [be] configure[d] or restore[d]"."""
    if group.status in GROUP_NO_EDIT or group.status in GROUP_REMOVE_ONLY:
        raise SimError(
            400,
            "INVALID_GROUP_STATE",
            f"protection group {group.name} is {group.status}: its virtual machines cannot be configured",
        )


def require_group_deletable(group: SimGroup) -> None:
    """Deleting a group is an edit: refused in the states where "You cannot edit the group"."""
    if group.status in GROUP_NO_EDIT:
        raise SimError(
            400, "INVALID_GROUP_STATE", f"protection group {group.name} is {group.status}: it cannot be deleted"
        )


def plan_status(world: World, plan: SimPlan) -> str:
    """The status SRM reports for ``plan``: its own, or, while it is idle, the one its groups give it when
    another plan uses or recovered one of them. "The states of the protection groups within a recovery plan
    determine the state of the plan" ("Recovery States")."""
    if plan.running or plan.status not in PLAN_IDLE:
        return plan.status
    states = {world.groups[g].status for g in plan.group_ids if g in world.groups}
    if states & GROUP_IN_USE:
        return "PROTECTION_GROUPS_IN_USE"
    if states & GROUP_RECOVERED:
        return "PARTIAL_RECOVERY"
    return plan.status


def sharing_plans(world: World, plan: SimPlan) -> list[SimPlan]:
    """The other plans holding one of ``plan``'s groups."""
    mine = set(plan.group_ids)
    return [p for p in world.plans.values() if p.id != plan.id and mine & set(p.group_ids)]


def require_plan_editable(world: World, plan: SimPlan) -> None:
    """A running plan, or one whose groups another plan's run holds, is not edited (srmsim refuses it: the
    groups "cannot [be] edit[ed]" while in use, and when in doubt srmsim is the stricter)."""
    status = plan_status(world, plan)
    if plan.running or status == "PROTECTION_GROUPS_IN_USE":
        raise SimError(400, "PLAN_BUSY", f"recovery plan {plan.name} is {status}")


def groups_in_use(world: World, group_ids: list[str]) -> list[SimGroup]:
    """Of ``group_ids``, the groups a run holds (see :data:`GROUP_IN_USE`)."""
    return [world.groups[g] for g in group_ids if g in world.groups and world.groups[g].status in GROUP_IN_USE]
