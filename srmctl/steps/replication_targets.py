"""Where replication.reverse replicates each running VM to: the destination datastore at home and the seeds
found there (the runbook's datastore, else the orphan's, else the datastore holding most of its disks)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from srmctl.adapters.dr.models import Datastore, VrVm
from srmctl.steps.context import Sides, StepContext
from srmctl.steps.seeds import find_seeds
from srmctl.steps.vms import matching


@dataclass(frozen=True)
class Target:
    datastore: Datastore
    seeds: dict[int, str]  # device key -> seed path found at the datastore
    how: str  # how the datastore was chosen, for the plan


def occupied(name: str, datastore: str, files: Mapping[int, str]) -> str:
    """vSphere Replication never configures a disk without use_seeds onto an existing file ("you must change
    the target location", admin guide "Replicating Virtual Machines Using Replication Seeds"): srmctl never
    asks it to, so the old disks stay untouched."""
    paths = ", ".join(f"[{datastore}] {path}" for path in sorted(files.values()))
    return (
        f"{name}: {paths} already exist(s) and replication.seeds is none; VR does not overwrite them: use "
        "them as seeds (seeds: preferred or required), or set vms[].datastore to another datastore"
    )


def choose_targets(ctx: StepContext, s: Sides, vms: Mapping[str, VrVm], problems: list[str]) -> dict[str, Target]:
    """The destination datastore and seeds of each VM: the runbook's datastore, else the orphan's (while it is
    still registered), else the datastore on which VR finds the most of the VM's disks."""
    if not vms:
        return {}
    datastores = {d.name: d for d in s.dr.vr.datastores(s.home_guid)}
    home_inventory = ctx.ops(s.home).inventory() if s.home in ctx.sites else None
    chosen: dict[str, tuple[Datastore, str]] = {}
    undecided: dict[str, VrVm] = {}
    runbook_vms = {v.name: v for v in ctx.runbook.vms or ()}  # by name: no scan of the runbook per VM
    for name, vm in vms.items():
        runbook_vm = runbook_vms[name]
        orphans = matching(home_inventory, runbook_vm) if home_inventory is not None else ()
        if runbook_vm.datastore is not None:
            wanted, how = runbook_vm.datastore, "runbook"
        elif len(orphans) == 1:
            wanted, how = orphans[0].home[0], "orphan"
        else:
            undecided[name] = vm
            continue
        if wanted not in datastores:
            problems.append(f"{name}: datastore {wanted} ({how}) is not a VR target datastore at {s.home}")
        else:
            chosen[name] = (datastores[wanted], how)
    result: dict[str, Target] = {}
    by_datastore: dict[str, dict[str, VrVm]] = {}
    for name, (datastore, _) in chosen.items():
        by_datastore.setdefault(datastore.id, {})[name] = vms[name]
    for datastore_id, group in by_datastore.items():
        for name, seeds in find_seeds(s, datastore_id, group).items():
            datastore, how = chosen[name]
            result[name] = Target(datastore, seeds, how)
    if undecided:
        # One find-seeds call per datastore for all undecided VMs; the datastore with most seeds wins.
        best: dict[str, Target] = {}
        for datastore in datastores.values():
            for name, seeds in find_seeds(s, datastore.id, undecided).items():
                if seeds and len(seeds) > len(best[name].seeds if name in best else {}):
                    best[name] = Target(datastore, seeds, "seeds found")
        for name in undecided:
            if name in best:
                result[name] = best[name]
            else:
                problems.append(
                    f"{name}: no copy of its disks found on any datastore at {s.home}; set "
                    f"vms[].datastore in the runbook"
                )
    return result
