"""SRM behaviour: protection groups, recovery plans and their state machine, per-VM recovery settings,
plan-level custom steps and prompts, and the plan runs (test, cleanup, recovery, reprotect, cancel).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from srmctl.srmsim import effects
from srmctl.srmsim import replication as vr
from srmctl.srmsim.model import (
    CUSTOM_VIEWS,
    HEALTHY_REPLICATION,
    PRIORITIES,
    STANDARD_STEPS,
    WARNING_REPLICATION,
    CustomStep,
    Failed,
    Prompt,
    SimError,
    SimGroup,
    SimPlan,
    SimTask,
    SimVm,
    TaskContext,
    VmSettings,
    World,
    not_found,
    now_ms,
)

IDLE = {"READY_STATE", "NO_PROTECTION_GROUPS", "DIRECTION_ERROR"}
RUNNING = {"TEST_IN_PROGRESS", "CLEANUP_IN_PROGRESS", "RECOVERY_IN_PROGRESS", "REPROTECT_IN_PROGRESS",
           "WAITING_FOR_USER_INPUT", "CANCEL_IN_PROGRESS"}


# --- protection groups ----------------------------------------------------------------------------


def vm_protection_status(world: World, vm_id: str, *, group_recovered: bool = False) -> str:
    replication = world.replication_of_vm(vm_id)
    if replication is None or group_recovered:
        # A recovered group's VMs run at the recovery site: their old replication can no longer protect
        # them, whatever it reports (NOT_ACTIVE after a planned migration, RPO_VIOLATION after DR).
        return "REPLICATION_ERROR"
    if replication.status in HEALTHY_REPLICATION:
        return "OK"
    if replication.status in WARNING_REPLICATION:
        return "REPLICATION_WARNING"
    return "REPLICATION_ERROR"


def _check_group_vms(world: World, protected_site: str, vm_ids: list[str]) -> None:
    for vm_id in vm_ids:
        vm = world.find_vm(vm_id)
        if vm.site != protected_site:
            raise SimError(400, "INVALID_VM", f"VM {vm.name} is not at the protected site {protected_site}")
        if world.replication_of_vm(vm_id) is None:
            raise SimError(400, "VM_NOT_REPLICATED", f"VM {vm.name} is not replicated by vSphere Replication")
        owner = next((g for g in world.groups.values() if vm_id in g.vm_ids), None)
        if owner is not None:
            raise SimError(400, "VM_ALREADY_PROTECTED", f"VM {vm.name} is already in group {owner.name}")


def create_group(world: World, site: str, spec: dict[str, Any]) -> SimTask:
    with world.lock:
        if spec.get("replication_type") != "HBR":
            raise SimError(400, "UNSUPPORTED", "srmsim supports HBR (vSphere Replication) groups only")
        protected = world.site_of_vc(spec["protected_vc_guid"]).name
        world.require_up(world.other(protected))
        if any(g.name == spec["name"] for g in world.groups.values()):
            raise SimError(400, "DUPLICATE_NAME", f"a protection group named {spec['name']!r} exists")
        vm_ids = list((spec.get("hbr_spec") or {}).get("vms") or [])
        _check_group_vms(world, protected, vm_ids)
        group = SimGroup(id=f"DrReplicationVmProtectionGroup:{uuid.uuid4()}", name=spec["name"],
                         description=spec.get("description") or "", protected_site=protected, vm_ids=vm_ids,
                         status="CONFIGURING_PROTECTION")
        world.groups[group.id] = group

        def work(ctx: TaskContext) -> dict[str, str]:
            ctx.pause()
            with world.lock:
                group.status = "OK"
            return {"id": group.id}

        def failed(message: str) -> None:
            world.groups.pop(group.id, None)

        return world.start_task(site, "srm", f"Create protection group {group.name}", group.id, group.name, work,
                                failed)


def reconfigure_group(world: World, site: str, group_id: str, spec: dict[str, Any]) -> SimTask:
    with world.lock:
        group = world.group(group_id)
        new_vms = list((spec.get("hbr_spec") or {}).get("vms") or group.vm_ids)
        _check_group_vms(world, group.protected_site, [v for v in new_vms if v not in group.vm_ids])
        group.name = spec.get("name") or group.name
        if spec.get("description") is not None:
            group.description = spec["description"]
        group.vm_ids = new_vms
        for plan in plans_of_group(world, group.id):
            sync_settings(world, plan)
        return world.start_task(site, "srm", f"Reconfigure protection group {group.name}", group.id, group.name,
                                lambda ctx: ctx.pause())


def delete_group(world: World, site: str, group_id: str) -> SimTask:
    with world.lock:
        group = world.group(group_id)
        in_plans = plans_of_group(world, group.id)
        if in_plans:
            raise SimError(400, "GROUP_IN_USE", f"protection group {group.name} is in recovery plan(s) "
                           f"{', '.join(p.name for p in in_plans)}; remove it from them first")
        group.status = "REMOVING_PROTECTION"

        def work(ctx: TaskContext) -> None:
            ctx.pause()
            with world.lock:
                world.groups.pop(group.id, None)

        return world.start_task(site, "srm", f"Delete protection group {group.name}", group.id, group.name, work)


def plans_of_group(world: World, group_id: str) -> list[SimPlan]:
    return [p for p in world.plans.values() if group_id in p.group_ids]


# --- recovery plans -------------------------------------------------------------------------------


def plan_vms(world: World, plan: SimPlan) -> list[tuple[SimVm, SimGroup]]:
    out = []
    for group_id in plan.group_ids:
        group = world.groups.get(group_id)
        if group is None:
            continue
        for vm_id in group.vm_ids:
            vm = next((s.vms[vm_id] for s in world.sites.values() if vm_id in s.vms), None)
            if vm is not None:
                out.append((vm, group))
    return out


def sync_settings(world: World, plan: SimPlan) -> None:
    """VMs joining the plan get default settings; VMs leaving it lose theirs (this loss is what
    srmctl's metadata snapshot/restore exists for)."""
    ids = {vm.id for vm, _ in plan_vms(world, plan)}
    for vm_id in list(plan.settings):
        if vm_id not in ids:
            del plan.settings[vm_id]
    for vm_id in ids:
        plan.settings.setdefault(vm_id, VmSettings())
    for settings in plan.settings.values():
        settings.dependent = [d for d in settings.dependent if d in ids]


def _idle_status(world: World, plan: SimPlan) -> str:
    if not plan.group_ids:
        return "NO_PROTECTION_GROUPS"
    if any(world.group(g).protected_site != plan.protected_site for g in plan.group_ids):
        return "DIRECTION_ERROR"
    return "READY_STATE"


def create_plan(world: World, site: str, spec: dict[str, Any]) -> SimTask:
    with world.lock:
        if any(p.name == spec["name"] for p in world.plans.values()):
            raise SimError(400, "DUPLICATE_NAME", f"a recovery plan named {spec['name']!r} exists")
        protected = world.site_of_vc(spec["protected_vc_guid"]).name
        groups = list(spec.get("protection_groups") or [])
        for group_id in groups:
            world.group(group_id)
        plan = SimPlan(id=f"DrRecoveryRecoveryPlan:{uuid.uuid4()}", name=spec["name"],
                       description=spec.get("description") or "", protected_site=protected, group_ids=groups)
        plan.status = _idle_status(world, plan)
        world.plans[plan.id] = plan
        sync_settings(world, plan)
        return world.start_task(site, "srm", f"Create recovery plan {plan.name}", plan.id, plan.name,
                                lambda ctx: {"id": plan.id})


def reconfigure_plan(world: World, site: str, plan_id: str, spec: dict[str, Any]) -> SimTask:
    with world.lock:
        plan = world.plan(plan_id)
        if plan.running:
            raise SimError(400, "PLAN_BUSY", f"recovery plan {plan.name} is {plan.status}")
        groups = spec.get("protection_groups")
        if groups is not None:
            for group_id in groups:
                world.group(group_id)
        if spec.get("protected_vc_guid"):
            protected = world.site_of_vc(spec["protected_vc_guid"]).name
            if protected != plan.protected_site:
                if plan.group_ids and groups != []:
                    raise SimError(400, "PLAN_NOT_EMPTY", "the direction of a recovery plan can change only "
                                   "while it has no protection groups")
                plan.protected_site = protected
        if groups is not None:
            plan.group_ids = list(groups)
        plan.name = spec.get("name") or plan.name
        if spec.get("description") is not None:
            plan.description = spec["description"]
        if not plan.group_ids or plan.status in IDLE:
            plan.status = _idle_status(world, plan)
        sync_settings(world, plan)
        return world.start_task(site, "srm", f"Reconfigure recovery plan {plan.name}", plan.id, plan.name,
                                lambda ctx: None)


def delete_plan(world: World, site: str, plan_id: str) -> SimTask:
    with world.lock:
        plan = world.plan(plan_id)
        if plan.running:
            raise SimError(400, "PLAN_BUSY", f"recovery plan {plan.name} is {plan.status}")
        del world.plans[plan.id]
        return world.start_task(site, "srm", f"Delete recovery plan {plan.name}", plan.id, plan.name,
                                lambda ctx: None)


# --- per-VM settings ------------------------------------------------------------------------------


def settings_of(world: World, plan: SimPlan, vm_id: str) -> VmSettings:
    if vm_id not in plan.settings:
        raise not_found(f"VM {vm_id} in recovery plan {plan.name}")
    return plan.settings[vm_id]


def _callouts(items: list[dict[str, Any]], step_type: str) -> list[dict[str, Any]]:
    out = []
    for item in items:
        out.append({"id": item.get("id") or f"callout-{uuid.uuid4()}", "name": item["name"],
                    "content": item["content"], "callout_type": item["callout_type"],
                    "timeout_seconds": int(item["timeout_seconds"]), "step_type": step_type})
    return out


def check_dependencies(world: World, plan: SimPlan, vm_id: str, dependent: list[str]) -> str | None:
    """None when valid, else the issue type (CYCLE_DETECTED)."""
    graph = {k: list(v.dependent) for k, v in plan.settings.items()}
    graph[vm_id] = list(dependent)
    seen: set[str] = set()

    def reaches(node: str, goal: str) -> bool:
        if node == goal:
            return True
        if node in seen:
            return False
        seen.add(node)
        return any(reaches(n, goal) for n in graph.get(node, []))

    return "CYCLE_DETECTED" if any(reaches(d, vm_id) for d in dependent) else None


def update_settings(world: World, site: str, plan_id: str, vm_id: str, spec: dict[str, Any]) -> SimTask:
    with world.lock:
        plan = world.plan(plan_id)
        current = settings_of(world, plan, vm_id)
        dependent = [d["id"] if isinstance(d, dict) else d for d in spec.get("dependent_vms") or []]
        _validate_dependencies(world, plan, vm_id, dependent)
        if spec["priority"] not in PRIORITIES:
            raise SimError(400, "INVALID_PRIORITY", f"priority {spec['priority']!r}")
        startup = spec.get("startup_action_settings") or {}
        shutdown = spec["shutdown_action_settings"]
        plan.settings[vm_id] = VmSettings(
            priority=spec["priority"], startup_action=spec["startup_action"],
            tools_timeout=int(startup.get("power_on_vmtools_timeout_seconds", current.tools_timeout)),
            delay=int(startup.get("delay_before_power_on_steps_and_dependent_vms_seconds", current.delay)),
            skip_guest=bool(shutdown.get("skip_shutdown_guest", False)),
            shutdown_timeout=int(shutdown["timeout_seconds"]),
            ip_customization_type=spec["ip_customization_type"], nic_settings=list(spec.get("nic_settings") or []),
            pre=_callouts(spec.get("pre_power_on_steps") or [], "PRE_POWER_ON"),
            post=_callouts(spec.get("post_power_on_steps") or [], "POST_POWER_ON"),
            dependent=dependent, change_version=current.change_version + 1,
        )
        return _settings_task(world, site, plan, vm_id, "Update recovery settings")


def _validate_dependencies(world: World, plan: SimPlan, vm_id: str, dependent: list[str]) -> None:
    for dep in dependent:
        if dep not in plan.settings:
            raise SimError(400, "DEPENDENT_VM_NOT_IN_PLAN", f"VM {dep} is not in recovery plan {plan.name}")
    if check_dependencies(world, plan, vm_id, dependent):
        raise SimError(400, "CYCLE_DETECTED", "the VM dependencies form a cycle")


def _settings_task(world: World, site: str, plan: SimPlan, vm_id: str, what: str) -> SimTask:
    vm = world.find_vm(vm_id)
    return world.start_task(site, "srm", f"{what} of {vm.name}", vm_id, vm.name, lambda ctx: None)


def set_priority(world: World, site: str, plan_id: str, vm_id: str, priority: str) -> SimTask:
    with world.lock:
        plan = world.plan(plan_id)
        if priority not in PRIORITIES:
            raise SimError(400, "INVALID_PRIORITY", f"priority {priority!r}")
        settings = settings_of(world, plan, vm_id)
        settings.priority, settings.change_version = priority, settings.change_version + 1
        return _settings_task(world, site, plan, vm_id, "Set priority")


def set_dependencies(world: World, site: str, plan_id: str, vm_id: str, dependent: list[str]) -> SimTask:
    with world.lock:
        plan = world.plan(plan_id)
        settings = settings_of(world, plan, vm_id)
        _validate_dependencies(world, plan, vm_id, dependent)
        settings.dependent, settings.change_version = list(dependent), settings.change_version + 1
        return _settings_task(world, site, plan, vm_id, "Set dependent VMs")


def set_ip(world: World, site: str, plan_id: str, vm_id: str, spec: dict[str, Any]) -> SimTask:
    with world.lock:
        plan = world.plan(plan_id)
        settings = settings_of(world, plan, vm_id)
        settings.ip_customization_type = spec["ip_customization_type"]
        settings.nic_settings = list(spec.get("nic_settings") or [])
        settings.change_version += 1
        return _settings_task(world, site, plan, vm_id, "Set IP customization")


# --- plan-level steps -----------------------------------------------------------------------------


def render_steps(plan: SimPlan, view: str) -> list[tuple[int, str, str, CustomStep | None]]:
    """Top-level steps of a view: (id, title, anchor, custom step or None), customs before their anchor."""
    if view not in STANDARD_STEPS:
        raise SimError(400, "INVALID_VIEW_MODE", f"view mode {view!r}")
    customs = plan.custom.get(view, [])
    out: list[tuple[int, str, str, CustomStep | None]] = []
    for index, (anchor, title) in enumerate(STANDARD_STEPS[view]):
        out += [(c.id, c.name, anchor, c) for c in customs if c.anchor == anchor]
        out.append((index + 1, title, anchor, None))
    out += [(c.id, c.name, "AT_END", c) for c in customs if c.anchor == "AT_END"]
    return out


def add_custom_step(world: World, site: str, plan_id: str, view: str, spec: dict[str, Any]) -> SimTask:
    with world.lock:
        plan = world.plan(plan_id)
        if view not in CUSTOM_VIEWS:
            raise SimError(400, "INVALID_VIEW_MODE", f"custom steps are not allowed in view mode {view!r}")
        rendered = render_steps(plan, view)
        position = int(spec["position"])
        customs = plan.custom.setdefault(view, [])
        step = CustomStep(id=world.new_id(), anchor="AT_END", name=spec["name"], content=spec["content"],
                          callout_type=spec["callout_type"], timeout=int(spec["timeout_seconds"]))
        if position < len(rendered):
            _, _, anchor, existing = rendered[position]
            step.anchor = anchor
            index = customs.index(existing) if existing else _after_anchor(customs, anchor)
            customs.insert(index, step)
        else:
            customs.append(step)
        return world.start_task(site, "srm", f"Create recovery step {step.name}", plan.id, plan.name,
                                lambda ctx: {"id": str(step.id)})


def _after_anchor(customs: list[CustomStep], anchor: str) -> int:
    positions = [i for i, c in enumerate(customs) if c.anchor == anchor]
    return positions[-1] + 1 if positions else len(customs)


def custom_step(plan: SimPlan, view: str, step_id: int) -> CustomStep:
    for step in plan.custom.get(view, []):
        if step.id == step_id:
            return step
    raise not_found(f"custom recovery step {step_id}")


def delete_custom_step(world: World, site: str, plan_id: str, view: str, step_id: int) -> SimTask:
    with world.lock:
        plan = world.plan(plan_id)
        step = custom_step(plan, view, step_id)
        plan.custom[view].remove(step)
        return world.start_task(site, "srm", f"Delete recovery step {step.name}", plan.id, plan.name,
                                lambda ctx: None)


def edit_custom_step(world: World, site: str, plan_id: str, view: str, step_id: int,
                     spec: dict[str, Any]) -> SimTask:
    with world.lock:
        plan = world.plan(plan_id)
        step = custom_step(plan, view, step_id)
        step.name, step.content = spec["name"], spec["content"]
        step.callout_type, step.timeout = spec["callout_type"], int(spec["timeout_seconds"])
        return world.start_task(site, "srm", f"Edit recovery step {step.name}", plan.id, plan.name,
                                lambda ctx: None)


# --- plan runs ------------------------------------------------------------------------------------


class _Run:
    """One plan run in a worker: walks the view's steps, marks their status, raises prompts."""

    def __init__(self, world: World, plan: SimPlan, view: str, ctx: TaskContext) -> None:
        self.world, self.plan, self.view, self.ctx = world, plan, view, ctx
        self.steps = render_steps(plan, view)
        with world.lock:
            plan.step_status[view] = {}

    def step(self, anchor: str, action: Callable[[], None] | None = None) -> None:
        for index, (step_id, title, step_anchor, custom) in enumerate(self.steps):
            if step_anchor != anchor:
                continue
            self._check_cancel()
            with self.world.lock:
                self.plan.step_status[self.view][step_id] = "RUNNING"
            if custom is not None:
                if custom.callout_type == "PROMPT":
                    self.prompt(title, custom.content, str(custom.id))
            elif action is not None:
                action()
            self.ctx.pause()
            with self.world.lock:
                self.plan.step_status[self.view][step_id] = "SUCCESS"
                self.plan.progress = int(100 * (index + 1) / len(self.steps))
            self.ctx.progress(self.plan.progress)

    def prompt(self, description: str, text: str, callout_id: str) -> None:
        prompt = Prompt(id=str(uuid.uuid4()), description=description, text=text, callout_id=callout_id,
                        raised=now_ms())
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


def _start_run(world: World, site: str, plan: SimPlan, kind: str, running_status: str,
               work: Callable[[_Run], str], failed_status: str) -> SimTask:
    view = {"Test": "test", "Cleanup": "cleanup", "Recovery": "recovery", "Reprotect": "reprotect"}[kind]
    plan.status, plan.running, plan.progress = running_status, True, 0
    plan.cancel.clear()

    def run(ctx: TaskContext) -> None:
        end = work(_Run(world, plan, view, ctx))
        with world.lock:
            plan.status, plan.running, plan.progress = end, False, 100

    def failed(message: str) -> None:
        plan.status = "CANCEL_IN_PROGRESS" if plan.cancel.is_set() else plan.status
        plan.status = {"Test": "TEST_INTERRUPTED", "Cleanup": "CLEANUP_INCOMPLETE",
                       "Recovery": "RECOVERY_INTERRUPTED" if plan.cancel.is_set() else failed_status,
                       "Reprotect": "INCOMPLETE_REPROTECT"}[kind]
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
            if plan.settings[dep].priority == plan.settings[vm_id].priority:
                visit(dep)
        by_priority[plan.settings[vm_id].priority].append(vms[vm_id])

    for vm_id in sorted(vms, key=lambda v: vms[v].name):
        visit(vm_id)
    return by_priority


def _bring_up(world: World, run: _Run, plan: SimPlan, target: str, role: str) -> None:
    """Register each VM's replica at ``target`` and power it on, priority group by priority group."""
    order = _ordered(world, plan)
    for number, priority in enumerate(PRIORITIES, start=1):
        def power_on(vms: list[SimVm] = order[priority]) -> None:
            for vm in vms:
                settings = plan.settings[vm.id]
                for callout in settings.pre:
                    if callout["callout_type"] == "PROMPT":
                        run.prompt(callout["name"], callout["content"], callout["id"])
                replica = _register_replica(world, vm, target, role)
                if settings.startup_action == "POWER_ON":
                    effects.set_power(world, [replica], on=True)
                for callout in settings.post:
                    if callout["callout_type"] == "PROMPT":
                        run.prompt(callout["name"], callout["content"], callout["id"])
                with world.lock:
                    plan.vm_status[vm.id] = "TEST_SUCCEEDED" if role == "test" else "RECOVERY_SUCCEEDED"
        run.step(f"BEFORE_RECOVER_PRIORITY_{number}_VMS", power_on)


def _register_replica(world: World, vm: SimVm, target: str, role: str) -> SimVm:
    with world.lock:
        replication = world.replication_of_vm(vm.id)
        if replication is None:
            raise Failed(f"VM {vm.name} has no replication")
    return effects.register_copy(world, vm, replication, target, role)


def run_test(world: World, site: str, plan_id: str, spec: dict[str, Any]) -> SimTask:
    with world.lock:
        plan = _runnable(world, plan_id, {"READY_STATE"}, "test")
        recovery = world.other(plan.protected_site)

        def work(run: _Run) -> str:
            if spec.get("sync_data", True):
                run.step("BEFORE_SYNC_STORAGE", lambda: _sync_all(world, run, plan))
            for anchor in ("BEFORE_PREPARE_STORAGE", "BEFORE_SUSPEND_RECOVERY_SITE_VMS"):
                run.step(anchor)
            _bring_up(world, run, plan, recovery, "test")
            run.finish()
            _set_groups(world, plan, "TEST_COMPLETE")
            return "TEST_COMPLETE"

        _set_groups(world, plan, "TESTING")
        return _start_run(world, site, plan, "Test", "TEST_IN_PROGRESS", work, "TEST_INTERRUPTED")


def run_cleanup(world: World, site: str, plan_id: str, spec: dict[str, Any]) -> SimTask:
    with world.lock:
        allowed = {"TEST_COMPLETE", "TEST_INTERRUPTED", "CLEANUP_INCOMPLETE"}
        plan = _runnable(world, plan_id, allowed, "cleanup")

        def remove_test_vms() -> None:
            with world.lock:
                names = {vm.name for vm, _ in plan_vms(world, plan)}
                recovery = world.site(world.other(plan.protected_site))
                tests = [v for v in recovery.vms.values() if v.role == "test" and v.name in names]
            for vm in tests:
                effects.remove_test_copy(world, vm)

        def work(run: _Run) -> str:
            run.step("BEFORE_POWER_OFF_RECOVERY_SITE_VMS", remove_test_vms)
            run.step("BEFORE_RESUME_RECOVERY_SITE_VMS")
            run.step("BEFORE_CLEANUP_RECOVERY_UNITS")
            with world.lock:
                plan.vm_status.clear()
            _set_groups(world, plan, "OK")
            return "READY_STATE"

        _set_groups(world, plan, "CLEANING_UP")
        return _start_run(world, site, plan, "Cleanup", "CLEANUP_IN_PROGRESS", work, "CLEANUP_INCOMPLETE")


def run_recovery(world: World, site: str, plan_id: str, spec: dict[str, Any]) -> SimTask:
    with world.lock:
        planned = bool(spec.get("planned_failover"))
        plan = _runnable(world, plan_id, {"READY_STATE", "RECOVERY_INTERRUPTED", "INCOMPLETE_RECOVERY"},
                         "recovery")
        protected, recovery = plan.protected_site, world.other(plan.protected_site)
        world.require_up(recovery)
        protected_up = world.site(protected).up
        if not protected_up and (planned or not spec.get("skip_protection_site_operations")):
            raise SimError(400, "PROTECTED_SITE_DOWN", f"protected site {protected} is not reachable; run "
                           "disaster recovery with skip_protection_site_operations")
        touch_protected = planned or (protected_up and not spec.get("skip_protection_site_operations"))

        def shut_down() -> None:
            # Powered off, not unregistered: the old VMs stay in the protected site's inventory (the orphans).
            with world.lock:
                vms = [vm for vm, _ in plan_vms(world, plan)]
            effects.set_power(world, vms, on=False)

        def work(run: _Run) -> str:
            if touch_protected and spec.get("sync_data", True):
                run.step("BEFORE_PRESYNC_STORAGE", lambda: _sync_all(world, run, plan))
            run.step("BEFORE_SHUTDOWN_PROTECTED_SITE_VMS", shut_down if touch_protected else None)
            if touch_protected and spec.get("sync_data", True):
                run.step("BEFORE_SYNC_STORAGE", lambda: _sync_all(world, run, plan))
            run.step("BEFORE_PREPARE_STORAGE", lambda: _stop_replications(world, plan))
            run.step("BEFORE_SUSPEND_RECOVERY_SITE_VMS")
            _bring_up(world, run, plan, recovery, "replica")
            run.finish()
            _set_groups(world, plan, "RECOVERED")
            return "RECOVERY_COMPLETE" if planned else "DISASTER_RECOVERY_COMPLETE"

        _set_groups(world, plan, "RECOVERING")
        return _start_run(world, site, plan, "Recovery", "RECOVERY_IN_PROGRESS", work, "INCOMPLETE_RECOVERY")


def run_reprotect(world: World, site: str, plan_id: str, spec: dict[str, Any]) -> SimTask:
    """Reverse the direction: unregister the old VMs (files kept as seeds), replicate the recovered VMs
    back onto them, flip groups and plan, and keep the per-VM settings."""
    with world.lock:
        plan = _runnable(world, plan_id, {"RECOVERY_COMPLETE", "DISASTER_RECOVERY_COMPLETE",
                                          "INCOMPLETE_REPROTECT", "PARTIAL_REPROTECT", "REPROTECT_INTERRUPTED"},
                         "reprotect")
        old_site, new_site = plan.protected_site, world.other(plan.protected_site)
        for name in (old_site, new_site):
            world.require_up(name)

        def work(run: _Run) -> str:
            mapping: dict[str, tuple[SimVm, str]] = {}
            run.step("BEFORE_CONFIGURE_STORAGE", lambda: mapping.update(_unregister_old(world, plan)))
            run.step("BEFORE_REVERSE_REPLICATION", lambda: _reverse(world, run, mapping))
            run.step("BEFORE_CREATE_PLACEHOLDER_VMS", lambda: _flip(world, plan, mapping, new_site))
            return "READY_STATE"

        _set_groups(world, plan, "REPROTECTING")
        return _start_run(world, site, plan, "Reprotect", "REPROTECT_IN_PROGRESS", work, "INCOMPLETE_REPROTECT")


def _unregister_old(world: World, plan: SimPlan) -> dict[str, tuple[SimVm, str]]:
    """Old VM id -> (old VM, recovered VM id); the old VMs leave the inventory, their files stay."""
    mapping = {}
    with world.lock:
        recovery = world.site(world.other(plan.protected_site))
        for vm, _ in plan_vms(world, plan):
            replica = next((v for v in recovery.vms.values() if v.role == "replica" and v.name == vm.name), None)
            if replica is None:
                raise Failed(f"no recovered VM {vm.name} at {recovery.name}")
            mapping[vm.id] = (vm, replica.id)
    for vm, _ in mapping.values():
        effects.unregister(world, vm)
        with world.lock:
            world.site(vm.site).vms.pop(vm.id, None)
    return mapping


def _reverse(world: World, run: _Run, mapping: dict[str, tuple[SimVm, str]]) -> None:
    """Replicate each recovered VM back onto its old disks, used as seeds."""
    for old_id, (old_vm, new_id) in mapping.items():
        with world.lock:
            old = world.replication_of_vm(old_id)
            if old is not None:
                del world.replications[old.id]
            replica = world.find_vm(new_id)
            old_files = {d.device_key: d.filename for d in old_vm.disks}
            disks: list[dict[str, Any]] = [{"vm_disk": {"vm_id": new_id, "is_vm_home": True},
                      "destination_datastore_id": old_vm.datastore_id}]
            disks += [{"vm_disk": {"vm_id": new_id, "device_key": d.device_key},
                       "destination_datastore_id": old_vm.datastore_id, "use_seeds": True,
                       "destination_path": old_files[d.device_key], "enabled_for_replication": True}
                      for d in replica.disks]
            spec = {"vm_id": new_id, "target_vc_id": world.site(old_vm.site).vc_guid,
                    "rpo": old.rpo if old else 15, "quiesce_enabled": old.quiesce if old else False,
                    "network_compression_enabled": old.compression if old else False, "disks": disks}
            reverse = vr.new_replication(world, replica, old_vm.site, spec)
            world.replications[reverse.id] = reverse
        effects.footprint(world, reverse, active=True)
        vr.sync(run.ctx, reverse)


def _flip(world: World, plan: SimPlan, moved: dict[str, tuple[SimVm, str]], new_site: str) -> None:
    mapping = {old: new for old, (_, new) in moved.items()}
    with world.lock:
        for group_id in plan.group_ids:
            group = world.group(group_id)
            group.vm_ids = [mapping.get(v, v) for v in group.vm_ids]
            group.protected_site, group.status = new_site, "OK"
        for vm_id in list(plan.settings):
            settings = plan.settings.pop(vm_id)
            settings.dependent = [mapping.get(d, d) for d in settings.dependent]
            plan.settings[mapping.get(vm_id, vm_id)] = settings
        for vm_id in mapping.values():
            world.find_vm(vm_id).role = "vm"
        plan.protected_site = new_site
        plan.vm_status.clear()


def _sync_all(world: World, run: _Run, plan: SimPlan) -> None:
    for vm, _ in plan_vms(world, plan):
        replication = world.replication_of_vm(vm.id)
        if replication is not None and replication.status not in ("NOT_ACTIVE", "PAUSED"):
            vr.sync(run.ctx, replication)


def _stop_replications(world: World, plan: SimPlan) -> None:
    with world.lock:
        for vm, _ in plan_vms(world, plan):
            replication = world.replication_of_vm(vm.id)
            if replication is not None:
                replication.status = "NOT_ACTIVE"


def _set_groups(world: World, plan: SimPlan, status: str) -> None:
    with world.lock:
        for group_id in plan.group_ids:
            if group_id in world.groups:
                world.groups[group_id].status = status


def _runnable(world: World, plan_id: str, allowed: set[str], action: str) -> SimPlan:
    plan = world.plan(plan_id)
    if plan.running or plan.status not in allowed:
        raise SimError(400, "INVALID_PLAN_STATE", f"cannot run {action} on recovery plan {plan.name} in state "
                       f"{plan.status}")
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


def dismiss(world: World, plan_id: str, prompt_id: str) -> None:
    with world.lock:
        plan = world.plan(plan_id)
        prompt = plan.prompts.get(prompt_id)
        if prompt is None:
            raise not_found(f"prompt {prompt_id}")
        prompt.dismissed.set()


def set_site_up(world: World, name: str, up: bool) -> None:
    """A site goes down: its VMs stop. It comes back after a disaster: those VMs boot again (split brain risk)
    and the replications of plans recovered without it report RPO_VIOLATION (posted to its event log)."""
    with world.lock:
        site = world.site(name)
        was_up = site.up
        if up == was_up:
            return
        if not up:
            stopped = [vm for vm in site.vms.values() if vm.power_state == "POWERED_ON" and vm.registered]
            site.outage_powered_off = [vm.id for vm in stopped]
        else:
            restarted = [site.vms[i] for i in site.outage_powered_off if i in site.vms]
            site.outage_powered_off = []
    if not up:
        effects.set_power(world, stopped, on=False)
        with world.lock:
            site.up = False
        return
    with world.lock:
        site.up = True
        violated = [r for plan in world.plans.values()
                    if plan.status == "DISASTER_RECOVERY_COMPLETE" and plan.protected_site == name
                    for vm, _ in plan_vms(world, plan)
                    if (r := world.replication_of_vm(vm.id)) is not None]
        for replication in violated:
            replication.status = "RPO_VIOLATION"
    effects.set_power(world, restarted, on=True)
    for replication in violated:
        effects.event(world, replication, f"RPO violation: {replication.name} has not been synchronised to "
                      f"{replication.target_site} for longer than its RPO of {replication.rpo} minutes")
