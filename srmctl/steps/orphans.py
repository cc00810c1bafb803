"""``orphans.unregister``: remove the stale copies of the runbook's VMs from the original site's inventory.

Unregister, never destroy: the stale VMs' disks are the seeds that make reverse replication fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from srmctl.adapters.vcenter.inventory import VmRecord
from srmctl.errors import GuardrailViolation, StepFailed
from srmctl.runbook import Vm
from srmctl.steps.base import Action, Impact, Step, Verification, recovered_to, register
from srmctl.steps.context import StepContext
from srmctl.steps.vms import describe, matching


@dataclass(frozen=True)
class _Stale:
    vm: Vm
    record: VmRecord  # the stale copy at the original site
    live: tuple[VmRecord, ...]  # the copies running at the site the VM is coming back from


@register
class OrphansUnregister(Step):
    """Unregister the stale copies of the runbook's VMs at the original site, keeping every file.

    A VM is stale there when the same VM (name, and instance UUID when the runbook gives one) is registered
    at the site it comes back from. Each VM's files are journaled before it is unregistered; nothing is ever
    destroyed. A powered-on stale VM is only powered off and unregistered when the scenario is
    disaster-recovery, the same VM runs powered on at the other site, the runbook sets
    confirm.power_off_stale_vms, and the operator confirmed the run.
    """

    name = "orphans.unregister"
    # A test recovery or a migration under way registers the VMs at home while they still run away.
    undone_by = frozenset({"plan.test", "plan.migrate"})
    done_once_home = True
    impact = Impact.HIGH

    def plan(self, ctx: StepContext) -> tuple[Action, ...]:
        if ctx.runbook.vms is None:
            raise StepFailed("choosing VMs with 'select' needs the SRM client, which this version "
                             "does not have yet; list the VMs under 'vms'")
        actions, refused = [], []
        for stale in stale_vms(ctx):
            record = stale.record
            if record.powered_on:
                reason = why_not_power_off(ctx, stale)
                if reason:
                    refused.append(f"{record.name} ({record.moref}) at {ctx.target}: {reason}")
            actions.append(Action.make(
                "unregister", ctx.target, [record.name], high_impact=record.powered_on,
                moref=record.moref, instance_uuid=record.instance_uuid, power_state=record.power_state,
                vmx=record.vmx_path))
        if refused:
            raise GuardrailViolation("refusing to unregister powered-on VMs:\n"
                                     + "\n".join(f"- {r}" for r in refused))
        return tuple(actions)

    def apply(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        # One observation for all workers: re-reading per VM would race with the others' invalidations.
        inventory = ctx.ops(ctx.target).inventory()
        by_moref = {v.moref: v for v in inventory.vms}

        def unregister(action: Action) -> None:
            ops = ctx.ops(action.site)
            moref, uuid = action.detail("moref"), action.detail("instance_uuid")
            record = by_moref.get(moref)
            if record is None:
                ctx.action_done(action, {"already_unregistered": True})
                return
            if record.name != action.targets[0] or record.instance_uuid != uuid:
                # MoRefs are reused after re-registration: never act on a different VM than was planned.
                raise StepFailed(f"{moref} at {action.site} is now {record.name} ({record.instance_uuid}), "
                                 f"not the planned {action.targets[0]} ({uuid}); re-run to re-plan")
            if action.high_impact and not ctx.confirmed:
                raise GuardrailViolation(f"{record.name} is powered on: unregistering it needs the operator's "
                                         "confirmation (answer the prompt or pass --yes)")
            ds, folder = record.home
            files = ops.list_files(ds, folder)
            # Written (and fsync'd) before the call: if we crash right after it, the journal still says
            # where the VM's files are, so the seeds can be found and the VM re-registered by hand.
            ctx.record("vm_files", {
                "vm": record.name, "instance_uuid": record.instance_uuid, "moref": moref, "site": action.site,
                "vmx": record.vmx_path, "files": [{"path": f.path, "size": f.size_bytes} for f in files]})
            ctx.pause("before_call")
            done = ops.unregister(moref, allow_powered_on=action.high_impact, files=files)
            ctx.action_done(action, {"was_powered_on": done.was_powered_on, "files": len(files)})

        ctx.each(unregister, actions)

    def verify(self, ctx: StepContext) -> Verification:
        left = [f"{s.record.name} ({s.record.moref}) is still registered at {ctx.target}" for s in stale_vms(ctx)]
        if left:
            return Verification.failed(left)
        return Verification.passed(f"no stale VM of the runbook registered at {ctx.target}")


def stale_vms(ctx: StepContext) -> Iterator[_Stale]:
    source, target = ctx.ops(ctx.source).inventory(), ctx.ops(ctx.target).inventory()
    for vm in ctx.runbook.vms or ():
        live = matching(source, vm)
        if not live:
            continue  # not running at the other site: the copy here is the live one, never an orphan
        for record in matching(target, vm):
            yield _Stale(vm, record, live)


def why_not_power_off(ctx: StepContext, stale: _Stale) -> str | None:
    """Why a powered-on stale VM may not be powered off and unregistered, or None when it may."""
    if ctx.runbook.scenario != "disaster-recovery":
        return ("it is powered on, and the scenario is planned-migration (after which stale VMs are off); "
                "check which copy is live and power this one off yourself")
    if not any(live.powered_on for live in stale.live) and not recovered_to(ctx, home=False):
        # A live copy recovered powered off (startup action DO_NOT_POWER_ON) is still the live one when SRM's
        # plan says its last recovery went to ctx.source; without that word, this may be the live copy.
        return (f"it is powered on and no copy of {describe(stale.vm)} runs powered on at {ctx.source}: "
                "this may be the live copy")
    if not ctx.runbook.confirm.power_off_stale_vms:
        return "it is powered on (split brain); set confirm.power_off_stale_vms: true in the runbook to allow it"
    return None
