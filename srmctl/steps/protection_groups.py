"""``groups.delete`` and ``groups.create``: remove the stale protection groups the runbook selects, and
create the plan's vSphere Replication groups again where the VMs run now."""

from __future__ import annotations

from srmctl.adapters.dr import DrApiError
from srmctl.adapters.dr.models import ProtectionGroup, ProtectionGroupVm, Task, VmProtectionStatus
from srmctl.errors import GuardrailViolation, OperationFailed, StepFailed
from srmctl.metadata.wanted_groups import WantedGroup
from srmctl.steps.base import Action, Impact, Step, Verification, register
from srmctl.steps.context import StepContext
from srmctl.steps.dr_state import is_missing, recovery_plan, running_vms, stale_groups
from srmctl.steps.group_layout import groups_here, wanted_groups
from srmctl.steps.window import run_tasks


@register
class GroupsDelete(Step):
    """Delete the stale protection groups of the old direction that the runbook names or whose VMs it moves.

    Only groups protected at the original site (failback.to) that the runbook selects are touched; a group
    that also protects other VMs is refused. A group still used by another recovery plan than the runbook's
    is refused too (remove it there first); the runbook's plan, and the plans of recovery_plan.shared_with,
    give it up in plan.detach_groups.
    """

    name = "groups.delete"
    needs_peer = frozenset({"srm"})  # see Step.needs_peer
    done_once_home = True
    impact = Impact.LOW

    def plan(self, ctx: StepContext) -> tuple[Action, ...]:
        s = ctx.sides
        ours = recovery_plan(ctx)
        actions, refused = [], []
        for group in stale_groups(ctx):
            # The runbook's plan and those it shares its groups with give the group up in plan.detach_groups.
            giving_up = set(ctx.runbook.recovery_plan.shared_with)
            others = [
                p.name
                for p in s.dr.srm.group_plans(group.id)
                if (ours is None or p.id != ours.id) and p.name not in giving_up
            ]
            if others:
                refused.append(f"{group.name} is also in recovery plan(s) {', '.join(others)}")
            actions.append(
                Action.make(
                    "delete_group",
                    s.running,
                    [group.name],
                    group_id=group.id,
                    protected_site=s.home,
                    status=str(group.status),
                )
            )
        if refused:
            raise GuardrailViolation("refusing to delete: " + "; ".join(refused))
        return tuple(actions)

    def apply(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        dr = ctx.sides.dr

        def start(action: Action) -> Task | None:
            try:
                return dr.srm.delete_group(action.detail("group_id"), wait=False)
            except DrApiError as error:
                if not is_missing(error):
                    raise
                ctx.action_done(action, {"already_deleted": True})
                return None

        run_tasks(ctx, dr.srm, actions, start, lambda action, _: ctx.action_done(action))

    def verify(self, ctx: StepContext) -> Verification:
        s = ctx.sides
        left = stale_groups(ctx)
        if left:
            return Verification.failed([f"protection group {g.name} ({g.id}) still exists at {s.home}" for g in left])
        return Verification.passed(f"no stale protection group of the runbook left at {s.home}")


@register
class GroupsCreate(Step):
    """Create the plan's protection groups again where the VMs run: by default the plan's own groups, with the
    names, descriptions and VMs the metadata snapshot records (``protection_groups.rename`` renames them,
    ``protection_group`` puts all the VMs into one group).

    An existing group of that name at that site is kept and its VM list corrected instead. SRM then needs a
    placeholder for every VM at home: a VM whose protection status is NOT_CONFIGURED (e.g. the placeholder
    datastore came later) is configured with configure-all-vms ("Configure protection for all virtual
    machines that are part of the protection group"), and every VM must end OK (the spec's
    ``VmProtectionStatusDetails``); anything else fails the step naming the VM, its status and SRM's errors.
    """

    name = "groups.create"
    needs_peer = frozenset({"srm"})  # see Step.needs_peer
    undone_by = frozenset({"plan.migrate"})  # a migration under way moves the plan, its VMs and replications on
    done_once_home = True
    impact = Impact.LOW

    def plan(self, ctx: StepContext) -> tuple[Action, ...]:
        layout = wanted_groups(ctx)
        existing = groups_here(ctx, tuple(w.name for w in layout))
        return tuple(a for w in layout if (a := _group_action(ctx, w, existing[w.name])) is not None)

    def apply(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        s = ctx.sides
        vms, problems = running_vms(ctx)
        if problems:
            raise StepFailed("; ".join(problems))
        for action in actions:
            ids = [vms[name].id for name in action.targets]
            name = action.detail("group")
            if action.kind == "create_group":
                task = s.dr.srm.create_group(
                    name, s.running_guid, ids, description=action.detail("description") or None, wait=False
                )
                task = s.dr.srm.wait_task(task)
                group_id = task.result_id or ""
                ctx.action_done(action, {"group_id": group_id})
            elif action.kind == "set_group_vms":
                group_id = action.detail("group_id")
                s.dr.srm.wait_task(s.dr.srm.reconfigure_group(group_id, name, ids, wait=False))
                ctx.action_done(action)
            else:
                group_id = action.detail("group_id")
            configured = self._configure_placeholders(ctx, group_id or group_id_of(ctx, name), name)
            if action.kind == "configure_vms":
                ctx.action_done(action, {"configured": configured})

    @staticmethod
    def _configure_placeholders(ctx: StepContext, group_id: str, name: str) -> int:
        """configure-all-vms when a VM is NOT_CONFIGURED; then every VM must be OK. Returns the tasks run."""
        srm = ctx.sides.dr.srm
        vms = srm.group_vms(group_id)
        tasks, failed = 0, []
        if any(vm.status == VmProtectionStatus.NOT_CONFIGURED for vm in vms):
            try:  # one call configures every VM (a task each), awaited together
                tasks = len(srm.wait_tasks(srm.configure_all_vms(group_id, wait=False)))
            except OperationFailed as error:  # the VMs' protection status below says which and why
                failed = [f"configure-all-vms failed: {error}"]
            vms = srm.group_vms(group_id)
        problems = [_vm_problem(name, vm) for vm in vms if vm.status != VmProtectionStatus.OK]
        problems += failed if problems else []
        if problems:
            raise StepFailed(
                f"SRM cannot protect every VM of {name} (each needs a placeholder at "
                f"{ctx.sides.home}):\n" + "\n".join(f"- {p}" for p in problems)
            )
        return tasks

    def verify(self, ctx: StepContext) -> Verification:
        layout = wanted_groups(ctx)
        existing = groups_here(ctx, tuple(w.name for w in layout))
        problems = [p for w in layout for p in _group_problems(ctx, w, existing[w.name])]
        if problems:
            return Verification.failed(problems)
        return Verification.passed(
            ", ".join(f"{w.name} ({len(w.vms)} VM(s))" for w in layout) + f" at {ctx.sides.running}, all OK"
        )


def _group_action(ctx: StepContext, wanted: WantedGroup, group: ProtectionGroup | None) -> Action | None:
    """What one wanted group still needs: created, its VM list corrected, its VMs configured, or nothing."""
    s = ctx.sides
    if group is None:
        return Action.make(
            "create_group",
            s.running,
            list(wanted.vms),
            group=wanted.name,
            protected_site=s.running,
            description=wanted.description,
            originals=tuple(wanted.originals),
        )
    vms = s.dr.srm.group_vms(group.id)
    members = {vm.name for vm in vms}
    want = set(wanted.vms)
    if members == want:
        pending = sorted(vm.name for vm in vms if vm.status == VmProtectionStatus.NOT_CONFIGURED)
        return (
            Action.make("configure_vms", s.running, pending, group=wanted.name, group_id=group.id) if pending else None
        )
    return Action.make(
        "set_group_vms",
        s.running,
        list(wanted.vms),
        group=wanted.name,
        group_id=group.id,
        adds=tuple(sorted(want - members)),
        removes=tuple(sorted(members - want)),
    )


def _group_problems(ctx: StepContext, wanted: WantedGroup, group: ProtectionGroup | None) -> list[str]:
    if group is None:
        return [f"protection group {wanted.name} does not exist at {ctx.sides.running}"]
    members = {vm.name: vm for vm in ctx.sides.dr.srm.group_vms(group.id)}
    name, want = wanted.name, set(wanted.vms)
    problems = [f"{name} lacks {n}" for n in sorted(want - set(members))]
    problems += [f"{name} also holds {n}" for n in sorted(set(members) - want)]
    return problems + [_vm_problem(name, vm) for _, vm in sorted(members.items()) if vm.status != VmProtectionStatus.OK]


def group_id_of(ctx: StepContext, name: str) -> str:
    group = groups_here(ctx, (name,))[name]
    if group is None:
        raise StepFailed(f"protection group {name} does not exist at {ctx.sides.running}")
    return group.id


def _vm_problem(group: str, vm: ProtectionGroupVm) -> str:
    details = vm.protection_status_details
    errors = "; ".join(details.errors) if details and details.errors else ""
    status = vm.status or "without a protection status"
    return f"VM {vm.name} in {group} is {status}" + (f": {errors}" if errors else "")
