"""What the benchmarks share: a timed lab per topology, and the table-printing main loop."""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

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


def run_table(doc: str, header: str, measure: Callable[[Topology, str, int], str], default_vms: int,
              default_repeat: int) -> None:
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
