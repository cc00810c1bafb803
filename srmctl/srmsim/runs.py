"""SRM plan runs: test, cleanup, recovery (planned or disaster) and reprotect as task workers that walk
the view's steps, raise prompts and honour cancel."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from srmctl.srmsim import effects, history, mappings, peers, placeholders
from srmctl.srmsim import replication as vr
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
            raise Failed("cancelled by user")

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
        plan.status = "CANCEL_IN_PROGRESS" if plan.cancel.is_set() else plan.status
        plan.status = {
            "Test": "TEST_INTERRUPTED",
            "Cleanup": "CLEANUP_INCOMPLETE",
            "Recovery": "RECOVERY_INTERRUPTED" if plan.cancel.is_set() else failed_status,
            "Reprotect": "INCOMPLETE_REPROTECT",
        }[kind]
        plan.running = False
        plan.prompts.clear()

    return world.start_task(site, "srm", f"{kind} recovery plan {plan.name}", plan.id, plan.name, run, failed)


def _ordered(world: World, plan: SimPlan) -> dict[str, list[SimVm]]:
    """Plan VMs by priority group; within a group, dependencies first (a topological order)."""
    by_priority: dict[str, list[SimVm]] = {p: [] for p in PRIORITIES}
    vms = {vm.id: vm for vm, _ in plan_vms(world, plan)}
    done: set[str] = set()

    def visit(vm_id: str) -> None:
        if vm_id in done or vm_id not in vms:
            return
        done.add(vm_id)
        for dep in plan.settings[vm_id].dependent:
            # Dependencies outside the plan or the priority group are ignored (VmSummarizedRecoverySettings).
            if dep in plan.settings and plan.settings[dep].priority == plan.settings[vm_id].priority:
                visit(dep)
        by_priority[plan.settings[vm_id].priority].append(vms[vm_id])

    for vm_id in sorted(vms, key=lambda v: vms[v].name):
        visit(vm_id)
    return by_priority


def _bring_up(world: World, run: PlanRun, plan: SimPlan, target: str, role: str) -> None:
    """Register each VM's replica at ``target`` and power it on, priority group by priority group."""

    def recover(vm: SimVm) -> None:
        settings = plan.settings[vm.id]
        for callout in settings.pre:
            if callout["callout_type"] == "PROMPT":
                run.prompt(callout["name"], callout["content"], callout["id"])
        replica = _register_replica(world, vm, target, role, recovery_ip(settings))
        if settings.startup_action == "POWER_ON":
            effects.set_power(world, [replica], on=True)
        for callout in settings.post:
            if callout["callout_type"] == "PROMPT":
                run.prompt(callout["name"], callout["content"], callout["id"])
        with world.lock:
            plan.vm_status[vm.id] = "TEST_SUCCEEDED" if role == "test" else "RECOVERY_SUCCEEDED"

    order = _ordered(world, plan)
    for number, priority in enumerate(PRIORITIES, start=1):

        def power_on(vms: list[SimVm] = order[priority]) -> None:
            # SRM starts a priority group's VMs at the same time, a VM after the VMs it depends on: wave by
            # wave (srmsim/latency.py). VMs with prompt callouts go one by one (one prompt raised at a time).
            for wave in _waves(plan, vms):
                prompting = [vm for vm in wave if _prompts(plan, vm)]
                for vm in prompting:
                    recover(vm)
                world.parallel(recover, [vm for vm in wave if not _prompts(plan, vm)])
            run.ctx.spend(world.latency.priority_step_seconds(len(vms)))

        run.step(f"BEFORE_RECOVER_PRIORITY_{number}_VMS", power_on)


def _waves(plan: SimPlan, vms: list[SimVm]) -> list[list[SimVm]]:
    """The VMs of one priority group (in dependency order, see :func:`_ordered`) as waves: each VM in the
    wave after the last of its dependencies."""
    level: dict[str, int] = {}
    for vm in vms:
        level[vm.id] = 1 + max((level[d] for d in plan.settings[vm.id].dependent if d in level), default=-1)
    waves: list[list[SimVm]] = [[] for _ in range(1 + max(level.values(), default=-1))]
    for vm in vms:
        waves[level[vm.id]].append(vm)
    return waves


def _prompts(plan: SimPlan, vm: SimVm) -> bool:
    settings = plan.settings[vm.id]
    return any(c["callout_type"] == "PROMPT" for c in (*settings.pre, *settings.post))


def _register_replica(world: World, vm: SimVm, target: str, role: str, ip: dict[int, str]) -> SimVm:
    """Recovery (and test recovery) puts the VM in its placeholder's place: the placeholder leaves the
    inventory and the recovered (or test) VM is registered in the placeholder's folder and resource pool,
    which the inventory mappings gave (SRM docs, "Site Recovery Manager and placeholder virtual machines":
    at recovery SRM replaces the placeholder with the recovered VM). Without a placeholder (never
    configured, or deleted), the mappings still say where; cleanup registers the placeholder again."""
    with world.lock:
        if (replication := world.replication_of_vm(vm.id)) is None:
            raise Failed(f"VM {vm.name} has no replication")
        folder, pool, problems = mappings.placement(world, vm)
    where = placeholders.swap_out(world, vm.id)
    if where is None and problems:
        raise Failed(f"cannot recover VM {vm.name}: {'; '.join(problems)}")
    folder, pool = where or (folder, pool)
    copy = effects.register_copy(world, vm, replication, target, role, folder=folder, pool=pool, ip=ip)
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
        plan = runnable(
            world, plan_id, {"READY_STATE", "RECOVERY_INTERRUPTED", "INCOMPLETE_RECOVERY", *RERUNNABLE}, "recovery"
        )
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
                vr.mark_recovery(world, [vm.id for vm, _ in plan_vms(world, plan)], "RECOVERED")
            set_groups(world, plan, "RECOVERED")
            return _recovered_status(world, plan, planned, touch_protected)

        set_groups(world, plan, "RECOVERING")
        return start_run(world, site, plan, "Recovery", "RECOVERY_IN_PROGRESS", work, "INCOMPLETE_RECOVERY", user)


def _sync_all(world: World, run: PlanRun, plan: SimPlan) -> None:
    """Sync every replication of the plan; VR syncs them in parallel, so the step waits for the longest."""
    with world.lock:
        replications = [
            r
            for vm, _ in plan_vms(world, plan)
            if (r := world.replication_of_vm(vm.id)) is not None and r.status not in vr.INACTIVE
        ]
    seconds = world.parallel(lambda r: vr.sync(run.ctx, r, paced=False), replications)
    run.ctx.spend(max(seconds, default=0.0))


def _stop_replications(world: World, plan: SimPlan) -> None:
    with world.lock:
        vm_ids = [vm.id for vm, _ in plan_vms(world, plan)]
    vr.mark_recovery(world, vm_ids, "RECOVERING")


def set_groups(world: World, plan: SimPlan, status: str) -> None:
    with world.lock:
        for group_id in plan.group_ids:
            if group_id in world.groups:
                world.groups[group_id].status = status


def runnable(world: World, plan_id: str, allowed: set[str], action: str) -> SimPlan:
    plan = world.plan(plan_id)
    if plan.running or plan.status not in allowed:
        raise SimError(400, "INVALID_PLAN_STATE", f"cannot run {action} on plan {plan.name} in state {plan.status}")
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
    set_groups(world, plan, "RECOVERED")
    return _recovered_status(world, plan, planned, touch_protected)
