"""What the benchmarks share: a timed lab per topology, and the table-printing main loop."""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from srmctl.lab import lab
from srmctl.lab.config import LabConfig
from srmctl.labkit.topology import Topology, load_topology, scaled_topology


@contextmanager
def timed_lab(topology: Topology, scenario: str = "protected") -> Iterator[tuple[LabConfig, float, Path]]:
    """A lab of ``topology`` in a temporary folder: (config, seconds ``lab up`` took, the folder)."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "lab"
        started = time.perf_counter()
        config = lab.up(directory, topology, scenario=scenario)
        try:
            yield config, time.perf_counter() - started, Path(tmp)
        finally:
            lab.down(directory)


def runbook_for(topology: Topology, path: Path, *, name: str = "bench", concurrency: int = 8) -> Path:
    """A runbook failing back every VM of the topology's first plan, the default sequence (protection.restore
    included) and the default groups (the plan's own, rebuilt by name). The lab supplies the endpoints."""
    plan = topology.recovery_plans[0]
    vms = [vm for g in topology.protection_groups if g.name in plan.protection_groups for vm in g.vms]
    site = {
        "vcenter": {"host": "vc.lab", "user": "u", "password_env": "UNUSED"},
        "srm": {"host": "srm.lab"},
        "vr": {"host": "vr.lab"},
    }
    doc = {
        "version": 1,
        "name": name,
        "scenario": "planned-migration",
        "sites": {site_name: site for site_name in topology.sites},
        "failback": {"from": topology.recovery_site, "to": topology.protected_site},
        "vms": [{"name": vm} for vm in vms],
        "replication": {"rpo": "15m"},
        "recovery_plan": {"name": plan.name},
        "concurrency": concurrency,
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def run_table(
    doc: str, header: str, measure: Callable[[Topology, str, int], str], default_vms: int, default_repeat: int
) -> None:
    """Parse ``--vms``/``--repeat`` and print one Markdown row for the default topology and each size."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--vms", type=int, nargs="*", default=[default_vms])
    parser.add_argument("--repeat", type=int, default=default_repeat)
    args = parser.parse_args()
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    base = load_topology()
    print(measure(base, "default", args.repeat))
    for count in args.vms:
        print(measure(scaled_topology(base, count), f"scaled {count}", args.repeat))
