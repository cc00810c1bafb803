"""What the SRM/VR steps observe, shared by both directions.

Every SRM/VR step works on a *direction* (:attr:`StepContext.sides`): the VMs run at ``ctx.source`` (the
new protected site, source of the new replication) and the stale protection points from ``ctx.target`` (the
old protected site, where the orphaned VM files are, target of the new replication). The failback uses the
context as the runbook gives it; ``protection.restore`` runs the same steps on :meth:`StepContext.opposite`.
All SRM/VR calls go through the SRM and VR of ``ctx.source``, which are logged in to the paired site as well.

Errors raised here do not name the step: the executor does (see :mod:`srmctl.steps.executor`).
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable

from srmctl.adapters.dr import DrApiError
from srmctl.adapters.dr.models import (
    PlanStatus,
    ProtectionGroup,
    RecoveryPlan,
    Replication,
    Task,
    TaskStatus,
    UserPrompt,
    VrVm,
    text,
)
from srmctl.adapters.dr.site import DrSite
from srmctl.adapters.dr.srm_history import HistoryReport
from srmctl.errors import Aborted, Ambiguous, GuardrailViolation, StepFailed
from srmctl.steps.context import StepContext
from srmctl.steps.history import record_history

#: Plan states in which SRM is running something on the plan (a run srmctl can wait for after a resume).
#: Not RECOVERY_STARTED: "A recovery was started but not completed. The sites might have been disconnected
#: during the recovery operation. Log into the recovery site or reconnect the sites to complete the recovery"
#: (srm-api-v2, RecoveryPlanInfo.status): nothing runs, someone must run the recovery again.
PLAN_BUSY = frozenset(
    {
        PlanStatus.TEST_IN_PROGRESS,
        PlanStatus.CLEANUP_IN_PROGRESS,
        PlanStatus.RECOVERY_IN_PROGRESS,
        PlanStatus.REPROTECT_IN_PROGRESS,
        PlanStatus.WAITING_FOR_USER_INPUT,
        PlanStatus.CANCEL_IN_PROGRESS,
        PlanStatus.DELETING,
    }
)


def vm_names(ctx: StepContext) -> tuple[str, ...]:
    if ctx.runbook.vms is None:
        # The engine turns 'select:' into a VM list when a run starts; a context without one has no VMs.
        raise StepFailed(
            "the runbook's VMs are not resolved: list them under 'vms' (a 'select' is resolved when a run starts)"
        )
    return ctx.runbook.vm_names


def is_missing(error: DrApiError) -> bool:
    """The object is gone already (e.g. removed by an earlier attempt whose journal line was lost)."""
    return error.status == 404


# --- recovery plan and protection groups -----------------------------------------------------------------


def recovery_plan(ctx: StepContext, plans: list[RecoveryPlan] | None = None) -> RecoveryPlan | None:
    """The runbook's recovery plan as the running site's SRM server knows it (None when there is none), from
    ``plans`` when the caller listed them there."""
    return plan_at(ctx.sides.dr, ctx.runbook.recovery_plan.name, plans)


def plan_at(dr: DrSite, name: str, plans: list[RecoveryPlan] | None = None) -> RecoveryPlan | None:
    """The recovery plan called ``name`` as ``dr``'s SRM server knows it (from ``plans``, that server's listing,
    when the caller has it). Each SRM server of a pair has its own object for the plan, with its own id (the
    peer's id is not found there), so a plan is looked up at the server about to be called, never carried over
    from the other one (docs/architecture.md, section 7)."""
    found = [p for p in (dr.srm.plans() if plans is None else plans) if p.name == name]
    if len(found) > 1:
        raise Ambiguous(f"recovery plan {name!r}", [p.id for p in found])
    return found[0] if found else None


def require_plan_at(dr: DrSite, name: str) -> RecoveryPlan:
    plan = plan_at(dr, name)
    if plan is None:
        raise StepFailed(f"recovery plan {name!r} does not exist at {dr.site}")
    return plan


def site_of_vc(ctx: StepContext, vc_guid: str | None) -> str:
    """The runbook site whose connected vCenter has instance UUID ``vc_guid``. SRM names sites as they were
    installed (often the vCenter's host name), so its sites are matched to the runbook's by vCenter, never by
    name."""
    uuids = {site: ctx.ops(site).session.instance_uuid for site in (ctx.source, ctx.target)}
    for site, uuid in uuids.items():
        if uuid == vc_guid:
            return site
    raise StepFailed(
        f"SRM names vCenter {vc_guid}, which is no runbook site's: "
        + ", ".join(f"{site}'s vCenter is {uuid}" for site, uuid in uuids.items())
    )


def vcenter_mismatches(ctx: StepContext) -> list[str]:
    """Each connected site whose SRM/VR pairing names another vCenter than the one the runbook connects to
    for that site (the runbook's sites.<site> endpoints mixed up, or another pair's SRM)."""
    problems = []
    for site, dr in sorted(ctx.dr_sites.items()):
        if site not in ctx.sites:
            continue
        uuid = ctx.ops(site).session.instance_uuid
        if dr.local_vc_guid != uuid:
            problems.append(
                f"SRM/VR of site {site} belong to vCenter {dr.local_vc_guid}, but the runbook's vCenter of "
                f"{site} is {uuid}: the runbook's site endpoints do not describe one site pair"
            )
    return problems


def plan_not_found(dr: DrSite, site: str, name: str, plans: list[RecoveryPlan] | None = None) -> str | None:
    """Why the runbook's recovery plan cannot be used, when SRM at ``site`` has no plan called ``name``
    (listing those it has, as a typo is the usual cause); None when it exists. ``plans``: SRM's listing,
    when the caller has it."""
    names = sorted(p.name for p in (dr.srm.plans() if plans is None else plans))
    if name in names:
        return None
    return (
        f"recovery plan {name!r} not found at {site} (recovery_plan.name); plans there: "
        f"{', '.join(repr(p) for p in names) or 'none'}"
    )


def require_plan(ctx: StepContext) -> RecoveryPlan:
    plan = recovery_plan(ctx)
    if plan is None:
        raise StepFailed(f"recovery plan {ctx.runbook.recovery_plan.name!r} does not exist")
    return plan


def stale_groups(ctx: StepContext) -> list[ProtectionGroup]:
    """The protection groups of the old direction that the runbook selects: protected at ``ctx.target`` and
    either named by the runbook or protecting the runbook's VMs.

    Guardrail: a selected group that also protects VMs the runbook does not move is refused, since removing
    it would silently unprotect them."""
    s = ctx.sides
    names = set(vm_names(ctx))
    rb = ctx.runbook
    # Named groups are selected even when empty (e.g. left so by a run that stopped half-way).
    named = ({rb.protection_group.name} if rb.protection_group else set(rb.group_renames.values())) | (
        {rb.select.protection_group} if rb.select and rb.select.protection_group else set()
    )
    selected, refused = [], []
    for group in s.dr.srm.groups():
        if group.protected_vc_guid != s.home_guid:
            continue
        members = {vm.name for vm in s.dr.srm.group_vms(group.id)}
        if group.name not in named and not members & names:
            continue
        others = sorted(members - names)
        if others:
            refused.append(f"{group.name} also protects {', '.join(others)}")
        selected.append(group)
    if refused:
        raise GuardrailViolation(
            f"refusing to touch protection groups at {s.home} that protect VMs the "
            "runbook does not move (add those VMs to the runbook or move them out of the "
            "group first): " + "; ".join(refused)
        )
    return selected


# --- VMs and replications ----------------------------------------------------------------------------------


def running_vms(ctx: StepContext) -> tuple[dict[str, VrVm], list[str]]:
    """The runbook's VMs as VR sees them where they run (one listing), and a problem per VM not found.

    When a name is there more than once (a stale copy not yet unregistered), the powered-on one is the VM
    that runs; anything still ambiguous is a problem, never a guess."""
    found, problems = running_vms_by_name(ctx)
    return found, list(problems.values())


def running_vms_by_name(ctx: StepContext) -> tuple[dict[str, VrVm], dict[str, str]]:
    """:func:`running_vms` with each problem keyed by the VM's name."""
    s = ctx.sides
    by_name: dict[str, list[VrVm]] = {}
    for vm in s.dr.vr.vms(s.running_guid):
        by_name.setdefault(vm.name, []).append(vm)
    found: dict[str, VrVm] = {}
    problems: dict[str, str] = {}
    for name in vm_names(ctx):
        candidates = [vm for vm in by_name.get(name, []) if not vm.template]
        if len(candidates) > 1:
            candidates = [vm for vm in candidates if vm.power_state == "POWERED_ON"]
        if len(candidates) == 1:
            found[name] = candidates[0]
        elif not candidates:
            problems[name] = f"VM {name} is not running at {s.running}"
        else:
            problems[name] = f"VM {name} runs more than once at {s.running}: " + ", ".join(vm.id for vm in candidates)
    return found, problems


def replications_from(ctx: StepContext, site_guid: str) -> dict[str, Replication]:
    """The runbook's VMs' replications whose source is the vCenter ``site_guid``, by VM name."""
    names = set(vm_names(ctx))
    result = {}
    for replication in ctx.sides.dr.vr.replications(source_vc_guid=site_guid):
        # Filtered again here: a server ignoring the query parameter must not make srmctl touch the wrong side.
        if replication.source_vc_id == site_guid and replication.name in names:
            result[replication.name] = replication
    return result


# --- plan runs and prompts ---------------------------------------------------------------------------------


def status_of(plan: RecoveryPlan) -> str:
    return text(plan.status) or ""


def run_plan(
    ctx: StepContext,
    dr: DrSite,
    plan_id: str,
    start: Callable[[], Task] | None,
    *,
    operation: str,
    timeout: float = 6 * 3600.0,
) -> RecoveryPlan:
    """Start a plan run (``start``), or, on resume, follow the one SRM is already running; answer the prompts
    the runbook allows and stop at any other prompt. Returns the plan once SRM no longer runs it, after
    journaling SRM's history report of the run (``operation``: the run's action kind, steps/history.py).

    A prompt the runbook does not list stops the run with a StepFailed naming it: SRM keeps the plan
    waiting, the operator answers it in SRM, and ``srmctl resume`` follows the same run to its end."""
    task = start() if start is not None else None
    deadline = time.monotonic() + timeout
    answered: set[str] = set()
    shown: tuple[str, int] | None = None
    while True:
        plan = dr.srm.plan(plan_id)
        if (status_of(plan), plan.progress or 0) != shown:  # progress lines only when something moved
            shown = (status_of(plan), plan.progress or 0)
            ctx.progress({"vm": plan.name, "status": shown[0], "percent": shown[1]})
        if plan.status == PlanStatus.WAITING_FOR_USER_INPUT:
            for prompt in dr.srm.user_prompts(plan_id):
                if prompt.id not in answered:
                    _answer(ctx, dr, plan, prompt)
                    answered.add(prompt.id)
        elif plan.status not in PLAN_BUSY and not plan.is_running:
            # The task decides when there is one: right after the start SRM may not show the plan busy yet.
            if task is None or task.done:
                break
            task = dr.srm.get_task(task.id)
            if task.done:
                continue  # read the plan's final state once more
        if time.monotonic() > deadline:
            raise StepFailed(f"recovery plan {plan.name} still {status_of(plan)} after {timeout:.0f}s")
        time.sleep(dr.srm.poll_interval)
    report = record_history(ctx, dr, plan, operation, task)  # a failed run's report too: evidence of the failure
    if cancelled(task, report):
        # The operator cancelled the run in SRM (Task.status CANCELLED; history result_state CANCELLED): their
        # decision, not a crash. srmctl stops there (exit 130) and a resume continues from this step.
        raise Aborted(
            f"the {operation} of recovery plan {plan.name} was cancelled in SRM (the plan is {status_of(plan)}): "
            "srmctl stops here; once the plan is ready for it again, 'srmctl resume' continues from this step"
        )
    if task is not None and task.status != TaskStatus.SUCCESS:
        message = task.error.message if task.error and task.error.message else "no error message"
        raise StepFailed(
            f"{task.description or 'plan run'} ended {text(task.status)}: {message} "
            f"(plan {plan.name} is {status_of(plan)})"
        )
    return plan


def cancelled(task: Task | None, report: HistoryReport | None) -> bool:
    """The plan run ended cancelled: its task says so, or (a run followed after a resume, without its task)
    SRM's report of it does."""
    if task is not None:
        return task.status == TaskStatus.CANCELLED
    return report is not None and text(report.result_state) == "CANCELLED"


def _answer(ctx: StepContext, dr: DrSite, plan: RecoveryPlan, prompt: UserPrompt) -> None:
    patterns = ctx.runbook.prompts.dismiss
    if not any(
        fnmatch.fnmatchcase(value, pattern)
        for pattern in patterns
        for value in (prompt.description, prompt.prompt_text)
    ):
        raise StepFailed(
            f"recovery plan {plan.name} waits for an answer to the prompt "
            f"{prompt.description!r} ({prompt.prompt_text!r}), which prompts.dismiss does not list; "
            "answer it in SRM, then run 'srmctl resume' with this run's id"
        )
    dr.srm.dismiss_prompt(plan.id, prompt.id)
    ctx.record(
        "prompt_answered",
        {
            "plan": plan.name,
            "prompt": prompt.description,
            "text": prompt.prompt_text,
            "answer": "dismissed (prompts.dismiss)",
        },
    )
