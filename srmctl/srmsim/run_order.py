"""The order in which a plan run brings its VMs up: priority group by priority group (P1 first), within a
group each VM after the VMs it depends on, in waves of VMs that start together (SRM starts a priority group's
VMs at the same time; srmsim/latency.py)."""

from __future__ import annotations

from srmctl.srmsim.model import PRIORITIES, SimPlan, SimVm
from srmctl.srmsim.plans import plan_vms
from srmctl.srmsim.world import World


def ordered(world: World, plan: SimPlan) -> dict[str, list[SimVm]]:
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


def waves(plan: SimPlan, vms: list[SimVm]) -> list[list[SimVm]]:
    """The VMs of one priority group (in dependency order, see :func:`ordered`) as waves: each VM in the
    wave after the last of its dependencies."""
    level: dict[str, int] = {}
    for vm in vms:
        level[vm.id] = 1 + max((level[d] for d in plan.settings[vm.id].dependent if d in level), default=-1)
    waves: list[list[SimVm]] = [[] for _ in range(1 + max(level.values(), default=-1))]
    for vm in vms:
        waves[level[vm.id]].append(vm)
    return waves


def prompts(plan: SimPlan, vm: SimVm) -> bool:
    settings = plan.settings[vm.id]
    return any(c["callout_type"] == "PROMPT" for c in (*settings.pre, *settings.post))
