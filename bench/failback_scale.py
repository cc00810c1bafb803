"""Benchmark: the whole failback at N VMs, in one run on one machine (issue #11's targets are ratios).

Run: .venv/bin/python bench/failback_scale.py [--vms 4 50 200] [--full] [--latency realistic] [--no-record]
For each N (4, 50 and 200; --full adds 1,000) it starts a planned-migration lab of N VMs whose srmsim takes
realistic time per task (srmsim/latency.py), then times, as separate srmctl processes:

- ``srmctl lab up`` (in this process: the lab build and srmsim's own recovery),
- ``srmctl plan`` (the dry run of every step),
- ``srmctl failback --yes``: the whole default sequence, protection.restore included, ``concurrency: 8``,

and reads from the run's journal the API calls each step made (vCenter SOAP, SRM, VR; step end events), and
srmctl's peak RSS (VmHWM from /proc while it runs). Prints a Markdown table with ratios to N = 4, appends it
to bench/RESULTS.md under a dated heading (unless --no-record) and plots wall time and calls per VM against N
to bench/failback_scale.png (needs the ``bench`` extra: matplotlib).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from benchlib import runbook_for

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "fixtures"))
from faults import lab_srmsim  # noqa: E402 - the tests' handle on a lab's srmsim

from srmctl.lab import lab
from srmctl.labkit.topology import load_topology, scaled_topology

HERE = Path(__file__).resolve().parent
APIS = ("soap", "srm", "vr")
CONCURRENCY = 8  # the runbook's (benchlib.runbook_for)


@dataclass
class Row:
    vms: int
    lab_up: float
    plan: float
    failback: float
    peak_rss_mb: float
    outcome: str
    calls: dict[str, dict[str, int]] = field(default_factory=dict)  # step -> api -> calls
    seconds: dict[str, float] = field(default_factory=dict)  # step -> wall seconds (started to verified)
    bounds: dict[str, float] = field(default_factory=dict)  # step -> lower bound from srmsim's task records

    @property
    def bound(self) -> float:
        return sum(self.bounds.values())

    def per_vm(self, api: str | None = None) -> float:
        total = sum(c for step in self.calls.values() for a, c in step.items() if api in (None, a))
        return total / self.vms


def srmctl(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run srmctl as its own process: (wall seconds, peak RSS in MB, stdout)."""
    command = [sys.executable, "-c", "from srmctl.cli.main import main; main()", *args]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, env=env)
        peak = 0
        while process.poll() is None:
            peak = max(peak, _hwm_kb(process.pid))
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        out.seek(0)
        return elapsed, peak / 1024, out.read()


def _hwm_kb(pid: int) -> int:
    """The process's peak resident set so far (VmHWM), 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def step_calls(journal: Path) -> dict[str, dict[str, int]]:
    """Per top-level step, the API calls its end event recorded (the last attempt)."""
    calls: dict[str, dict[str, int]] = {}
    for line in (journal / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event.get("kind") in ("step_verified", "step_failed") and "api_calls" in event:
            calls[event["step"]] = {api: int(event["api_calls"].get(api, 0)) for api in APIS}
    return calls


def step_windows(journal: Path, *, substeps: bool = False) -> dict[str, tuple[float, float]]:
    """Per top-level step (and with ``substeps`` each sub-step, as ``step/substep``), its (last) start and its
    end event, as epoch seconds."""
    started: dict[str, float] = {}
    windows: dict[str, tuple[float, float]] = {}
    for line in (journal / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        step, kind = event.get("step"), event.get("kind")
        if not step or "." not in step.split("/")[-1] or "/" in step:
            continue
        if kind.startswith("substep_"):
            if not substeps:
                continue
            step, kind = f"{step}/{event.get('substep')}", kind.replace("substep_", "step_")
        if kind == "step_started":
            started[step] = datetime.fromisoformat(event["at"]).timestamp()
        elif kind in ("step_verified", "step_failed") and step in started:
            windows[step] = (started[step], datetime.fromisoformat(event["at"]).timestamp())
    return windows


def step_seconds(journal: Path) -> dict[str, float]:
    """Per top-level step, the wall seconds from its (last) start to its end event."""
    return {step: end - start for step, (start, end) in step_windows(journal).items()}


def lower_bounds(
    windows: dict[str, tuple[float, float]], records: list[dict[str, Any]], concurrency: int
) -> dict[str, float]:
    """Per top-level step, the least time its SRM/VR work could take: for each (sub-)step, the longer of its
    longest task and its summed task time divided by the tasks that may be in flight together, added over a
    step's sub-steps (which run one after another). In flight together: the runbook's ``concurrency`` (srmctl
    keeps at most that many tasks going), or more where one batched request started more (VR configures every
    VM of a step in one call, so those tasks all run at once: dividing their time by ``concurrency`` would
    give a bound above the run itself). A task belongs to the innermost window holding the moment it was
    queued; the tasks' durations come from srmsim's own records."""
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for record in records:
        # Only the SRM and VR API's tasks, which srmctl starts and awaits; VR's own syncs after a configure
        # (srmsim's "vr-sync" workers) run beside the run, all at once, and no step waits for them.
        if record.get("api") not in ("srm", "vr") or record.get("started") is None or record.get("completed") is None:
            continue
        queued = record["queued"] / 1000
        holding = [(end - start, name) for name, (start, end) in windows.items() if start <= queued <= end]
        if holding:
            spans[min(holding)[1]].append((record["started"] / 1000, record["completed"] / 1000))
    bounds: dict[str, float] = defaultdict(float)
    for window, window_spans in spans.items():
        times = [end - start for start, end in window_spans]
        together = max(concurrency, most_at_once(window_spans))
        bounds[window.split("/")[0]] += max(max(times), sum(times) / together)
    return dict(bounds)


def most_at_once(spans: list[tuple[float, float]]) -> int:
    """The most of these (start, end) spans that overlap at one moment."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans], key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, change in edges:
        running += change
        peak = max(peak, running)
    return peak


def measure(count: int, latency: str, workdir: Path, raw: IO[str] | None = None) -> Row:
    topology = scaled_topology(load_topology(), count)
    directory = workdir / f"lab{count}"
    started = time.perf_counter()
    config = lab.up(directory, topology, scenario="planned-migration", latency=latency)
    up_seconds = time.perf_counter() - started
    try:
        runbook = str(runbook_for(topology, workdir / f"rb{count}.yaml", name="bench-failback"))
        env = {**os.environ, "SRMCTL_HOME": str(workdir / f"home{count}")}
        plan_seconds, _, _ = srmctl(["plan", runbook, "--lab", config.directory, "-o", "json"], env)
        seconds, rss, out = srmctl(["failback", runbook, "--lab", config.directory, "--yes", "-o", "json"], env)
        try:
            report = json.loads(out)["result"]
        except (ValueError, KeyError):
            return Row(count, up_seconds, plan_seconds, seconds, rss, f"no report: {out[:200]!r}")
        journal = Path(report["journal"])
        records = lab_srmsim(config).task_records()
        if raw is not None:
            raw.write(
                json.dumps({"vms": count, "windows": step_windows(journal, substeps=True), "records": records}) + "\n"
            )
            raw.flush()
        return Row(
            count,
            up_seconds,
            plan_seconds,
            seconds,
            rss,
            str(report.get("outcome")),
            step_calls(journal),
            step_seconds(journal),
            lower_bounds(step_windows(journal, substeps=True), records, CONCURRENCY),
        )
    finally:
        lab.down(directory)


def table(rows: list[Row]) -> str:
    base = rows[0]
    lines = [
        "| VMs | lab up (s) | plan (s) | plan / N=4 | failback (s) | failback / N=4 | lower bound (s) | "
        "failback / bound | calls/VM | SOAP/VM | SRM/VM | VR/VM | peak RSS (MB) | outcome |",
        "|" + "---|" * 14,
    ]
    for row in rows:
        ratio = f"{row.failback / row.bound:.2f}" if row.bound else "-"
        lines.append(
            f"| {row.vms} | {row.lab_up:.1f} | {row.plan:.1f} | {row.plan / base.plan:.2f} | {row.failback:.1f} | "
            f"{row.failback / base.failback:.2f} | {row.bound:.1f} | {ratio} | {row.per_vm():.1f} | "
            f"{row.per_vm('soap'):.1f} | {row.per_vm('srm'):.1f} | {row.per_vm('vr'):.1f} | {row.peak_rss_mb:.0f} | "
            f"{row.outcome} |"
        )
    return "\n".join(lines)


def step_table(rows: list[Row]) -> str:
    """API calls per VM per step, SOAP / SRM / VR, one column per N."""
    steps: dict[str, None] = {}
    for row in rows:
        steps.update(dict.fromkeys(row.calls))
    lines = [
        "| step | " + " | ".join(f"N={r.vms} SOAP/SRM/VR per VM" for r in rows) + " |",
        "|" + "---|" * (len(rows) + 1),
    ]
    for step in steps:
        cells = []
        for row in rows:
            calls = row.calls.get(step, defaultdict(int))
            cells.append(" / ".join(f"{calls[api] / row.vms:.1f}" for api in APIS))
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def time_table(rows: list[Row]) -> str:
    """Wall seconds per step and the step's lower bound from srmsim's task records, one column per N."""
    steps: dict[str, None] = {}
    for row in rows:
        steps.update(dict.fromkeys(row.seconds))
    lines = [
        "| step | " + " | ".join(f"N={r.vms} wall / bound (s)" for r in rows) + " |",
        "|" + "---|" * (len(rows) + 1),
    ]
    for step in steps:
        lines.append(
            f"| {step} | "
            + " | ".join(f"{r.seconds.get(step, 0.0):.1f} / {r.bounds.get(step, 0.0):.1f}" for r in rows)
            + " |"
        )
    return "\n".join(lines)


def plot(rows: list[Row], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed (pip install -e '.[bench]'): no plot", file=sys.stderr)
        return False
    counts = [r.vms for r in rows]
    figure, (wall, calls) = plt.subplots(1, 2, figsize=(10, 4))
    for label, values in (
        ("lab up", [r.lab_up for r in rows]),
        ("plan", [r.plan for r in rows]),
        ("failback", [r.failback for r in rows]),
    ):
        wall.plot(counts, values, marker="o", label=label)
    wall.set(xlabel="VMs", ylabel="wall time (s)", title="Wall time", xscale="log", yscale="log")
    wall.legend()
    for api in (None, *APIS):
        calls.plot(counts, [r.per_vm(api) for r in rows], marker="o", label=api.upper() if api else "all")
    calls.set(xlabel="VMs", ylabel="API calls per VM", title="Failback API calls per VM", xscale="log")
    calls.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vms", type=int, nargs="*", default=[4, 50, 200])
    parser.add_argument("--full", action="store_true", help="also 1,000 VMs")
    parser.add_argument("--latency", default="realistic", choices=("fast", "realistic"))
    parser.add_argument("--no-record", action="store_true", help="print only: no RESULTS.md rows, no plot")
    parser.add_argument("--raw", type=Path, help="write each N's step windows and task records (JSON lines)")
    args = parser.parse_args()
    counts = sorted(set(args.vms + ([1000] if args.full else [])))
    rows = []
    raw = args.raw.open("w") if args.raw else None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for count in counts:
                row = measure(count, args.latency, Path(tmp), raw)
                rows.append(row)
                print(
                    f"N={count}: lab up {row.lab_up:.1f}s, plan {row.plan:.1f}s, failback {row.failback:.1f}s "
                    f"({row.outcome}; lower bound {row.bound:.1f}s), {row.per_vm():.1f} calls/VM, "
                    f"peak RSS {row.peak_rss_mb:.0f} MB",
                    flush=True,
                )
        except KeyboardInterrupt:  # Ctrl-C during a long N: record the sizes measured so far
            print(f"interrupted: recording N = {', '.join(str(r.vms) for r in rows) or 'none'}", flush=True)
    if not rows:
        return
    text = (
        f"## Failback at scale (`bench/failback_scale.py`, latency {args.latency}), {date.today()}\n\n"
        f"Planned migration, the whole default sequence with protection.restore, `concurrency: 8`; "
        f"{os.cpu_count()} cores. Ratios are to the first N.\n\n{table(rows)}\n\n"
        f"API calls per VM per step (from the journal's step end events):\n\n{step_table(rows)}\n\n"
        f"Wall seconds per step (journal, step start to end) and each step's lower bound (srmsim's task "
        f"records: the longer of its longest task and its summed task time / {CONCURRENCY}):\n\n"
        f"{time_table(rows)}\n"
    )
    if not args.no_record and plot(rows, HERE / "failback_scale.png"):
        text += "\nPlot: bench/failback_scale.png\n"
    print(text)
    if not args.no_record:
        with (HERE / "RESULTS.md").open("a") as results:
            results.write("\n" + text)


if __name__ == "__main__":
    main()
