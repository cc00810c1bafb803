"""Benchmark: `srmctl lab up` time per scenario at N VMs (the lab reaches 1,000 VMs in every scenario).

Run: .venv/bin/python bench/lab_up_scale.py [--vms 200 1000] [--scenarios protected planned-migration ...]
Prints a Markdown table (append it to bench/RESULTS.md with the date and machine). Each lab is timed from the
first vcsim start to srmsim's readiness (the lab build, srmsim's seeding and, for the failover scenarios, its
own recovery), against the start limit that scales with the topology (60 s + 0.5 s per VM).
"""

from __future__ import annotations

import argparse

from benchlib import timed_lab

from srmctl.labkit.topology import load_topology, scaled_topology
from srmctl.srmsim.seed import SCENARIOS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vms", type=int, nargs="*", default=[200, 1000])
    parser.add_argument("--scenarios", nargs="*", default=list(SCENARIOS), choices=SCENARIOS)
    args = parser.parse_args()
    print("| scenario | VMs | lab up (s) | start limit (s) |")
    print("|---|---|---|---|")
    base = load_topology()
    for count in args.vms:
        for scenario in args.scenarios:
            with timed_lab(scaled_topology(base, count), scenario) as (_, seconds, _):
                print(f"| {scenario} | {count} | {seconds:.1f} | {60 + 0.5 * count:.0f} |", flush=True)


if __name__ == "__main__":
    main()
