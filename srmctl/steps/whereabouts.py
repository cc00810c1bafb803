"""Where the runbook's VMs are: home at the original site, still away at the recovery site, and, when power
states cannot tell (a VM recovered powered off), which site SRM's recovery plan last recovered them to."""

from __future__ import annotations

from srmctl.adapters.dr.models import PlanStatus
from srmctl.errors import NotFound, SrmctlError
from srmctl.steps.base import Action, Step, Verification
from srmctl.steps.context import StepContext
from srmctl.steps.dr_state import recovery_plan, vm_names
from srmctl.steps.vms import describe, matching


def vms_home(ctx: StepContext) -> bool:
    """Every VM of the runbook is home: registered at ``ctx.target`` in the power state its recovery asked
    for, and not running at ``ctx.source`` (see :func:`not_home`)."""
    return bool(ctx.runbook.vms) and not not_home(ctx)


def not_home(ctx: StepContext) -> list[str]:
    """A problem per runbook VM that is not home.

    A VM is home when it runs (powered on, once) at the original site (``ctx.target``) and not at the
    recovery site, or, for a VM that SRM recovers powered off (startup action ``DO_NOT_POWER_ON``, or a VM
    that was powered off before the failover), when exactly one copy is registered at home, none runs at
    the recovery site, and either no copy is left there or the recovery plan's last recovery brought the
    VMs to the original site. Power state alone cannot tell such a VM from the stale copy at home before
    the failback (both copies are off), so SRM's plan decides; without SRM (a vCenter-only run) it is not
    home. After a disaster recovery the stale copy at home may be powered on again while the live one runs
    at the recovery site: that VM is not home yet."""
    vm_names(ctx)  # the runbook's VMs must be listed (or resolved from 'select')
    assert ctx.runbook.vms is not None
    home, away = ctx.ops(ctx.target).inventory(), ctx.ops(ctx.source).inventory()
    problems = []
    recovered_home: list[bool] = []  # asked of SRM once, only for VMs that are off everywhere
    for vm in ctx.runbook.vms:
        copies, left = matching(home, vm), matching(away, vm)
        running = [r for r in copies if r.powered_on]
        if not running:
            if len(copies) != 1 or any(r.powered_on for r in left):
                problems.append(f"{describe(vm)} is not running at {ctx.target}")
            elif left:
                if not recovered_home:
                    recovered_home.append(recovered_to(ctx, home=True))
                if not recovered_home[0]:
                    problems.append(
                        f"{describe(vm)} is not running at {ctx.target} (powered off there and at "
                        f"{ctx.source}, and the recovery plan has not recovered the VMs to "
                        f"{ctx.target})"
                    )
        elif len(running) > 1:
            problems.append(f"{describe(vm)} runs {len(running)} times at {ctx.target}")
        elif any(r.powered_on for r in left):
            problems.append(f"{describe(vm)} still runs at {ctx.source} (its copy at {ctx.target} is stale)")
    return problems


def recovered_to(ctx: StepContext, *, home: bool) -> bool:
    """The runbook's recovery plan last recovered its VMs to ``ctx.target`` (``home``) or to ``ctx.source``:
    SRM's word on which copy is live when power states cannot tell (a VM recovered powered off). False when
    SRM is not part of this run or the plan does not exist."""
    try:
        sides = ctx.sides
    except NotFound:
        return False
    srm_plan = recovery_plan(ctx)
    recovered = {
        PlanStatus.RECOVERY_COMPLETE,
        PlanStatus.DISASTER_RECOVERY_COMPLETE,
        PlanStatus.RECOVERY_SPLIT_BRAIN,
        PlanStatus.INCOMPLETE_REPROTECT,
        PlanStatus.REPROTECT_INTERRUPTED,
    }
    guid = sides.home_guid if home else sides.running_guid
    return srm_plan is not None and srm_plan.recovery_vc_guid == guid and srm_plan.status in recovered


def planned(step: Step, ctx: StepContext) -> tuple[Action, ...]:
    """``step.plan(ctx)``, or nothing once the VMs are home (see :attr:`Step.done_once_home`)."""
    if step.done_once_home and vms_home(ctx):
        return ()
    return tuple(step.plan(ctx))


def verified(step: Step, ctx: StepContext) -> Verification:
    """``step.verify(ctx)``, or passed once the VMs are home (see :attr:`Step.done_once_home`): the step's own
    check speaks when it holds (e.g. plan.migrate right after migrating), else the VMs being home does."""
    if not (step.done_once_home and vms_home(ctx)):
        return step.verify(ctx)
    try:
        own = step.verify(ctx)
    except SrmctlError:  # e.g. nothing to compare with any more: home is what counts now
        own = Verification.failed(["not applicable"])
    return own if own.ok else Verification.passed(f"the VMs run at {ctx.target}: nothing left for {step.name}")
