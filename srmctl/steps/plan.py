"""The recovery plan steps: detach and attach protection groups (flipping the plan's direction while it is
empty, so the same plan object is kept), test and cleanup, the planned migration, and SRM's own reprotect."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from srmctl.adapters.dr.models import PlanStatus, RecoveryPlan, Task
from srmctl.adapters.dr.site import DrSite
from srmctl.errors import GuardrailViolation, OperationFailed, StepFailed
from srmctl.steps.base import Action, Impact, Step, Verification, not_home, register
from srmctl.steps.context import StepContext
from srmctl.steps.dr_state import recovery_plan, require_plan, run_plan, stale_groups, status_of
from srmctl.steps.executor import plan_sequence, run_sequence
from srmctl.steps.group_layout import group_names, groups_here
from srmctl.steps.orphans import stale_vms, why_not_power_off
from srmctl.steps.protection import REBUILD


@register
class PlanDetachGroups(Step):
    """Remove the stale protection groups (those groups.delete will delete) from the recovery plan.

    One reconfigure call sends the plan's full group list minus the stale groups; other groups stay.
    """

    name = "plan.detach_groups"
    done_once_home = True
    impact = Impact.LOW

    def plan(self, ctx: StepContext) -> tuple[Action, ...]:
        plan = recovery_plan(ctx)
        if plan is None:
            return ()
        s = ctx.sides
        in_plan = {g.id for g in s.dr.srm.plan_groups(plan.id)}
        stale = [g for g in stale_groups(ctx) if g.id in in_plan]
        if not stale:
            return ()
        return (
            Action.make(
                "remove_groups_from_plan",
                s.running,
                [plan.name],
                plan_id=plan.id,
                groups=tuple(g.name for g in stale),
                group_ids=tuple(g.id for g in stale),
            ),
        )

    def apply(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        dr = ctx.sides.dr
        for action in actions:
            plan_id, remove = action.detail("plan_id"), set(action.listed("group_ids"))
            # The list is read again right before the call: groups added meanwhile by someone else are kept.
            keep = [g.id for g in dr.srm.plan_groups(plan_id) if g.id not in remove]
            dr.srm.wait_task(dr.srm.reconfigure_plan(plan_id, protection_groups=keep, wait=False))
            ctx.action_done(action, {"groups_left": len(keep)})

    def verify(self, ctx: StepContext) -> Verification:
        plan = recovery_plan(ctx)
        if plan is None:
            return Verification.passed("the recovery plan does not exist: nothing to detach")
        in_plan = {g.id for g in ctx.sides.dr.srm.plan_groups(plan.id)}
        left = [g.name for g in stale_groups(ctx) if g.id in in_plan]
        if left:
            return Verification.failed([f"{name} is still in recovery plan {plan.name}" for name in left])
        return Verification.passed(f"no stale protection group in recovery plan {plan.name}")


@register
class PlanAttachGroups(Step):
    """Point the recovery plan at the new protection groups: flip its direction if needed, then add the groups.
    The direction can only change while the plan has no protection groups, so the same plan object is kept
    (its id, history and anything outside the groups survive); a missing plan is created."""

    name = "plan.attach_groups"
    undone_by = frozenset({"plan.migrate"})  # a migration under way moves the plan, its VMs and replications on
    done_once_home = True
    impact = Impact.LOW

    def plan(self, ctx: StepContext) -> tuple[Action, ...]:
        s = ctx.sides
        plan = recovery_plan(ctx)
        names = group_names(ctx)
        if plan is None:
            return (
                Action.make(
                    "create_plan", s.running, [ctx.runbook.recovery_plan.name], protected_site=s.running, groups=names
                ),
            )
        actions = []
        if plan.protected_vc_guid != s.running_guid:
            actions.append(
                Action.make(
                    "flip_plan_direction",
                    s.running,
                    [plan.name],
                    plan_id=plan.id,
                    protected_site=s.running,
                    was=plan.protected_site_name or "?",
                )
            )
        in_plan = {g.id for g in s.dr.srm.plan_groups(plan.id)}
        for name, group in groups_here(ctx, names).items():
            if group is None or group.id not in in_plan:
                actions.append(Action.make("add_group_to_plan", s.running, [plan.name], plan_id=plan.id, group=name))
        return tuple(actions)

    def apply(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
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
            plan_id = action.detail("plan_id")
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

    def verify(self, ctx: StepContext) -> Verification:
        s = ctx.sides
        plan = recovery_plan(ctx)
        if plan is None:
            return Verification.failed([f"recovery plan {ctx.runbook.recovery_plan.name} does not exist"])
        problems = []
        if plan.protected_vc_guid != s.running_guid:
            problems.append(f"recovery plan {plan.name} protects {plan.protected_site_name}, not {s.running}")
        names = group_names(ctx)
        in_plan = {g.id for g in s.dr.srm.plan_groups(plan.id)}
        problems += [
            f"protection group {name} is not in plan {plan.name}"
            for name, group in groups_here(ctx, names).items()
            if group is None or group.id not in in_plan
        ]
        if plan.status == PlanStatus.DIRECTION_ERROR:
            problems.append(f"recovery plan {plan.name} reports DIRECTION_ERROR")
        if problems:
            return Verification.failed(problems)
        return Verification.passed(
            f"recovery plan {plan.name} protects {s.running} with {', '.join(names)} ({status_of(plan)})"
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
        plan = recovery_plan(ctx)
        name = ctx.runbook.recovery_plan.name
        if plan is None or plan.protected_vc_guid != s.running_guid:
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
        if plan.status in self.done:
            return ()
        if plan.status in self.own or plan.status == PlanStatus.WAITING_FOR_USER_INPUT:
            return (
                Action.make(
                    "follow_" + self.operation, s.running, [plan.name], plan_id=plan.id, status=status_of(plan)
                ),
            )
        return (Action.make(self.operation, s.running, [plan.name], plan_id=plan.id, status=status_of(plan)),)

    def apply(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        s = ctx.sides
        dr = self._dr(ctx)
        for action in actions:
            plan = require_plan(ctx)
            if plan.protected_vc_guid != s.running_guid:
                raise StepFailed(
                    f"recovery plan {plan.name} protects {plan.protected_site_name}, not "
                    f"{s.running}; attach the new protection group first (plan.attach_groups)"
                )
            start: Callable[[], Task] | None = None
            if not action.kind.startswith("follow_"):
                start = lambda plan_id=plan.id: self._start(dr, plan_id)  # noqa: E731 - bound now, called once
            final = run_plan(ctx, dr, plan.id, start, operation=self.operation)  # OperationFailed -> StepFailed
            ctx.action_done(action, {"plan_status": status_of(final)})

    def verify(self, ctx: StepContext) -> Verification:
        s = ctx.sides
        plan = require_plan(ctx)
        problems = self.problems(ctx, plan)
        if plan.protected_vc_guid != s.running_guid:
            problems.insert(0, f"recovery plan {plan.name} protects {plan.protected_site_name}, not {s.running}")
        if plan.status not in self.done:
            problems.insert(
                0,
                f"recovery plan {plan.name} is {status_of(plan)}, expected "
                + " or ".join(sorted(str(d.value) for d in self.done)),
            )
        if problems:
            return Verification.failed(problems)
        return Verification.passed(f"recovery plan {plan.name} is {status_of(plan)}")

    def problems(self, ctx: StepContext, plan: RecoveryPlan) -> list[str]:
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
    is RECOVERY_COMPLETE in this direction and every VM is home (see steps.base.not_home: powered on, or
    registered there powered off when SRM recovered it so, e.g. startup action DO_NOT_POWER_ON).
    """

    name = "plan.migrate"
    done_once_home = True
    impact = Impact.HIGH
    operation = "migrate"
    done = frozenset({PlanStatus.RECOVERY_COMPLETE})
    own = frozenset({PlanStatus.RECOVERY_IN_PROGRESS, PlanStatus.RECOVERY_STARTED})
    runs_at_recovery_site = True  # recovery is driven from the site the VMs go to

    def _start(self, dr: DrSite, plan_id: str) -> Task:
        return dr.srm.recover_plan(plan_id, planned=True, sync_data=True, wait=False)

    def problems(self, ctx: StepContext, plan: RecoveryPlan) -> list[str]:
        return not_home(ctx)


# --- SRM's own reprotect -----------------------------------------------------------------------------------

#: A disaster recovery whose protected site came back: SRM wants the recovery run again first.
SPLIT_BRAIN = frozenset({PlanStatus.RECOVERY_SPLIT_BRAIN})
REPROTECTABLE = frozenset(
    {
        PlanStatus.RECOVERY_COMPLETE,
        PlanStatus.DISASTER_RECOVERY_COMPLETE,
        PlanStatus.INCOMPLETE_REPROTECT,
        PlanStatus.PARTIAL_REPROTECT,
        PlanStatus.REPROTECT_INTERRUPTED,
    }
)


@register
class PlanReprotect(Step):
    """Reprotect the recovered plan with SRM's own reprotect (strategy reprotect or auto).

    Whichever way the plan last recovered, reprotect makes its recovery site the protected one. With
    strategy auto, a reprotect that is unavailable (the plan is in no state to reprotect) or fails is
    replaced by srmctl's rebuild sequence in the same direction, and the fallback is journaled.
    """

    name = "plan.reprotect"
    undone_by = frozenset({"plan.test", "plan.migrate"})  # move the plan on from READY_STATE
    done_once_home = True
    impact = Impact.LOW

    def plan(self, ctx: StepContext) -> tuple[Action, ...]:
        strategy = ctx.runbook.strategy
        if strategy == "rebuild":
            return ()
        plan = require_plan(ctx)
        if plan.status == PlanStatus.READY_STATE:
            return ()
        site = plan.recovery_site_name or ctx.source
        if plan.status == PlanStatus.REPROTECT_IN_PROGRESS:
            return (Action.make("follow_reprotect", site, [plan.name], plan_id=plan.id),)
        recovering = plan.status in (PlanStatus.RECOVERY_IN_PROGRESS, PlanStatus.RECOVERY_STARTED)
        if recovering and ctx.runbook.reprotect.force:
            # A resume after the split brain's planned migration was started: follow it, then reprotect.
            return (
                Action.make("follow_recovery", site, [plan.name], plan_id=plan.id),
                Action.make(
                    "reprotect",
                    site,
                    [plan.name],
                    plan_id=plan.id,
                    protected_site=site,
                    status=str(PlanStatus.RECOVERY_COMPLETE.value),
                    powers_off=(),
                ),
            )
        split_brain = plan.status in SPLIT_BRAIN
        if plan.status in REPROTECTABLE or (split_brain and ctx.runbook.reprotect.force):
            # SRM's reprotect (and the planned migration a split brain needs first) powers off the stale copies
            # at the old protected site itself: the same guardrail as orphans.unregister applies to
            # powered-on ones (split brain after DR).
            running = [s for s in stale_vms(ctx) if s.record.powered_on]
            refused = [f"{s.record.name}: {why}" for s in running if (why := why_not_power_off(ctx, s))]
            if refused:
                raise GuardrailViolation(
                    f"reprotect would power off stale VMs at {ctx.target} that are powered on: " + "; ".join(refused)
                )
            powers_off = tuple(s.record.name for s in running)
            reprotect = Action.make(
                "reprotect",
                site,
                [plan.name],
                high_impact=bool(running) and not split_brain,
                plan_id=plan.id,
                status=status_of(plan),
                protected_site=site,
                powers_off=() if split_brain else powers_off,
            )
            if not split_brain:
                return (reprotect,)
            # SRM reprotects a split-brain plan only after its recovery ran again as a planned migration
            # (RecoveryPlanInfo.status RECOVERY_SPLIT_BRAIN: "Run recovery again"); reprotect.force says so.
            complete = Action.make(
                "complete_recovery",
                site,
                [plan.name],
                high_impact=bool(running),
                plan_id=plan.id,
                status=status_of(plan),
                powers_off=powers_off,
            )
            return (complete, reprotect.with_details(status=str(PlanStatus.RECOVERY_COMPLETE.value)))
        reason = f"plan {plan.name} is {status_of(plan)}, which SRM cannot reprotect"
        if split_brain:
            reason = (
                f"plan {plan.name} is {status_of(plan)}: after the disaster recovery the site the VMs "
                f"left is back, and SRM reprotects the plan only once its recovery has been run again as "
                "a planned migration"
            )
        if strategy == "reprotect":
            raise StepFailed(
                reason
                + (
                    "; set reprotect.force: true in the runbook to let srmctl run that "
                    "migration (it shuts down the stale VMs), or use strategy auto or "
                    "rebuild"
                    if split_brain
                    else ""
                )
            )
        direction = self._rebuild_direction(ctx, plan)
        marker = Action.make("fall_back_to_rebuild", direction.source, [plan.name], reason=reason)
        return (marker, *plan_sequence(direction, REBUILD))

    def apply(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        first = actions[0]
        plan = require_plan(ctx)
        if first.kind == "fall_back_to_rebuild":
            self._fall_back(ctx, plan, first, first.detail("reason"))
            return
        dr = ctx.dr(first.site)
        if first.kind in ("complete_recovery", "follow_recovery"):
            self._complete_recovery(ctx, dr, plan, first)
            actions, first = actions[1:], actions[1]
        start: Callable[[], Task] | None = None
        if first.kind == "reprotect":
            start = lambda: dr.srm.reprotect_plan(plan.id, wait=False)  # noqa: E731 - called once, inside run_plan
        try:
            final = run_plan(ctx, dr, plan.id, start, operation="reprotect")
            if final.status != PlanStatus.READY_STATE:
                raise StepFailed(f"reprotect left plan {plan.name} {status_of(final)}")
        except (StepFailed, OperationFailed) as error:
            if ctx.runbook.strategy != "auto":
                raise
            self._fall_back(ctx, require_plan(ctx), first, f"reprotect failed: {error.message}")
            return
        ctx.action_done(first, {"plan_status": status_of(final)})

    def _complete_recovery(self, ctx: StepContext, dr: DrSite, plan: RecoveryPlan, action: Action) -> None:
        """Run the split-brain plan's recovery again as a planned migration (no data sync: the recovered VMs
        are the live ones), so that SRM accepts the reprotect."""
        if action.high_impact and not ctx.confirmed:
            raise GuardrailViolation(
                "the planned migration that resolves the split brain powers off stale VMs "
                f"({', '.join(action.listed('powers_off'))}): it needs the operator's "
                "confirmation (answer the prompt or pass --yes)"
            )
        start: Callable[[], Task] | None = None
        if action.kind == "complete_recovery":
            start = lambda: dr.srm.recover_plan(plan.id, planned=True, sync_data=False, wait=False)  # noqa: E731
        final = run_plan(ctx, dr, plan.id, start, operation="complete_recovery")
        if final.status != PlanStatus.RECOVERY_COMPLETE:
            raise StepFailed(
                f"running the recovery of plan {plan.name} again left it {status_of(final)}, not "
                "RECOVERY_COMPLETE; SRM will not reprotect it"
            )
        ctx.action_done(action, {"plan_status": status_of(final)})

    @staticmethod
    def _rebuild_direction(ctx: StepContext, plan: RecoveryPlan) -> StepContext:
        """The direction of the rebuild sequence: towards the plan's current recovery site, where the VMs run."""
        guid_of_target = ctx.dr(ctx.source).remote_vc_guid
        return ctx if plan.protected_vc_guid == guid_of_target else ctx.opposite()

    def _fall_back(self, ctx: StepContext, plan: RecoveryPlan, action: Action, reason: str) -> None:
        ctx.record("reprotect_fallback", {"plan": plan.name, "reason": reason, "strategy": "auto"})
        run_sequence(self._rebuild_direction(ctx, plan), REBUILD)
        ctx.action_done(action, {"fallback": "rebuild", "reason": reason})

    def verify(self, ctx: StepContext) -> Verification:
        if ctx.runbook.strategy == "rebuild":
            return Verification.passed("not used (strategy: rebuild)")
        plan = require_plan(ctx)
        if plan.status != PlanStatus.READY_STATE:
            return Verification.failed([f"recovery plan {plan.name} is {status_of(plan)}, not READY_STATE"])
        return Verification.passed(f"recovery plan {plan.name} protects {plan.protected_site_name} (READY_STATE)")
