"""Benchmark: `lab up` time and the one-retrieval inventory read at scale.

Run: .venv/bin/python bench/lab_and_inventory.py [--vms 600 1000] [--repeat 5]
Prints a Markdown table (append it to bench/RESULTS.md with the date and machine).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from srmctl.adapters.vcenter.connection import connect
from srmctl.adapters.vcenter.inventory import read_inventory
from srmctl.lab import lab
from srmctl.lab.topology import Topology, load_topology, scaled_topology


def measure(topology: Topology, label: str, repeat: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "lab"
        started = time.perf_counter()
        config = lab.up(directory, topology)
        up_seconds = time.perf_counter() - started
        try:
            session = connect(config.vcenter_endpoint(topology.protected_site))
            timings, calls_per_read = [], 0
            for _ in range(repeat):
                before = session.calls.copy()
                started = time.perf_counter()
                inventory = read_inventory(session)
                timings.append(time.perf_counter() - started)
                calls_per_read = sum((session.calls - before).values())
            session.close()
        finally:
            lab.down(directory)
    return (f"| {label} | {len(inventory.vms)} | {up_seconds:.2f} | {statistics.median(timings):.3f} | "
            f"{min(timings):.3f} | {inventory.round_trips} | {calls_per_read} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vms", type=int, nargs="*", default=[600])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print("| topology | VMs | lab up (s) | inventory median (s) | min (s) | retrievals | SOAP calls/read |")
    print("|---|---|---|---|---|---|---|")
    base = load_topology()
    print(measure(base, "default", args.repeat))
    for count in args.vms:
        print(measure(scaled_topology(base, count), f"scaled {count}", args.repeat))


if __name__ == "__main__":
    main()
