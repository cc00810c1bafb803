"""``groups.delete`` and ``groups.create``: remove the stale protection groups the runbook selects, and
create the vSphere Replication group of the VMs where they run now."""

from __future__ import annotations

from srmctl.adapters.dr import DrApiError
from srmctl.adapters.dr.models import VmProtectionStatus
from srmctl.errors import GuardrailViolation, StepFailed
from srmctl.steps.base import Action, Impact, Step, Verification, register
from srmctl.steps.context import StepContext
from srmctl.steps.dr_state import is_missing, new_group, recovery_plan, running_vms, stale_groups, vm_names


@register
class GroupsDelete(Step):
    """Delete the stale protection groups of the old direction that the runbook names or whose VMs it moves.

    Only groups protected at the original site (failback.to) that the runbook selects are touched; a group
    that also protects other VMs is refused. A group still used by another recovery plan than the runbook's
    is refused too (remove it there first); the runbook's plan gives it up in plan.detach_groups.
    """

    name = "groups.delete"
    done_once_home = True
    impact = Impact.LOW

    def plan(self, ctx: StepContext) -> tuple[Action, ...]:
        s = ctx.sides
        ours = recovery_plan(ctx)
        actions, refused = [], []
        for group in stale_groups(ctx):
            others = [p.name for p in s.dr.srm.group_plans(group.id) if ours is None or p.id != ours.id]
            if others:
                refused.append(f"{group.name} is also in recovery plan(s) {', '.join(others)}")
            actions.append(Action.make("delete_group", s.running, [group.name], group_id=group.id,
                                       protected_site=s.home, status=str(group.status)))
        if refused:
            raise GuardrailViolation("refusing to delete: " + "; ".join(refused))
        return tuple(actions)

    def apply(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        dr = ctx.sides.dr
        for action in actions:
            ctx.pause("before_call")
            try:
                dr.srm.wait_task(dr.srm.delete_group(action.detail("group_id"), wait=False))
            except DrApiError as error:
                if not is_missing(error):
                    raise
                ctx.action_done(action, {"already_deleted": True})
                continue
            ctx.action_done(action)

    def verify(self, ctx: StepContext) -> Verification:
        s = ctx.sides
        left = stale_groups(ctx)
        if left:
            return Verification.failed([f"protection group {g.name} ({g.id}) still exists at {s.home}" for g in left])
        return Verification.passed(f"no stale protection group of the runbook left at {s.home}")


@register
class GroupsCreate(Step):
    """Create the runbook's vSphere Replication protection group with exactly its VMs, where they run now.

    An existing group of that name at that site is kept and its VM list corrected instead.
    """

    name = "groups.create"
    done_once_home = True
    impact = Impact.LOW

    def plan(self, ctx: StepContext) -> tuple[Action, ...]:
        s = ctx.sides
        wanted = set(vm_names(ctx))
        group = new_group(ctx)
        name = ctx.runbook.protection_group.name
        if group is None:
            return (Action.make("create_group", s.running, sorted(wanted), group=name, protected_site=s.running),)
        members = {vm.name for vm in s.dr.srm.group_vms(group.id)}
        if members == wanted:
            return ()
        return (Action.make("set_group_vms", s.running, sorted(wanted), group=name, group_id=group.id,
                            adds=tuple(sorted(wanted - members)), removes=tuple(sorted(members - wanted))),)

    def apply(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        s = ctx.sides
        vms, problems = running_vms(ctx)
        if problems:
            raise StepFailed("; ".join(problems))
        for action in actions:
            ids = [vms[name].id for name in action.targets]
            ctx.pause("before_call")
            if action.kind == "create_group":
                task = s.dr.srm.create_group(action.detail("group"), s.running_guid, ids, wait=False)
                task = s.dr.srm.wait_task(task)
                ctx.action_done(action, {"group_id": task.result_id or ""})
            else:
                s.dr.srm.wait_task(s.dr.srm.reconfigure_group(action.detail("group_id"), action.detail("group"), ids,
                                                              wait=False))
                ctx.action_done(action)

    def verify(self, ctx: StepContext) -> Verification:
        s = ctx.sides
        group = new_group(ctx)
        name = ctx.runbook.protection_group.name
        if group is None:
            return Verification.failed([f"protection group {name} does not exist at {s.running}"])
        wanted = set(vm_names(ctx))
        members = {vm.name: vm for vm in s.dr.srm.group_vms(group.id)}
        problems = [f"{name} lacks {n}" for n in sorted(wanted - set(members))]
        problems += [f"{name} also holds {n}" for n in sorted(set(members) - wanted)]
        problems += [f"{vm_name} in {name} is {vm.status}" for vm_name, vm in sorted(members.items())
                     if vm.status != VmProtectionStatus.OK]
        if problems:
            return Verification.failed(problems)
        return Verification.passed(f"{name} protects {len(members)} VM(s) at {s.running}, all OK")
