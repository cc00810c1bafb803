"""``plan.reprotect``: SRM's own reprotect of the recovered plan, with the split brain's planned migration
first when the runbook allows it, and srmctl's rebuild sequence as the fallback of strategy auto."""

from __future__ import annotations

from collections.abc import Callable

from srmctl.adapters.dr.models import PlanStatus, RecoveryPlan, Task
from srmctl.adapters.dr.site import DrSite
from srmctl.errors import GuardrailViolation, OperationFailed, StepFailed
from srmctl.steps.base import Action, Impact, Step, Verification, register
from srmctl.steps.context import StepContext
from srmctl.steps.dr_state import require_plan, require_plan_at, run_plan, site_of_vc, status_of
from srmctl.steps.executor import plan_sequence, run_sequence
from srmctl.steps.orphans import stale_vms, why_not_power_off
from srmctl.steps.protection import REBUILD

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
    needs_peer = frozenset({"srm"})  # see Step.needs_peer
    undone_by = frozenset({"plan.test", "plan.migrate"})  # move the plan on from READY_STATE
    done_once_home = True
    impact = Impact.LOW

    def plan(self, ctx: StepContext) -> tuple[Action, ...]:
        strategy = ctx.runbook.strategy
        if strategy == "rebuild":
            return ()
        srm_plan = require_plan(ctx)
        if srm_plan.status == PlanStatus.READY_STATE:
            return ()
        # The site the plan recovers to, by its vCenter (SRM's site names are not the runbook's keys).
        site = site_of_vc(ctx, srm_plan.recovery_vc_guid)
        # Journaled with the plan's id at the server the actions call, and that server's site.
        dr = ctx.dr(site)
        plan_id = (srm_plan if dr is ctx.sides.dr else require_plan_at(dr, srm_plan.name)).id
        if srm_plan.status == PlanStatus.REPROTECT_IN_PROGRESS:
            return (Action.make("follow_reprotect", site, [srm_plan.name], plan_id=plan_id, srm_server=site),)
        recovering = srm_plan.status in (PlanStatus.RECOVERY_IN_PROGRESS, PlanStatus.RECOVERY_STARTED)
        if recovering and ctx.runbook.reprotect.force:
            # A resume after the split brain's planned migration was started: follow it, then reprotect.
            return (
                Action.make("follow_recovery", site, [srm_plan.name], plan_id=plan_id, srm_server=site),
                Action.make(
                    "reprotect",
                    site,
                    [srm_plan.name],
                    plan_id=plan_id,
                    srm_server=site,
                    protected_site=site,
                    status=str(PlanStatus.RECOVERY_COMPLETE.value),
                    powers_off=(),
                ),
            )
        split_brain = srm_plan.status in SPLIT_BRAIN
        if srm_plan.status in REPROTECTABLE or (split_brain and ctx.runbook.reprotect.force):
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
                [srm_plan.name],
                high_impact=bool(running) and not split_brain,
                plan_id=plan_id,
                srm_server=site,
                status=status_of(srm_plan),
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
                [srm_plan.name],
                high_impact=bool(running),
                plan_id=plan_id,
                srm_server=site,
                status=status_of(srm_plan),
                powers_off=powers_off,
            )
            return (complete, reprotect.with_details(status=str(PlanStatus.RECOVERY_COMPLETE.value)))
        reason = f"plan {srm_plan.name} is {status_of(srm_plan)}, which SRM cannot reprotect"
        if split_brain:
            reason = (
                f"plan {srm_plan.name} is {status_of(srm_plan)}: after the disaster recovery the site the VMs "
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
        direction = self._rebuild_direction(ctx, srm_plan)
        marker = Action.make("fall_back_to_rebuild", direction.source, [srm_plan.name], reason=reason)
        return (marker, *plan_sequence(direction, REBUILD))

    def apply(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        first = actions[0]
        srm_plan = require_plan(ctx)
        if first.kind == "fall_back_to_rebuild":
            self._fall_back(ctx, srm_plan, first, first.detail("reason"))
            return
        dr = ctx.dr(first.site)
        # The plan as the SRM server about to be called knows it: each server has its own id for it.
        srm_plan = srm_plan if dr is ctx.sides.dr else require_plan_at(dr, srm_plan.name)
        if first.kind in ("complete_recovery", "follow_recovery"):
            self._complete_recovery(ctx, dr, srm_plan, first)
            actions, first = actions[1:], actions[1]
        start: Callable[[], Task] | None = None
        if first.kind == "reprotect":
            start = lambda: dr.srm.reprotect_plan(srm_plan.id, wait=False)  # noqa: E731 - called once, inside run_plan
        try:
            final = run_plan(ctx, dr, srm_plan.id, start, operation="reprotect")
            if final.status != PlanStatus.READY_STATE:
                raise StepFailed(f"reprotect left plan {srm_plan.name} {status_of(final)}")
        except (StepFailed, OperationFailed) as error:
            if ctx.runbook.strategy != "auto":
                raise
            self._fall_back(ctx, require_plan(ctx), first, f"reprotect failed: {error.message}")
            return
        ctx.action_done(first, {"plan_status": status_of(final)})

    def _complete_recovery(self, ctx: StepContext, dr: DrSite, srm_plan: RecoveryPlan, action: Action) -> None:
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
            start = lambda: dr.srm.recover_plan(srm_plan.id, planned=True, sync_data=False, wait=False)  # noqa: E731
        final = run_plan(ctx, dr, srm_plan.id, start, operation="complete_recovery")
        if final.status != PlanStatus.RECOVERY_COMPLETE:
            raise StepFailed(
                f"running the recovery of plan {srm_plan.name} again left it {status_of(final)}, not "
                "RECOVERY_COMPLETE; SRM will not reprotect it"
            )
        ctx.action_done(action, {"plan_status": status_of(final)})

    @staticmethod
    def _rebuild_direction(ctx: StepContext, srm_plan: RecoveryPlan) -> StepContext:
        """The direction of the rebuild sequence: towards the plan's current recovery site, where the VMs run."""
        guid_of_target = ctx.dr(ctx.source).remote_vc_guid
        return ctx if srm_plan.protected_vc_guid == guid_of_target else ctx.opposite()

    def _fall_back(self, ctx: StepContext, srm_plan: RecoveryPlan, action: Action, reason: str) -> None:
        ctx.record("reprotect_fallback", {"plan": srm_plan.name, "reason": reason, "strategy": "auto"})
        run_sequence(self._rebuild_direction(ctx, srm_plan), REBUILD)
        ctx.action_done(action, {"fallback": "rebuild", "reason": reason})

    def verify(self, ctx: StepContext) -> Verification:
        if ctx.runbook.strategy == "rebuild":
            return Verification.passed("not used (strategy: rebuild)")
        srm_plan = require_plan(ctx)
        if srm_plan.status != PlanStatus.READY_STATE:
            return Verification.failed([f"recovery plan {srm_plan.name} is {status_of(srm_plan)}, not READY_STATE"])
        return Verification.passed(
            f"recovery plan {srm_plan.name} protects {srm_plan.protected_site_name} (READY_STATE)"
        )
