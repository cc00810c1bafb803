"""The recovery plan steps: detach and attach protection groups (flipping the plan's direction while it is
empty, so the same plan object is kept), test and cleanup, and the planned migration. SRM's own reprotect of
the plan is in :mod:`srmctl.steps.reprotect`."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from srmctl.adapters.dr.models import PlanStatus, RecoveryPlan, Task
from srmctl.adapters.dr.site import DrSite
from srmctl.errors import StepFailed
from srmctl.steps.base import Action, Impact, Step, Verification, register
from srmctl.steps.context import StepContext
from srmctl.steps.dr_state import recovery_plan, require_plan, require_plan_at, run_plan, stale_groups, status_of
from srmctl.steps.group_layout import group_names, groups_here
from srmctl.steps.sharing_plans import ForEachPlan
from srmctl.steps.whereabouts import not_home


@register
class PlanDetachGroups(ForEachPlan):
    """Remove the stale protection groups (those groups.delete will delete) from the recovery plan.

    One reconfigure call sends the plan's full group list minus the stale groups; other groups stay.
    """

    name = "plan.detach_groups"
    needs_peer = frozenset({"srm"})  # see Step.needs_peer
    done_once_home = True
    impact = Impact.LOW

    def plan_one(self, ctx: StepContext) -> tuple[Action, ...]:
        srm_plan = recovery_plan(ctx)
        if srm_plan is None:
            return ()
        s = ctx.sides
        in_plan = {g.id for g in s.dr.srm.plan_groups(srm_plan.id)}
        stale = [g for g in stale_groups(ctx) if g.id in in_plan]
        if not stale:
            return ()
        return (
            Action.make(
                "remove_groups_from_plan",
                s.running,
                [srm_plan.name],
                plan_id=srm_plan.id,
                srm_server=s.running,  # the ids are that server's (each SRM server has its own)
                groups=tuple(g.name for g in stale),
                group_ids=tuple(g.id for g in stale),
            ),
        )

    def apply_one(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        dr = ctx.sides.dr
        for action in actions:
            # Looked up again at the server about to be called, by name: journaled ids are one server's.
            plan_id = require_plan(ctx).id
            remove = {g.id for g in stale_groups(ctx) if g.name in action.listed("groups")}
            # The list is read again right before the call: groups added meanwhile by someone else are kept.
            keep = [g.id for g in dr.srm.plan_groups(plan_id) if g.id not in remove]
            dr.srm.wait_task(dr.srm.reconfigure_plan(plan_id, protection_groups=keep, wait=False))
            ctx.action_done(action, {"groups_left": len(keep)})

    def verify_one(self, ctx: StepContext) -> Verification:
        srm_plan = recovery_plan(ctx)
        if srm_plan is None:
            return Verification.passed("the recovery plan does not exist: nothing to detach")
        in_plan = {g.id for g in ctx.sides.dr.srm.plan_groups(srm_plan.id)}
        left = [g.name for g in stale_groups(ctx) if g.id in in_plan]
        if left:
            return Verification.failed([f"{name} is still in recovery plan {srm_plan.name}" for name in left])
        return Verification.passed(f"no stale protection group in recovery plan {srm_plan.name}")


@register
class PlanAttachGroups(ForEachPlan):
    """Point the recovery plan at the new protection groups: flip its direction if needed, then add the groups.
    The direction can only change while the plan has no protection groups, so the same plan object is kept
    (its id, history and anything outside the groups survive); a missing plan is created."""

    name = "plan.attach_groups"
    needs_peer = frozenset({"srm"})  # see Step.needs_peer
    undone_by = frozenset({"plan.migrate"})  # a migration under way moves the plan, its VMs and replications on
    done_once_home = True
    impact = Impact.LOW

    def plan_one(self, ctx: StepContext) -> tuple[Action, ...]:
        s = ctx.sides
        srm_plan = recovery_plan(ctx)
        names = group_names(ctx)
        if srm_plan is None:
            return (
                Action.make(
                    "create_plan", s.running, [ctx.runbook.recovery_plan.name], protected_site=s.running, groups=names
                ),
            )
        actions = []
        if srm_plan.protected_vc_guid != s.running_guid:
            actions.append(
                Action.make(
                    "flip_plan_direction",
                    s.running,
                    [srm_plan.name],
                    plan_id=srm_plan.id,
                    protected_site=s.running,
                    was=srm_plan.protected_site_name or "?",
                )
            )
        in_plan = {g.id for g in s.dr.srm.plan_groups(srm_plan.id)}
        for name, group in groups_here(ctx, names).items():
            if group is None or group.id not in in_plan:
                actions.append(
                    Action.make("add_group_to_plan", s.running, [srm_plan.name], plan_id=srm_plan.id, group=name)
                )
        return tuple(actions)

    def apply_one(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        s = ctx.sides
        wanted = {a.detail("group") for a in actions if a.kind == "add_group_to_plan"}
        wanted.update(n for a in actions if a.kind == "create_plan" for n in a.listed("groups"))
        groups = groups_here(ctx, tuple(sorted(wanted)))
        missing = sorted(name for name, group in groups.items() if group is None)
        if missing:
            raise StepFailed(
                f"protection group(s) {', '.join(missing)} do not exist at {s.running}; run groups.create first"
            )
        for action in actions:
            if action.kind == "create_plan":
                ids = [groups[n].id for n in action.listed("groups")]  # type: ignore[union-attr]
                task = s.dr.srm.wait_task(s.dr.srm.create_plan(action.targets[0], s.running_guid, ids, wait=False))
                ctx.action_done(action, {"plan_id": task.result_id or ""})
                continue
            plan_id = require_plan(ctx).id  # at the server about to be called, by name
            current = s.dr.srm.plan_groups(plan_id)
            if action.kind == "flip_plan_direction":
                wrong = [g.name for g in current if g.protected_vc_guid != s.running_guid]
                if wrong:
                    raise StepFailed(
                        f"recovery plan {action.targets[0]} still holds protection "
                        f"group(s) of the other direction ({', '.join(wrong)}); its direction can "
                        "only change while it has none (plan.detach_groups, groups.delete)"
                    )
                s.dr.srm.wait_task(s.dr.srm.reconfigure_plan(plan_id, protected_vc_guid=s.running_guid, wait=False))
            else:
                group_id = groups[action.detail("group")].id  # type: ignore[union-attr]  # checked above
                ids = [g.id for g in current if g.id != group_id] + [group_id]
                s.dr.srm.wait_task(s.dr.srm.reconfigure_plan(plan_id, protection_groups=ids, wait=False))
            ctx.action_done(action)

    def verify_one(self, ctx: StepContext) -> Verification:
        s = ctx.sides
        srm_plan = recovery_plan(ctx)
        if srm_plan is None:
            return Verification.failed([f"recovery plan {ctx.runbook.recovery_plan.name} does not exist"])
        problems = []
        if srm_plan.protected_vc_guid != s.running_guid:
            problems.append(f"recovery plan {srm_plan.name} protects {srm_plan.protected_site_name}, not {s.running}")
        names = group_names(ctx)
        in_plan = {g.id for g in s.dr.srm.plan_groups(srm_plan.id)}
        problems += [
            f"protection group {name} is not in plan {srm_plan.name}"
            for name, group in groups_here(ctx, names).items()
            if group is None or group.id not in in_plan
        ]
        if srm_plan.status == PlanStatus.DIRECTION_ERROR:
            problems.append(f"recovery plan {srm_plan.name} reports DIRECTION_ERROR")
        if problems:
            return Verification.failed(problems)
        return Verification.passed(
            f"recovery plan {srm_plan.name} protects {s.running} with {', '.join(names)} ({status_of(srm_plan)})"
        )


# --- plan runs ---------------------------------------------------------------------------------------------


class _PlanRun(Step):
    """A run of the recovery plan in the failback direction (protected where the VMs run now)."""

    operation: ClassVar[str]  # action kind, e.g. "test"
    done: ClassVar[frozenset[PlanStatus]]  # plan states (in the failback direction) meaning "already done"
    own: ClassVar[frozenset[PlanStatus]]  # states of this operation still running: follow it, do not start
    runs_at_recovery_site: ClassVar[bool] = False  # use the SRM of the site the plan recovers to

    def _dr(self, ctx: StepContext) -> DrSite:
        return ctx.dr(ctx.target) if self.runs_at_recovery_site else ctx.sides.dr

    def _start(self, dr: DrSite, plan_id: str) -> Task:
        raise NotImplementedError

    def plan(self, ctx: StepContext) -> tuple[Action, ...]:
        s = ctx.sides
        srm_plan = recovery_plan(ctx)
        name = ctx.runbook.recovery_plan.name
        if srm_plan is None or srm_plan.protected_vc_guid != s.running_guid:
            # Planned ahead of the steps that attach the plan in this direction; checked again before it runs.
            return (
                Action.make(
                    self.operation,
                    s.running,
                    [name],
                    protected_site=s.running,
                    forecast=True,
                    note="once the plan protects " + s.running,
                ),
            )
        if srm_plan.status in self.done:
            return ()
        # The journal records the plan's id at the SRM server the run calls, beside that server's site; apply
        # looks it up there again (each server has its own id for the plan).
        dr = self._dr(ctx)
        here = srm_plan if dr is s.dr else require_plan_at(dr, srm_plan.name)
        kind = self.operation
        if srm_plan.status in self.own or srm_plan.status == PlanStatus.WAITING_FOR_USER_INPUT:
            kind = "follow_" + self.operation
        return (
            Action.make(
                kind, s.running, [srm_plan.name], plan_id=here.id, srm_server=dr.site, status=status_of(srm_plan)
            ),
        )

    def apply(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        s = ctx.sides
        dr = self._dr(ctx)
        for action in actions:
            srm_plan = require_plan(ctx)
            if srm_plan.protected_vc_guid != s.running_guid:
                raise StepFailed(
                    f"recovery plan {srm_plan.name} protects {srm_plan.protected_site_name}, not "
                    f"{s.running}; attach the new protection group first (plan.attach_groups)"
                )
            # The plan as the server about to be called knows it (the migration runs at the recovery site's).
            here = srm_plan if dr is s.dr else require_plan_at(dr, srm_plan.name)
            start: Callable[[], Task] | None = None
            if not action.kind.startswith("follow_"):
                start = lambda plan_id=here.id: self._start(dr, plan_id)  # noqa: E731 - bound now, called once
            final = run_plan(ctx, dr, here.id, start, operation=self.operation)  # OperationFailed -> StepFailed
            ctx.action_done(action, {"plan_status": status_of(final)})

    def verify(self, ctx: StepContext) -> Verification:
        s = ctx.sides
        srm_plan = require_plan(ctx)
        problems = self.problems(ctx, srm_plan)
        if srm_plan.protected_vc_guid != s.running_guid:
            problems.insert(
                0, f"recovery plan {srm_plan.name} protects {srm_plan.protected_site_name}, not {s.running}"
            )
        if srm_plan.status not in self.done:
            problems.insert(
                0,
                f"recovery plan {srm_plan.name} is {status_of(srm_plan)}, expected "
                + " or ".join(sorted(str(d.value) for d in self.done)),
            )
        if problems:
            return Verification.failed(problems)
        return Verification.passed(f"recovery plan {srm_plan.name} is {status_of(srm_plan)}")

    def problems(self, ctx: StepContext, srm_plan: RecoveryPlan) -> list[str]:
        return []


@register
class PlanTest(_PlanRun):
    """Run a test recovery of the plan (sync first); prompts are answered only if prompts.dismiss lists them.

    Any other prompt stops the run naming it; answer it in SRM and resume the run, which follows the test
    SRM is still running instead of starting another.
    """

    name = "plan.test"
    undone_by = frozenset({"plan.cleanup", "plan.migrate"})  # both move the plan on from TEST_COMPLETE
    done_once_home = True
    impact = Impact.LOW
    operation = "test"
    done = frozenset({PlanStatus.TEST_COMPLETE})
    own = frozenset({PlanStatus.TEST_IN_PROGRESS})

    def _start(self, dr: DrSite, plan_id: str) -> Task:
        return dr.srm.test_plan(plan_id, wait=False)


@register
class PlanCleanup(_PlanRun):
    """Clean up after the test recovery, returning the plan to READY_STATE."""

    name = "plan.cleanup"
    undone_by = frozenset({"plan.migrate"})  # moves the plan on from READY_STATE
    done_once_home = True
    impact = Impact.LOW
    operation = "cleanup"
    done = frozenset({PlanStatus.READY_STATE})
    own = frozenset({PlanStatus.CLEANUP_IN_PROGRESS})

    def _start(self, dr: DrSite, plan_id: str) -> Task:
        return dr.srm.cleanup_plan(plan_id, wait=False)


@register
class PlanMigrate(_PlanRun):
    """Run the planned migration back to the original site (planned_failover and sync_data).

    High impact: the VMs are shut down where they run and started at the original site. Done when the plan
    is RECOVERY_COMPLETE in this direction and every VM is home (see steps.whereabouts.not_home: powered on, or
    registered there powered off when SRM recovered it so, e.g. startup action DO_NOT_POWER_ON).
    """

    name = "plan.migrate"
    needs_peer = frozenset({"srm"})  # see Step.needs_peer
    done_once_home = True
    impact = Impact.HIGH
    operation = "migrate"
    done = frozenset({PlanStatus.RECOVERY_COMPLETE})
    # RECOVERY_STARTED (a migration the sites' disconnection stopped) is not followed: nothing runs. Running
    # the recovery again at the recovery site, as this step does, completes it.
    own = frozenset({PlanStatus.RECOVERY_IN_PROGRESS})
    runs_at_recovery_site = True  # recovery is driven from the site the VMs go to

    def _start(self, dr: DrSite, plan_id: str) -> Task:
        return dr.srm.recover_plan(plan_id, planned=True, sync_data=True, wait=False)

    def problems(self, ctx: StepContext, srm_plan: RecoveryPlan) -> list[str]:
        return not_home(ctx)
