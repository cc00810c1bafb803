"""The fault matrix, written on purpose: runs tests/e2e/test_fault_matrix.py (every cell, in parallel) and writes
docs/fault-matrix.md from the rows its cells record. The test suite itself never writes into the checkout.

    python bench/fault_matrix.py [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "fault-matrix.md"
sys.path[:0] = [str(ROOT / "tests" / "fixtures"), str(ROOT / "tests" / "e2e")]

from test_fault_matrix import CELLS, FAMILIES, FAULTS  # noqa: E402


def markdown(results: dict[tuple[str, str], str]) -> str:
    lines = [
        "# Fault matrix",
        "",
        "Written by `bench/fault_matrix.py` from `tests/e2e/test_fault_matrix.py` (do not edit by hand). Each "
        "cell injects one fault into a fresh lab and runs `srmctl failback --steps …` through the CLI; a fault "
        "is either retried (exit 0) or fails clearly — exit 4 or 5, one `srmctl: error:` line, no traceback — "
        "after which `srmctl resume` (or, when the run could not start, a second `failback`) completes with "
        "exit 0.",
        "",
        "Retry policy (`srmctl/adapters/retry.py`): at most 5 attempts and 120 s per call; a `Retry-After` is "
        "honoured up to **30 s** (`MAX_RETRY_AFTER`) and every wait of 2 s or more is announced on stderr "
        "(`<endpoint>: <call>: HTTP 429; waiting 30s (Retry-After 45s, capped at 30s) before attempt 2 of 5`). "
        "A login is never re-sent unless the connection was never made (SSO lockout).",
        "",
        "| fault | " + " | ".join(FAMILIES) + " |",
        "|---|" + "---|" * len(FAMILIES),
    ]
    for fault in FAULTS:
        lines.append(f"| {fault} | " + " | ".join(results.get((f, fault), "not run") for f in FAMILIES) + " |")
    lines += ["", "Injected faults:", ""]
    lines += [f"- {c.family} / {c.fault}: {c.how}" for c in CELLS]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="cells at a time (each runs its own lab)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fault-matrix-") as tmp:
        rows = Path(tmp) / "rows.jsonl"
        rows.touch()
        code = subprocess.call(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-n",
                str(args.jobs),
                "-p",
                "no:cacheprovider",
                str(ROOT / "tests" / "e2e" / "test_fault_matrix.py"),
            ],
            cwd=ROOT,
            env={**os.environ, "SRMCTL_FAULT_MATRIX_ROWS": str(rows)},
        )
        results = {(c.family, c.fault): c.how.split(":")[0] for c in CELLS if c.inject is None}
        for line in rows.read_text().splitlines():
            row = json.loads(line)
            results[(row["family"], row["fault"])] = row["outcome"]
    if code != 0:
        print(f"fault matrix: pytest exited {code}; {DOC} left as it was", file=sys.stderr)
        return code
    DOC.write_text(markdown(results))
    print(f"fault matrix: {len(results)} cells written to {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
