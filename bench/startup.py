"""Benchmark: start-up wall time of the light commands, against the bare interpreter.

Run: .venv/bin/python bench/startup.py [--repeat 21] [--no-append]
Times ``python -c pass``, ``srmctl --help``, ``srmctl validate playbooks/lab.yaml`` and ``srmctl schema`` as
separate processes (the installed ``srmctl`` script, as cron and shells run it), prints the median of each
with its ratio to ``python -c pass``, and appends the table to bench/RESULTS.md as a dated section.
Target: ``srmctl --help`` within 4x ``python -c pass``.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "RESULTS.md"
TARGET = 4.0


def srmctl_command() -> list[str]:
    """The console script next to this interpreter; the same entry point through ``-c`` when not installed."""
    script = shutil.which("srmctl", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-c", "from srmctl.cli.main import main; main()"]


def cases() -> list[tuple[str, list[str]]]:
    srmctl = srmctl_command()
    return [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("srmctl --help", [*srmctl, "--help"]),
        ("srmctl validate playbooks/lab.yaml", [*srmctl, "validate", "playbooks/lab.yaml"]),
        ("srmctl schema", [*srmctl, "schema"]),
    ]


def wall_time(argv: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}")
    return elapsed


def measure(repeat: int) -> list[tuple[str, float, float]]:
    """(label, median s, min s) per case. Runs are interleaved, so a burst of load on the machine touches
    every case alike instead of skewing one."""
    runs: dict[str, list[float]] = {label: [] for label, _ in cases()}
    wall_time(cases()[1][1])  # warm the file cache and the bytecode once, outside the measurement
    for _ in range(repeat):
        for label, argv in cases():
            runs[label].append(wall_time(argv))
    return [(label, statistics.median(times), min(times)) for label, times in runs.items()]


def table(rows: list[tuple[str, float, float]]) -> str:
    base = rows[0][1]
    lines = ["| command | median (ms) | min (ms) | × `python -c pass` |", "|---|---|---|---|"]
    lines += [
        f"| `{label}` | {median * 1000:.0f} | {low * 1000:.0f} | {median / base:.1f} |" for label, median, low in rows
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--no-append", action="store_true", help="Print only; leave bench/RESULTS.md alone.")
    args = parser.parse_args()
    rows = measure(args.repeat)
    text = table(rows)
    print(text)
    ratio = rows[1][1] / rows[0][1]
    verdict = "within" if ratio <= TARGET else "over"
    print(f"srmctl --help: {ratio:.1f}x python -c pass ({verdict} the {TARGET:g}x target)")
    if args.no_append:
        return
    section = (
        f"\n## Start-up (`bench/startup.py --repeat {args.repeat}`), {datetime.date.today().isoformat()}\n\n"
        f"Wall time of each command as its own process (median of {args.repeat}, interleaved), "
        f"Python {platform.python_version()}. Target: `srmctl --help` ≤ {TARGET:g}× `python -c pass` "
        f"({ratio:.1f}×, {verdict}).\n\n{text}\n"
    )
    with RESULTS.open("a") as out:
        out.write(section)
    print(f"appended to {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
