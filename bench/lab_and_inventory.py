"""Benchmark: `lab up` time and the one-retrieval inventory read at scale.

Run: .venv/bin/python bench/lab_and_inventory.py [--vms 600 1000] [--repeat 5]
Prints a Markdown table (append it to bench/RESULTS.md with the date and machine).
"""

from __future__ import annotations

import statistics
import time

from benchlib import run_table, timed_lab

from srmctl.adapters.vcenter.connection import connect
from srmctl.adapters.vcenter.inventory import read_inventory
from srmctl.labkit.topology import Topology


def measure(topology: Topology, label: str, repeat: int) -> str:
    with timed_lab(topology) as (config, up_seconds, _):
        session = connect(config.vcenter_endpoint(topology.protected_site))
        timings, calls_per_read = [], 0
        for _ in range(repeat):
            before = session.calls.copy()
            started = time.perf_counter()
            inventory = read_inventory(session)
            timings.append(time.perf_counter() - started)
            calls_per_read = sum((session.calls - before).values())
        session.close()
    return (
        f"| {label} | {len(inventory.vms)} | {up_seconds:.2f} | {statistics.median(timings):.3f} | "
        f"{min(timings):.3f} | {inventory.round_trips} | {calls_per_read} |"
    )


if __name__ == "__main__":
    run_table(
        __doc__ or "",
        "| topology | VMs | lab up (s) | inventory median (s) | min (s) | retrievals | SOAP calls/read |",
        measure,
        default_vms=600,
        default_repeat=5,
    )
