"""``preflight.check``: is the world the runbook describes the world we see? It changes nothing, except that with
recovery.complete_started it completes a failover SRM left RECOVERY_STARTED (steps/started_recovery.py)."""

from __future__ import annotations

from srmctl.adapters.dr.models import ProtectionGroup, RecoveryPlan
from srmctl.errors import StepFailed
from srmctl.steps.base import Action, Impact, Step, Verification, register
from srmctl.steps.context import StepContext
from srmctl.steps.dr_state import plan_not_found, recovery_plan, vcenter_mismatches
from srmctl.steps.group_layout import recorded_groups
from srmctl.steps.placement import placement_problems
from srmctl.steps.srm_states import state_problems, testing_at_home
from srmctl.steps.started_recovery import complete_recovery, recovery_started, started_recovery
from srmctl.steps.vms import describe, matching


@register
class PreflightCheck(Step):
    """Check endpoints, the runbook's VMs at both sites and their datastores; report every problem at once.

    Each VM must run at the site it is coming back from (exactly once), may have at most one stale copy
    (the orphan) at the original site, and the datastores and folders the runbook names must exist there.
    SRM must be able to place every VM's placeholder in both directions the run needs (steps/placement.py).
    A VM that already runs at the original site and nowhere else is home: a finished failback re-run (or
    resumed) then finds nothing to do instead of an error.
    """

    name = "preflight.check"
    impact = Impact.READ_ONLY

    def plan(self, ctx: StepContext) -> tuple[Action, ...]:
        # An incomplete failover (RECOVERY_STARTED) is completed first when the runbook allows it (the only
        # action this step has); the VMs come up where they should run, and the other checks hold after it.
        # One listing of the running site's plans serves the started recovery and every check.
        plans = ctx.sides.dr.srm.plans() if ctx.source in ctx.dr_sites else None
        started = started_recovery(ctx, plans)
        if started is not None:
            return (started,)
        # Problems stop the run at plan time, before any step changes anything.
        problems = self.problems(ctx, plans)
        if problems:
            raise StepFailed(f"{len(problems)} problem(s):\n" + "\n".join(f"- {p}" for p in problems))
        return ()

    def apply(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        """The check happens in plan and verify; the one action is completing a started recovery."""
        for action in actions:
            complete_recovery(ctx, action)

    def verify(self, ctx: StepContext) -> Verification:
        problems = self.problems(ctx)
        if problems:
            return Verification.failed(problems)
        return Verification.passed(f"{len(ctx.runbook.vms or ())} VM(s) ready at {ctx.source}")

    @staticmethod
    def problems(ctx: StepContext, plans: list[RecoveryPlan] | None = None) -> list[str]:
        """Every reason the failback cannot start; ``plans``: the running site's plan listing, when the caller
        has it."""
        runbook = ctx.runbook
        if runbook.vms is None:
            return [
                "choosing VMs with 'select' needs SRM, which a run of vCenter-only steps does not connect to; "
                "list the VMs under 'vms'"
            ]
        problems: list[str] = []
        if ctx.source in ctx.dr_sites:  # a run of vCenter-only steps does not connect to SRM
            # Said here, first: every later SRM step would otherwise fail on the missing plan in its own
            # words (groups.delete, say, would refuse groups "used by another plan").
            # SRM's sites are the runbook's by vCenter instance UUID, never by name: a mismatch names both sides.
            problems += vcenter_mismatches(ctx)
            # One listing of the plans and one of the plan's groups serve every check below.
            plans = ctx.sides.dr.srm.plans() if plans is None else plans
            missing = plan_not_found(ctx.sides.dr, ctx.source, runbook.recovery_plan.name, plans)
            if missing:
                problems.append(missing)
            else:
                plan = recovery_plan(ctx, plans)
                in_plan = ctx.sides.dr.srm.plan_groups(plan.id) if plan is not None else []
                problems += [left] if (left := left_behind(ctx, (plan, in_plan))) else []
                problems += state_problems(ctx, plans, in_plan)  # SRM states a later step would be refused in
                problems += [said] if (said := recovery_started(ctx, plans)) else []
        source, target = ctx.ops(ctx.source).inventory(), ctx.ops(ctx.target).inventory()
        target_datastores = {d.name: d for d in target.datastores}
        target_folders = {f.path for f in target.folders}
        # Powered-on namesakes at the target of VMs that run at the source may be SRM's test VMs (asked only then).
        test_vms = any(
            matching(source, vm) and any(r.powered_on for r in matching(target, vm)) for vm in runbook.vms
        ) and testing_at_home(ctx)
        for vm in runbook.vms:
            live = matching(source, vm)
            at_home = () if test_vms else matching(target, vm)
            home = [r for r in at_home if r.powered_on]
            if not live and len(at_home) == 1:
                continue  # already home (powered off too: SRM recovers DO_NOT_POWER_ON VMs powered off)
            if not live:
                problems.append(
                    f"VM {describe(vm)} is not registered at {ctx.source} (where it should run now)"
                    + (f" and runs {len(home)} times at {ctx.target}" if home else "")
                )
            elif len(live) > 1:
                problems.append(
                    f"VM {describe(vm)} is ambiguous at {ctx.source}: {len(live)} VMs "
                    f"({', '.join(r.moref for r in live)}); set its instance_uuid in the runbook"
                )
            stale = at_home
            if len(stale) > 1:
                problems.append(
                    f"VM {describe(vm)} has {len(stale)} copies at {ctx.target} "
                    f"({', '.join(r.moref for r in stale)}); set its instance_uuid in the runbook"
                )
            for record in stale:
                problems.extend(
                    f"datastore {ds} of {vm.name} at {ctx.target} is not accessible"
                    for ds in record.datastores
                    if ds in target_datastores and not target_datastores[ds].accessible
                )
            if vm.datastore is not None and vm.datastore not in target_datastores:
                problems.append(
                    f"datastore {vm.datastore} (vms.{vm.name}.datastore) does not exist at "
                    f"{ctx.target}; it has: {', '.join(sorted(target_datastores)) or 'none'}"
                )
            if vm.folder is not None and vm.folder.strip("/") not in target_folders:
                problems.append(f"folder {vm.folder} (vms.{vm.name}.folder) does not exist at {ctx.target}")
        # SRM's placeholders in both directions the run needs: mappings, placeholder datastores, names in the way.
        return problems + placement_problems(ctx, runbook.vms)


def left_behind(
    ctx: StepContext, live_plan: tuple[RecoveryPlan | None, list[ProtectionGroup]] | None = None
) -> str | None:
    """Why a runbook covering only part of its recovery plan is refused (None when it covers all of it).

    SRM runs a plan only while all its protection groups protect the same direction, so a failback of some of
    its groups would flip them and then fail to put them back into the plan beside the groups left behind
    (docs/runbook.md, "A plan is failed back whole"). Refusing here, before anything changes, keeps the plan
    whole."""
    recorded = recorded_groups(ctx, live_plan)
    listed = set(ctx.runbook.vm_names)
    behind = {name: sorted(set(info.vms) - listed) for name, info in sorted((recorded or {}).items())}
    behind = {name: vms for name, vms in behind.items() if vms}
    if not behind:
        return None
    plan = ctx.runbook.recovery_plan.name
    groups = "; ".join(f"{name!r} ({', '.join(vms)})" for name, vms in behind.items())
    return (
        f"the runbook covers only part of recovery plan {plan!r}: VMs of protection group(s) {groups} are "
        "not in it, and SRM cannot run a plan whose groups protect opposite directions; list every VM of "
        f"the plan under 'vms' (or use select: {{recovery_plan: {plan}}}), or move those groups to another "
        "recovery plan in SRM first"
    )
