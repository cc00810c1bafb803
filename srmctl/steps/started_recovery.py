"""A failover SRM did not complete: the plan is RECOVERY_STARTED, "A recovery was started but not completed. The
sites might have been disconnected during the recovery operation. Log into the recovery site or reconnect the
sites to complete the recovery" (srm-api-v2, RecoveryPlanInfo.status). Nothing runs; the recovery site's SRM
completes it when its recovery is run again. ``preflight.check`` says so, or (``recovery.complete_started``)
does it, before the failback changes anything (docs/runbook.md, "recovery")."""

from __future__ import annotations

from srmctl.adapters.dr.models import PlanStatus, RecoveryPlan, Task
from srmctl.errors import StepFailed
from srmctl.steps.base import Action
from srmctl.steps.context import StepContext
from srmctl.steps.dr_state import recovery_plan, require_plan, run_plan, status_of


def _plan(ctx: StepContext, plans: list[RecoveryPlan] | None = None) -> RecoveryPlan | None:
    # A run of vCenter-only steps does not connect to SRM: nothing to say then.
    return recovery_plan(ctx, plans) if ctx.source in ctx.dr_sites else None


def recovery_started(ctx: StepContext, plans: list[RecoveryPlan] | None = None) -> str | None:
    """What to do about a RECOVERY_STARTED plan the runbook does not let srmctl complete (None otherwise);
    ``plans``: the running site's plan listing, when the caller has it."""
    plan = _plan(ctx, plans)
    if plan is None or plan.status != PlanStatus.RECOVERY_STARTED or ctx.runbook.recovery.complete_started:
        return None
    return (
        f"recovery plan {plan.name} is RECOVERY_STARTED: its failover to {ctx.source} was started but not "
        "completed (the sites may have been disconnected during it); complete it from the recovery site: "
        f"reconnect the sites and run the plan's recovery at {ctx.source}'s SRM, then run the failback again, "
        "or set recovery.complete_started: true in the runbook to let srmctl complete it"
    )


def started_recovery(ctx: StepContext, plans: list[RecoveryPlan] | None = None) -> Action | None:
    """The action completing a RECOVERY_STARTED plan, when the runbook allows it; ``plans``: the running site's
    plan listing, when the caller has it."""
    plan = _plan(ctx, plans)
    if plan is None or plan.status != PlanStatus.RECOVERY_STARTED or not ctx.runbook.recovery.complete_started:
        return None
    return Action.make(
        "complete_started_recovery",
        ctx.source,
        [plan.name],
        high_impact=True,  # VMs are shut down at the site they left and started at the recovery site
        plan_id=plan.id,
        srm_server=ctx.source,
        status=status_of(plan),
    )


def complete_recovery(ctx: StepContext, action: Action) -> None:
    """Run the plan's recovery again at the recovery site's SRM (the site the VMs come back from): a planned
    migration while the sites are connected, else a disaster recovery that skips the other site."""
    dr = ctx.sides.dr
    plan = require_plan(ctx)  # looked up again at the server about to be called
    remote = dr.srm.pairing().remote_srm_server
    connected = remote is None or str(getattr(remote.server_status, "value", remote.server_status)) == "OK"

    def start() -> Task:
        if connected:
            return dr.srm.recover_plan(plan.id, planned=True, sync_data=True, wait=False)
        return dr.srm.recover_plan(plan.id, planned=False, skip_protection_site_operations=True, wait=False)

    final = run_plan(ctx, dr, plan.id, start, operation="complete_started_recovery")
    if final.status == PlanStatus.RECOVERY_STARTED or final.status in (
        PlanStatus.INCOMPLETE_RECOVERY,
        PlanStatus.RECOVERY_INTERRUPTED,
    ):
        raise StepFailed(f"completing the recovery of plan {plan.name} left it {status_of(final)}")
    ctx.action_done(action, {"plan_status": status_of(final), "planned": connected})
