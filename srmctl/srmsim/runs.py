"""SRM plan runs: test, cleanup, recovery (planned or disaster) and reprotect as task workers that walk
the view's steps, raise prompts and honour cancel."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from srmctl.srmsim import effects, history, peers, placeholders, replication_sync, run_order, states, vm_recovery
from srmctl.srmsim.model import (
    PRIORITIES,
    Prompt,
    SimError,
    SimPlan,
    SimTask,
    SimVm,
    now_ms,
)
from srmctl.srmsim.plans import plan_vms
from srmctl.srmsim.recovery_settings import recovery_ip
from srmctl.srmsim.recovery_steps import render_steps
from srmctl.srmsim.world import Failed, TaskContext, World

#: Plan states after a recovery that did not finish at the protected site: running it again completes it.
RERUNNABLE = frozenset({"RECOVERY_SPLIT_BRAIN", "DISASTER_RECOVERY_COMPLETE"})


class PlanRun:
    """One plan run in a worker: walks the view's steps, marks their status, raises prompts."""

    def __init__(self, world: World, plan: SimPlan, view: str, ctx: TaskContext) -> None:
        self.world, self.plan, self.view, self.ctx = world, plan, view, ctx
        self.steps = render_steps(world, plan, view)
        with world.lock:
            plan.step_status[view] = {}

    def step(self, anchor: str, action: Callable[[], None] | None = None) -> None:
        for index, (step_id, title, step_anchor, custom) in enumerate(self.steps):
            if step_anchor != anchor:
                continue
            self._check_cancel()
            peers.on_step(self.world, self.plan, self.view, anchor)  # the link may break here (srmsim/peers.py)
            with self.world.lock:
                self.plan.step_status[self.view][step_id] = "RUNNING"
            if custom is not None:
                if custom.callout_type == "PROMPT":
                    self.prompt(title, custom.content, str(custom.id))
            elif action is not None:
                action()
            self.ctx.pause()
            self.ctx.spend(self.world.latency.duration("srm.plan.step"))
            with self.world.lock:
                self.plan.step_status[self.view][step_id] = "SUCCESS"
                self.plan.progress = int(100 * (index + 1) / len(self.steps))
            self.ctx.progress(self.plan.progress)

    def prompt(self, description: str, text: str, callout_id: str) -> None:
        prompt = Prompt(
            id=str(uuid.uuid4()), description=description, text=text, callout_id=callout_id, raised=now_ms()
        )
        with self.world.lock:
            self.plan.prompts[prompt.id] = prompt
            previous, self.plan.status = self.plan.status, "WAITING_FOR_USER_INPUT"
        while not prompt.dismissed.wait(self.world.tick):
            if self.world.auto_dismiss_prompts:
                break
            self._check_cancel()
        with self.world.lock:
            self.plan.prompts.pop(prompt.id, None)
            self.plan.status = previous

    def _check_cancel(self) -> None:
        if self.plan.cancel.is_set():
            raise states.Cancelled("cancelled by user")

    def finish(self) -> None:
        self.step("AT_END")


def start_run(
    world: World,
    site: str,
    plan: SimPlan,
    kind: str,
    running_status: str,
    work: Callable[[PlanRun], str],
    failed_status: str,
    user: str,
) -> SimTask:
    """Start a plan run as a task of ``site``'s SRM, which keeps its history report (``user`` started it)."""
    view = {"Test": "test", "Cleanup": "cleanup", "Recovery": "recovery", "Reprotect": "reprotect"}[kind]
    plan.status, plan.running, plan.progress = running_status, True, 0
    plan.cancel.clear()
    report = history.opened(world.history, world.new_id(), site, plan, kind, user)

    def run(ctx: TaskContext) -> None:
        end = work(PlanRun(world, plan, view, ctx))
        with world.lock:
            plan.status, plan.running, plan.progress = end, False, 100
            history.closed(report, "SUCCESS")

    def failed(message: str) -> None:
        history.closed(report, "CANCELLED" if plan.cancel.is_set() else "ERRORS", [message])
        # The step that was running when the run stopped: CANCELLED or ERROR (RecoveryStep.status).
        steps = plan.step_status.get(view, {})
        for step_id in [k for k, v in steps.items() if v == "RUNNING"]:
            steps[step_id] = "CANCELLED" if plan.cancel.is_set() else "ERROR"
        set_groups(world, plan, states.GROUPS_AFTER_FAILURE[kind])
        plan.status = {
            "Test": "TEST_INTERRUPTED",
            "Cleanup": "CLEANUP_INCOMPLETE",
            "Recovery": "RECOVERY_INTERRUPTED" if plan.cancel.is_set() else failed_status,
            "Reprotect": "INCOMPLETE_REPROTECT",
        }[kind]
        plan.running = False
        plan.prompts.clear()

    return world.start_task(site, "srm", f"{kind} recovery plan {plan.name}", plan.id, plan.name, run, failed)


def _bring_up(world: World, run: PlanRun, plan: SimPlan, target: str, role: str) -> None:
    """Register each VM's replica at ``target`` and power it on, priority group by priority group."""

    failures: dict[str, str] = {}  # VM name -> why it failed; the others go on (srmsim/vm_recovery.py)

    def recover(vm: SimVm) -> None:
        settings = plan.settings[vm.id]
        with world.lock:
            done = role == "replica" and vm_recovery.recovered_copy(world, vm, target) is not None
        if not done:  # a VM recovered by an earlier run "will not be affected by running the recovery again"
            try:
                vm_recovery.injected(world, role, vm)
                for callout in settings.pre:
                    if callout["callout_type"] == "PROMPT":
                        run.prompt(callout["name"], callout["content"], callout["id"])
                replica = _register_replica(world, vm, target, role, recovery_ip(settings))
                if settings.startup_action == "POWER_ON":
                    effects.set_power(world, [replica], on=True)
                for callout in settings.post:
                    if callout["callout_type"] == "PROMPT":
                        run.prompt(callout["name"], callout["content"], callout["id"])
            except states.Cancelled:
                raise
            except Failed as error:
                with world.lock:
                    failures[vm.name] = str(error)
                    plan.vm_status[vm.id] = "TEST_ERROR" if role == "test" else "RECOVERY_ERROR"
                return
        with world.lock:
            plan.vm_status[vm.id] = "TEST_SUCCEEDED" if role == "test" else "RECOVERY_SUCCEEDED"
            if role == "replica":
                replication_sync.mark_recovery(world, [vm.id], "RECOVERED")

    placeholders.check_deleted(world, list(plan.group_ids))  # a VM whose placeholder is gone fails
    order = run_order.ordered(world, plan)
    for number, priority in enumerate(PRIORITIES, start=1):

        def power_on(vms: list[SimVm] = order[priority]) -> None:
            # SRM starts a priority group's VMs at the same time, a VM after the VMs it depends on: wave by
            # wave (srmsim/latency.py). VMs with prompt callouts go one by one (one prompt raised at a time).
            for wave in run_order.waves(plan, vms):
                prompting = [vm for vm in wave if run_order.prompts(plan, vm)]
                for vm in prompting:
                    recover(vm)
                world.parallel(recover, [vm for vm in wave if not run_order.prompts(plan, vm)])
            run.ctx.spend(world.latency.priority_step_seconds(len(vms)))

        run.step(f"BEFORE_RECOVER_PRIORITY_{number}_VMS", power_on)
    if failures:
        raise vm_recovery.failed_vms(failures)


def _register_replica(world: World, vm: SimVm, target: str, role: str, ip: dict[int, str]) -> SimVm:
    """Recovery (and test recovery) puts the VM in its placeholder's place: the placeholder leaves the
    inventory and the recovered (or test) VM is registered in the placeholder's folder and resource pool,
    which the inventory mappings gave (SRM docs, "Site Recovery Manager and placeholder virtual machines":
    at recovery SRM replaces the placeholder with the recovered VM). A VM without a placeholder (never
    configured, or deleted) fails (srmsim/vm_recovery.py); cleanup registers the placeholder again."""
    with world.lock:
        if (replication := world.replication_of_vm(vm.id)) is None:
            raise Failed(f"VM {vm.name} has no replication")
    where = placeholders.swap_out(world, vm.id)
    if where is None:
        with world.lock:
            group = next((g for g in world.groups.values() if vm.id in g.vm_ids), None)
            raise Failed(vm_recovery.missing_placeholder(world, group, vm, target))
    folder, pool = where
    try:
        copy = effects.register_copy(world, vm, replication, target, role, folder=folder, pool=pool, ip=ip)
    except Failed:
        placeholders.put_back(world, vm.id)  # the VM stays protected: its placeholder is where it was
        raise
    if role == "replica":
        placeholders.forget(world, vm.id)
    return copy


def run_test(world: World, site: str, plan_id: str, spec: dict[str, Any], *, user: str) -> SimTask:
    with world.lock:
        plan = runnable(world, plan_id, {"READY_STATE"}, "test")
        recovery = world.other(plan.protected_site)

        def work(run: PlanRun) -> str:
            if spec.get("sync_data", True):
                run.step("BEFORE_SYNC_STORAGE", lambda: _sync_all(world, run, plan))
            for anchor in ("BEFORE_RESTORE_HOSTS", "BEFORE_PREPARE_STORAGE", "BEFORE_SUSPEND_RECOVERY_SITE_VMS"):
                run.step(anchor)
            _bring_up(world, run, plan, recovery, "test")
            run.finish()
            set_groups(world, plan, "TEST_COMPLETE")
            return "TEST_COMPLETE"

        set_groups(world, plan, "TESTING")
        return start_run(world, site, plan, "Test", "TEST_IN_PROGRESS", work, "TEST_INTERRUPTED", user)


def run_cleanup(world: World, site: str, plan_id: str, spec: dict[str, Any], *, user: str) -> SimTask:
    with world.lock:
        allowed = {"TEST_COMPLETE", "TEST_INTERRUPTED", "CLEANUP_INCOMPLETE"}
        plan = runnable(world, plan_id, allowed, "cleanup")

        def remove_test_vms() -> None:
            with world.lock:
                names = {vm.name for vm, _ in plan_vms(world, plan)}
                recovery = world.site(world.other(plan.protected_site))
                tests = [v for v in recovery.vms.values() if v.role == "test" and v.name in names]
            for vm in tests:
                effects.remove_test_copy(world, vm)
            for vm_id in [vm.id for vm, _ in plan_vms(world, plan)]:
                placeholders.put_back(world, vm_id)

        def work(run: PlanRun) -> str:
            run.step("BEFORE_POWER_OFF_RECOVERY_SITE_VMS", remove_test_vms)
            run.step("BEFORE_RESUME_RECOVERY_SITE_VMS")
            run.step("BEFORE_RESTORE_STORAGE")
            with world.lock:
                plan.vm_status.clear()
            set_groups(world, plan, "OK")
            return "READY_STATE"

        set_groups(world, plan, "CLEANING_UP")
        return start_run(world, site, plan, "Cleanup", "CLEANUP_IN_PROGRESS", work, "CLEANUP_INCOMPLETE", user)


def run_recovery(world: World, site: str, plan_id: str, spec: dict[str, Any], *, user: str) -> SimTask:
    with world.lock:
        planned = bool(spec.get("planned_failover"))
        # RECOVERY_SPLIT_BRAIN: "Run recovery again ... Running recovery again will not affect the recovered
        # VMs at the recovery site"; DISASTER_RECOVERY_COMPLETE: "If the sites are reconnected, you will be
        # prompted to run this recovery plan again" (srm-api-v2 RecoveryPlanInfo.status).
        rerun = plan_id in world.plans and world.plans[plan_id].status in RERUNNABLE
        # PARTIAL_RECOVERY: another plan recovered some of this plan's groups; running this one recovers the
        # rest, leaving the recovered VMs alone (srmsim/vm_recovery.py).
        allowed = {"READY_STATE", "RECOVERY_INTERRUPTED", "INCOMPLETE_RECOVERY", "PARTIAL_RECOVERY", *RERUNNABLE}
        plan = runnable(world, plan_id, allowed, "recovery")
        protected, recovery = plan.protected_site, world.other(plan.protected_site)
        world.require_up(recovery)
        protected_up = world.site(protected).up
        if not protected_up and (planned or not spec.get("skip_protection_site_operations")):
            raise SimError(
                400,
                "PROTECTED_SITE_DOWN",
                f"protected site {protected} is not reachable; run "
                "disaster recovery with skip_protection_site_operations",
            )
        touch_protected = planned or (protected_up and not spec.get("skip_protection_site_operations"))

        def shut_down() -> None:
            # Powered off, not unregistered: the old VMs stay in the protected site's inventory (the orphans).
            with world.lock:
                vms = [vm for vm, _ in plan_vms(world, plan)]
            effects.set_power(world, vms, on=False)

        def work(run: PlanRun) -> str:
            if rerun:
                return _rerun_recovery(world, run, plan, touch_protected, shut_down, planned)
            if touch_protected and spec.get("sync_data", True):
                run.step("BEFORE_PRESYNC_STORAGE", lambda: _sync_all(world, run, plan))
            run.step("BEFORE_SHUTDOWN_PROTECTED_SITE_VMS", shut_down if touch_protected else None)
            if touch_protected and spec.get("sync_data", True):
                run.step("BEFORE_SYNC_STORAGE", lambda: _sync_all(world, run, plan))
            run.step("BEFORE_RESTORE_HOSTS")
            run.step("BEFORE_PREPARE_STORAGE", lambda: _stop_replications(world, plan))
            run.step("BEFORE_SUSPEND_RECOVERY_SITE_VMS")
            _bring_up(world, run, plan, recovery, "replica")
            run.finish()
            with world.lock:
                replication_sync.mark_recovery(world, [vm.id for vm, _ in plan_vms(world, plan)], "RECOVERED")
            set_groups(world, plan, "RECOVERED")
            return _recovered_status(world, plan, planned, touch_protected)

        set_groups(world, plan, "RECOVERING")
        return start_run(world, site, plan, "Recovery", "RECOVERY_IN_PROGRESS", work, "INCOMPLETE_RECOVERY", user)


def _sync_all(world: World, run: PlanRun, plan: SimPlan) -> None:
    """Sync every replication of the plan that a recovery has not taken over: one that cannot be synced fails
    the step (:func:`srmctl.srmsim.replication_sync.sync_for_plan`)."""
    with world.lock:
        replications = [
            r
            for vm, _ in plan_vms(world, plan)
            if (r := world.replication_of_vm(vm.id)) is not None and r.status not in ("RECOVERING", "RECOVERED")
        ]
    replication_sync.sync_for_plan(world, run.ctx, replications)


def _stop_replications(world: World, plan: SimPlan) -> None:
    with world.lock:
        vm_ids = [vm.id for vm, _ in plan_vms(world, plan)]
    replication_sync.mark_recovery(world, vm_ids, "RECOVERING")


def set_groups(world: World, plan: SimPlan, status: str) -> None:
    with world.lock:
        for group_id in plan.group_ids:
            if group_id in world.groups:
                world.groups[group_id].status = status


def runnable(world: World, plan_id: str, allowed: set[str], action: str) -> SimPlan:
    plan = world.plan(plan_id)
    status = states.plan_status(world, plan)  # PROTECTION_GROUPS_IN_USE: "you cannot run them"
    if plan.running or status not in allowed:
        raise SimError(400, "INVALID_PLAN_STATE", f"cannot run {action} on plan {plan.name} in state {status}")
    if not plan.group_ids:
        raise SimError(400, "NO_PROTECTION_GROUPS", f"recovery plan {plan.name} has no protection groups")
    return plan


def cancel(world: World, plan_id: str) -> None:
    with world.lock:
        plan = world.plan(plan_id)
        if not plan.running:
            raise SimError(400, "PLAN_NOT_RUNNING", f"recovery plan {plan.name} is not running")
        plan.cancel.set()
        plan.status = "CANCEL_IN_PROGRESS"


# --- split brain and re-runs (issue 10, point 3) -------------------------------------------------------------


def _recovered_status(world: World, plan: SimPlan, planned: bool, touched_protected: bool) -> str:
    """RECOVERY_COMPLETE after a planned migration; after a disaster recovery that skipped the protected
    site, RECOVERY_SPLIT_BRAIN when that site is reachable ("The recovery operation could not complete all of
    the steps at the protected site"), else DISASTER_RECOVERY_COMPLETE until it comes back (see
    :func:`srmctl.srmsim.plans.protected_site_back`)."""
    if planned:
        return "RECOVERY_COMPLETE"
    if not touched_protected and world.site(plan.protected_site).up:
        return "RECOVERY_SPLIT_BRAIN"
    return "DISASTER_RECOVERY_COMPLETE"


def _rerun_recovery(
    world: World, run: PlanRun, plan: SimPlan, touch_protected: bool, shut_down: Callable[[], None], planned: bool
) -> str:
    """Recovery run again after a disaster recovery: the protected-site steps it skipped (shut down the
    protected VMs, stop replication), while "Running recovery again will not affect the recovered VMs at the
    recovery site" (RECOVERY_SPLIT_BRAIN). VMs not recovered yet are brought up as in a first run."""
    recovery = world.other(plan.protected_site)
    run.step("BEFORE_SHUTDOWN_PROTECTED_SITE_VMS", shut_down if touch_protected else None)
    run.step("BEFORE_RESTORE_HOSTS")
    run.step("BEFORE_PREPARE_STORAGE", lambda: _stop_replications(world, plan))
    with world.lock:
        names = {v.name for v in world.site(recovery).vms.values() if v.role == "replica"}
        missing = [vm.name for vm, _ in plan_vms(world, plan) if vm.name not in names]
    if missing:
        raise Failed(
            f"VMs {', '.join(sorted(missing))} were not recovered at {recovery}; run the recovery from its first step"
        )
    run.finish()
    with world.lock:  # as a first run ends: the replications stopped again are RECOVERED
        replication_sync.mark_recovery(world, [vm.id for vm, _ in plan_vms(world, plan)], "RECOVERED")
    set_groups(world, plan, "RECOVERED")
    return _recovered_status(world, plan, planned, touch_protected)
