"""Crash matrix, whole: for each scenario a clean ``srmctl failback --yes`` counts its journal events (E), then
every N in 1..E (or every ``--stride``-th) gets a fresh lab, a failback SIGKILLed right after event N
(``SRMCTL_TEST_KILL_AT_EVENT``), one ``srmctl resume --yes``, and the checks of tests/e2e/test_crash_matrix.py
(end state, nothing lost). Prints a Markdown table of kill point → outcome and, with ``--results``, appends it
to bench/RESULTS.md.

    python bench/crash_matrix.py [--scenario planned-migration] [--stride 1] [--jobs 4] [--results]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "fixtures"), str(ROOT / "tests" / "e2e")]

from test_crash_matrix import SCENARIOS, Outcome, run_cases  # noqa: E402


def row(outcome: Outcome) -> str:
    if not outcome.killed:
        result = "not killed (the run ended first)" if outcome.ok else "FAILED without a kill"
    else:
        result = "resumed, end state, nothing lost" if outcome.ok else "**FAILED**"
    problems = "; ".join(p.replace("\n", " ").replace("|", "\\|")[:300] for p in outcome.problems)
    return (
        f"| {outcome.scenario} | {outcome.kill_at} | {outcome.killed_after or '-'} | {result} | "
        f"{outcome.seconds:.0f} | {problems} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=SCENARIOS, action="append")
    parser.add_argument("--stride", type=int, default=1, help="kill after every STRIDE-th event (1: every one)")
    parser.add_argument("--jobs", type=int, default=4, help="cases at a time (each runs its own lab)")
    parser.add_argument("--results", action="store_true", help="append the table to bench/RESULTS.md")
    args = parser.parse_args()
    scenarios = args.scenario or list(SCENARIOS)
    started = time.monotonic()
    lines: list[str] = []
    failures = 0
    with tempfile.TemporaryDirectory(prefix="crash-matrix-") as tmp:
        root = Path(tmp)
        clean = {o.scenario: o for o in run_cases([(s, 0) for s in scenarios], root / "clean", args.jobs)}
        for scenario in scenarios:
            print(
                f"{scenario}: clean run {len(clean[scenario].events)} events, "
                f"{'ok' if clean[scenario].ok else clean[scenario].problems}",
                file=sys.stderr,
                flush=True,
            )
        cases = [(s, n) for s in scenarios for n in range(1, len(clean[s].events) + 1, args.stride)]
        for outcome in run_cases(cases, root / "kills", args.jobs):
            lines.append(row(outcome))
            failures += not outcome.ok
            print(lines[-1], file=sys.stderr, flush=True)
    minutes = (time.monotonic() - started) / 60
    covered = sum(1 for line in lines if "not killed" not in line)
    events = {s: len(clean[s].events) for s in scenarios}
    table = [
        f"## Crash matrix (`bench/crash_matrix.py --stride {args.stride} --jobs {args.jobs}`), {date.today()}",
        "",
        f"Clean runs: {', '.join(f'{s} {n} events' for s, n in events.items())}. {covered} kill points "
        f"covered ({len(lines)} cases), {failures} failed, {minutes:.0f} min wall time with {args.jobs} labs at a "
        "time. Each case: fresh lab, `srmctl failback --yes` SIGKILLed right after journal event N, one "
        "`srmctl resume --yes`, then the failback end state and the invariant checker (nothing lost).",
        "",
        "| scenario | N | killed after (step, event) | outcome | s | problems |",
        "|---|---|---|---|---|---|",
        *lines,
        "",
    ]
    print("\n".join(table))
    if args.results:
        with (ROOT / "bench" / "RESULTS.md").open("a") as out:
            out.write("\n" + "\n".join(table))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
