"""Checks of a lab topology beyond its keys' types: references between its parts, and the recovery plans'
metadata in the snapshot vocabulary. Everything srmsim would refuse while it seeds the lab (a plan's VM
settings, custom steps, dependencies, a group VM without replication) is found here, before ``lab up`` starts
anything, as findings with key paths that the loader turns into ``file:line:col`` (see docs/architecture.md,
"The lab and srmsim").
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from srmctl.metadata.snapshot import CalloutType, ViewMode, VmMetadata
from srmctl.runbook.problems import Loc, Problem
from srmctl.runbook.source import model_problems

if TYPE_CHECKING:
    from srmctl.labkit.topology import Topology, TopologyPlan

ROOT_FOLDER = "/"  # the datacenter's VM folder in inventory mappings
_STEP_TIMEOUT = re.compile(r"^\s*(\d+)\s*(s|m|h)?\s*$")  # what srmsim's seeding reads (300s, 15m, 1h)


def _step_timeout(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str) or not _STEP_TIMEOUT.match(value):
        raise ValueError(f"timeout {value!r}: use seconds, or a number with s, m or h (300s, 15m, 1h)")
    return value


class _PlanStep(BaseModel):
    """A plan-level custom step as the topology writes it (the snapshot's callout keys, position optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: CalloutType
    name: str
    content: str
    position: int = Field(0, ge=0)
    timeout: Annotated[int | str, BeforeValidator(_step_timeout)] = 0


class _PlanSteps(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    steps: dict[ViewMode, list[_PlanStep]]


def topology_problems(topology: Topology) -> list[Problem]:
    problems: list[Problem] = []
    if len(topology.sites) != 2:
        return [Problem(("sites",), "a lab has exactly two sites")]
    if topology.protected_site not in topology.sites:
        return [Problem(("protected_site",), f"{topology.protected_site!r} is not one of the sites")]
    protected, recovery = topology.sites[topology.protected_site], topology.recovery_site_model
    first: dict[str, int] = {}  # sets and dicts throughout: a scaled lab has thousands of VMs
    for i, vm in enumerate(topology.vms):
        first.setdefault(vm.name, i)
    names = set(first)
    for i, vm in enumerate(topology.vms):
        if first[vm.name] != i:
            problems.append(Problem(("vms", i, "name"), f"{vm.name!r} is listed twice"))
        if vm.datastore not in protected.datastores:
            problems.append(
                Problem(("vms", i, "datastore"), f"{vm.datastore!r} is not a datastore of {topology.protected_site}")
            )
        if vm.folder and vm.folder not in protected.folders:
            problems.append(
                Problem(("vms", i, "folder"), f"{vm.folder!r} is not a folder of {topology.protected_site}")
            )
        if vm.replication and vm.replication.target_datastore not in recovery.datastores:
            problems.append(
                Problem(
                    ("vms", i, "replication", "target_datastore"),
                    f"{vm.replication.target_datastore!r} is not a datastore of {topology.recovery_site}",
                )
            )
    replicated = {vm.name for vm in topology.vms if vm.replication}
    owner: dict[str, str] = {}
    for i, pg in enumerate(topology.protection_groups):
        for j, name in enumerate(pg.vms):
            where = ("protection_groups", i, "vms", j)
            if name not in names:
                problems.append(Problem(where, f"unknown VM {name!r}"))
            elif name not in replicated:
                # A vSphere Replication protection group holds replicated VMs only (SRM: VM not replicated).
                problems.append(
                    Problem(
                        where,
                        f"VM {name!r} has no replication: a vSphere Replication "
                        "protection group holds replicated VMs only",
                    )
                )
            elif name in owner:
                problems.append(
                    Problem(
                        where, f"VM {name!r} is already in group {owner[name]!r} (a VM belongs to one protection group)"
                    )
                )
            else:
                owner[name] = pg.name
    groups = {pg.name: pg for pg in topology.protection_groups}
    for i, plan in enumerate(topology.recovery_plans):
        problems += [
            Problem(("recovery_plans", i, "protection_groups", j), f"unknown protection group {g!r}")
            for j, g in enumerate(plan.protection_groups)
            if g not in groups
        ]
        # Plans may share groups ("You can include a protection group in more than one recovery plan", SRM
        # administration, "Creating, Testing, and Running Recovery Plans"); one plan holds a group once.
        problems += [
            Problem(("recovery_plans", i, "protection_groups", j), f"protection group {g!r} is listed twice")
            for j, g in enumerate(plan.protection_groups)
            if g in plan.protection_groups[:j]
        ]
        members = {v for g in plan.protection_groups if g in groups for v in groups[g].vms}
        problems += _plan_problems(("recovery_plans", i), plan, members, names)
    return problems + _mapping_problems(topology)


def _plan_problems(where: Loc, plan: TopologyPlan, members: set[str], names: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    settings: dict[str, VmMetadata] = {}
    for name, meta in plan.vms.items():
        at = (*where, "vms", name)
        if name not in names:
            problems.append(Problem(at, f"unknown VM {name!r}", "key"))
            continue
        if name not in members:
            problems.append(Problem(at, f"VM {name!r} is in none of the plan's protection groups", "key"))
        try:
            settings[name] = VmMetadata.model_validate(meta)
        except ValidationError as error:
            problems += _under(at, error)
    for name, validated in settings.items():
        for dependency in validated.dependencies:
            if dependency not in members:
                # SRM's VmSummarizedRecoverySettings.dependent_vms: dependent VMs must be in the same plan.
                problems.append(
                    Problem((*where, "vms", name, "dependencies"), f"{dependency!r} is not a VM of this plan")
                )
    if _cycle(settings):
        problems.append(Problem((*where, "vms"), "the VM dependencies form a cycle"))
    try:
        _PlanSteps.model_validate({"steps": plan.steps})
    except ValidationError as error:
        problems += _under(where, error)
    return problems


def _under(where: Loc, error: ValidationError) -> list[Problem]:
    found = []
    for problem in model_problems(error.errors()):
        if problem.loc[-1:] == ("[key]",):  # pydantic's marker for a refused mapping key: point at that key
            problem = Problem(problem.loc[:-1], problem.message, "key")
        found.append(Problem((*where, *problem.loc), problem.message, problem.anchor))
    return found


def _cycle(settings: dict[str, VmMetadata]) -> bool:
    graph = {name: [d for d in meta.dependencies if d in settings] for name, meta in settings.items()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str) -> bool:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1 or (nxt not in state and visit(nxt)):
                return True
        state[node] = 2
        return False

    return any(node not in state and visit(node) for node in graph)


def _mapping_problems(topology: Topology) -> list[Problem]:
    problems = []
    for name, direction in topology.inventory_mappings.items():
        where: Loc = ("inventory_mappings", name)
        if name not in topology.sites:
            problems.append(Problem(where, f"{name!r} is not one of the sites", "key"))
            continue
        mine, theirs = topology.sites[name], topology.sites[next(s for s in topology.sites if s != name)]
        for source, target in direction.folders.items():
            if source != ROOT_FOLDER and source not in mine.folders:
                problems.append(Problem((*where, "folders", source), f"{source!r} is not a folder of {name}", "key"))
            if target != ROOT_FOLDER and target not in theirs.folders:
                problems.append(Problem((*where, "folders", source), f"{target!r} is not a folder of the other site"))
        for source, target in direction.resource_pools.items():
            if source not in {c.name for c in mine.clusters}:
                problems.append(
                    Problem((*where, "resource_pools", source), f"{source!r} is not a cluster of {name}", "key")
                )
            if target not in {c.name for c in theirs.clusters}:
                problems.append(
                    Problem((*where, "resource_pools", source), f"{target!r} is not a cluster of the other site")
                )
        problems += [
            Problem((*where, "placeholder_datastores", j), f"{d!r} is not a datastore of the other site")
            for j, d in enumerate(direction.placeholder_datastores)
            if d not in theirs.datastores
        ]
    return problems
