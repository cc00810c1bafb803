"""``orphans.unregister``: remove the stale copies of the runbook's VMs from the original site's inventory.

Unregister, never destroy: the stale VMs' disks are the seeds that make reverse replication fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from srmctl.adapters.vcenter.inventory import VmRecord, split_datastore_path
from srmctl.errors import GuardrailViolation, SrmctlError, StepFailed
from srmctl.runbook import Vm
from srmctl.steps.base import Action, Impact, Step, Verification, register
from srmctl.steps.context import StepContext, joined_failure
from srmctl.steps.vms import describe, matching
from srmctl.steps.whereabouts import recovered_to


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
            raise StepFailed(
                "choosing VMs with 'select' needs the SRM client, which this version "
                "does not have yet; list the VMs under 'vms'"
            )
        actions, refused = [], []
        for stale in stale_vms(ctx):
            record = stale.record
            if record.powered_on:
                reason = why_not_power_off(ctx, stale)
                if reason:
                    refused.append(f"{record.name} ({record.moref}) at {ctx.target}: {reason}")
            actions.append(
                Action.make(
                    "unregister",
                    ctx.target,
                    [record.name],
                    high_impact=record.powered_on,
                    moref=record.moref,
                    instance_uuid=record.instance_uuid,
                    power_state=record.power_state,
                    vmx=record.vmx_path,
                )
            )
        if refused:
            raise GuardrailViolation("refusing to unregister powered-on VMs:\n" + "\n".join(f"- {r}" for r in refused))
        return tuple(actions)

    def apply(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        # Batched (see docs/architecture.md, "Concurrency and batching"): one retrieval of every planned VM's
        # state, the folders listed with at most `concurrency` searches in flight, each VM's files journaled,
        # the powered-on ones powered off together, then each unregistered (a quick call, no task).
        ops = ctx.ops(ctx.target)
        states = ops.vm_states([a.detail("moref") for a in actions])
        todo: list[tuple[Action, dict[str, Any]]] = []
        errors: list[SrmctlError] = []
        for action in actions:
            try:
                state = self._checked(ctx, action, states.get(action.detail("moref")))
            except SrmctlError as error:
                errors.append(error)
                continue
            if state is not None:
                todo.append((action, state))
        homes = [split_datastore_path(str(state["config.files.vmPathName"])) for _, state in todo]
        listings = (
            ops.list_files_many(
                [(ds, path.rsplit("/", 1)[0] if "/" in path else "") for ds, path in homes],
                limit=ctx.runbook.concurrency,
            )
            if todo
            else []
        )
        for (action, state), files in zip(todo, listings, strict=True):
            # Written (and fsync'd) before any change: if we crash right after it, the journal still says
            # where the VM's files are, so the seeds can be found and the VM re-registered by hand.
            ctx.record(
                "vm_files",
                {
                    "vm": state["name"],
                    "instance_uuid": state["config.instanceUuid"],
                    "moref": action.detail("moref"),
                    "site": action.site,
                    "vmx": state["config.files.vmPathName"],
                    "files": [{"path": f.path, "size": f.size_bytes} for f in files],
                },
            )
        running = [action.detail("moref") for action, state in todo if state["runtime.powerState"] == "poweredOn"]
        if running:
            ops.power_off_many(running, limit=ctx.runbook.concurrency)
        for (action, state), files in zip(todo, listings, strict=True):
            was_on = state["runtime.powerState"] == "poweredOn"
            try:
                ops.unregister(
                    action.detail("moref"),
                    allow_powered_on=action.high_impact,
                    files=files,
                    state={**state, "runtime.powerState": "poweredOff"} if was_on else state,
                )
            except SrmctlError as error:
                errors.append(error)
                continue
            ctx.action_done(action, {"was_powered_on": was_on, "files": len(files)})
        if errors:
            raise joined_failure(errors)

    @staticmethod
    def _checked(ctx: StepContext, action: Action, state: dict[str, Any] | None) -> dict[str, Any] | None:
        """The VM's fresh state when it is still the planned VM and may be unregistered; None (journaled as
        done) when it is gone already."""
        moref, uuid = action.detail("moref"), action.detail("instance_uuid")
        if state is None:
            ctx.action_done(action, {"already_unregistered": True})
            return None
        name, now_uuid = state.get("name"), state.get("config.instanceUuid")
        if name != action.targets[0] or now_uuid != uuid:
            # MoRefs are reused after re-registration: never act on a different VM than was planned.
            raise StepFailed(
                f"{moref} at {action.site} is now {name} ({now_uuid}), "
                f"not the planned {action.targets[0]} ({uuid}); re-run to re-plan"
            )
        if state.get("runtime.powerState") == "poweredOn" and not action.high_impact:
            raise GuardrailViolation(
                f"{name} ({moref}) at {action.site} was powered on since it was planned; re-run to re-plan"
            )
        if action.high_impact and not ctx.confirmed:
            raise GuardrailViolation(
                f"{name} is powered on: unregistering it needs the operator's "
                "confirmation (answer the prompt or pass --yes)"
            )
        return state

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
        return (
            "it is powered on, and the scenario is planned-migration (after which stale VMs are off); "
            "check which copy is live and power this one off yourself"
        )
    if not any(live.powered_on for live in stale.live) and not recovered_to(ctx, home=False):
        # A live copy recovered powered off (startup action DO_NOT_POWER_ON) is still the live one when SRM's
        # plan says its last recovery went to ctx.source; without that word, this may be the live copy.
        return (
            f"it is powered on and no copy of {describe(stale.vm)} runs powered on at {ctx.source}: "
            "this may be the live copy"
        )
    if not ctx.runbook.confirm.power_off_stale_vms:
        return "it is powered on (split brain); set confirm.power_off_stale_vms: true in the runbook to allow it"
    return None
