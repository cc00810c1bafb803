"""Benchmark: ``srmctl plan`` (the dry run of the whole failback) on the lab, default topology and N VMs.

Run: .venv/bin/python bench/plan_time.py [--vms 200] [--repeat 3]
Each size starts a planned-migration lab, writes a runbook for every VM of its plan, and times
``engine.dry_run`` (which plans every step against live vCenter, SRM and VR state, read-only).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from benchlib import run_table, runbook_for, timed_lab

from srmctl import engine
from srmctl.cli.endpoints import endpoints_for, read_lab
from srmctl.labkit.topology import Topology
from srmctl.runbook import load_runbook


def measure(topology: Topology, label: str, repeat: int) -> str:
    with timed_lab(topology, "planned-migration") as (config, up_seconds, tmp):
        runbook = load_runbook(runbook_for(topology, tmp / "rb.yaml"))
        timings, actions = [], 0
        for _ in range(repeat):
            started = time.perf_counter()
            plan = engine.dry_run(runbook, endpoints_for(runbook, read_lab(Path(config.directory))))
            timings.append(time.perf_counter() - started)
            actions = plan.action_count
    return (
        f"| {label} | {len(runbook.vm_names)} | {up_seconds:.1f} | {statistics.median(timings):.2f} | "
        f"{min(timings):.2f} | {actions} |"
    )


if __name__ == "__main__":
    run_table(
        __doc__ or "",
        "| topology | VMs | lab up, planned-migration (s) | plan median (s) | min (s) | actions planned |",
        measure,
        default_vms=200,
        default_repeat=3,
    )
