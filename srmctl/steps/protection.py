"""``protection.restore``: after the failback, put protection back the way it was (original site protects to
the recovery site again) by running the rebuild sequence of steps in the opposite direction.

The same sequence (:data:`REBUILD`) is what ``plan.reprotect`` falls back to under ``strategy: auto``. The
steps themselves are direction-agnostic (see :mod:`srmctl.steps.dr_state`); this module runs them on
:meth:`StepContext.opposite` through the executor (:func:`srmctl.steps.executor.run_sequence`), which
attributes their events to this step.
"""

from __future__ import annotations

from srmctl.errors import StepFailed
from srmctl.runbook.models import REBUILD_STEPS
from srmctl.steps.base import Action, Impact, Step, Verification, register
from srmctl.steps.context import StepContext
from srmctl.steps.executor import plan_sequence, run_sequence, verify_sequence
from srmctl.steps.whereabouts import not_home

#: The rebuild steps for one direction (see docs/architecture.md), then metadata.restore (which keeps the
#: plan as it is when the run took no snapshot).
REBUILD: tuple[str, ...] = (*REBUILD_STEPS, "metadata.restore")


@register
class ProtectionRestore(Step):
    """Protect the VMs again from the original site to the recovery site (cleanup after failback).

    Runs the rebuild sequence the other way round: unregister the now-stale VMs at the recovery site, remove
    the replications towards the original site (keeping disks), detach and delete the protection group
    there, replicate back with each VM's own recorded settings (seeded by the stale copies),
    create the protection group at the original site and attach it to the same recovery plan (and restore
    the plan's metadata from the run's snapshot). Planned once the VMs run at the original site.
    """

    name = "protection.restore"
    needs_peer = frozenset({"srm", "vr"})  # see Step.needs_peer
    impact = Impact.HIGH

    def plan(self, ctx: StepContext) -> tuple[Action, ...]:
        waiting = not_home(ctx)
        if waiting:
            # Before plan.migrate the VMs still run at the recovery site: what to unregister there is decided
            # only once they run at home, so this is planned again right before it is applied.
            return (
                Action.make(
                    "restore_protection",
                    ctx.target,
                    list(ctx.runbook.vm_names),
                    forecast=True,
                    direction=f"{ctx.target}->{ctx.source}",
                    after="plan.migrate",
                ),
            )
        return plan_sequence(ctx.opposite(), REBUILD)

    def apply(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        waiting = not_home(ctx)
        if waiting:
            raise StepFailed(f"the VMs do not run at {ctx.target} yet ({'; '.join(waiting)}); run plan.migrate first")
        run_sequence(ctx.opposite(), REBUILD)

    def verify(self, ctx: StepContext) -> Verification:
        problems = not_home(ctx) + verify_sequence(ctx.opposite(), REBUILD)
        if problems:
            return Verification.failed(problems)
        return Verification.passed(f"{ctx.target} protects the VMs to {ctx.source} again")
