"""``check --prometheus``: the node_exporter textfile, rewritten atomically on every run, failed or not.

Monitoring reads this file long after srmctl has exited, so a run that fails must not leave an older
"ready" file behind: whatever happens, the file is replaced, and a run that could not finish says
``srmctl_ready 0`` and names why in ``srmctl_check_error{reason="..."} 1``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from srmctl.errors import SrmctlError

if TYPE_CHECKING:
    from srmctl.engine.check import CheckReport


def _label(value: str) -> str:
    # A file name that is not valid UTF-8 reaches here with surrogate escapes, which no text file can hold:
    # its bytes become U+FFFD, so the file is still written (a crash would leave a stale "ready").
    value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def error_reason(error: BaseException) -> str:
    """A short, stable code for the error metric's ``reason`` label (the JSON envelope's error code)."""
    if isinstance(error, SrmctlError):
        return error.code
    if isinstance(error, KeyboardInterrupt):
        return "aborted"
    return "internal_error"


def _header(name: str, help_text: str) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]


def _common(rb: str, ready: bool, reason: str | None) -> list[str]:
    lines = [
        *_header("srmctl_ready", "1 when the failback runbook is ready to run."),
        f"srmctl_ready{{{rb}}} {int(ready)}",
        *_header("srmctl_last_run_timestamp_seconds", "When this file was written (Unix time)."),
        f"srmctl_last_run_timestamp_seconds{{{rb}}} {time.time():.0f}",
    ]
    if reason is not None:
        lines += [
            *_header("srmctl_check_error", "1 when the check failed or could not run; reason says why."),
            f'srmctl_check_error{{{rb},reason="{_label(reason)}"}} 1',
        ]
    return lines


def prometheus_text(report: CheckReport) -> str:
    rb = f'runbook="{_label(report.runbook)}"'
    lines = [
        *_common(rb, report.ready, "unreachable" if report.unreachable else None),
        *_header("srmctl_reachable", "0 when an endpoint could not be reached or logged in to."),
        f"srmctl_reachable{{{rb}}} {int(not report.unreachable)}",
        *_header("srmctl_check_ok", "Result of each readiness check (1 ok, 0 failed)."),
        *(f'srmctl_check_ok{{{rb},check="{_label(i.check)}"}} {int(i.ok)}' for i in report.items),
        *_header("srmctl_replication_rpo_violation_minutes", "Current RPO violation per VM."),
        *(
            f'srmctl_replication_rpo_violation_minutes{{{rb},vm="{_label(vm)}"}} {minutes}'
            for vm, minutes in sorted(report.rpo_violation_minutes.items())
        ),
        *_header("srmctl_check_duration_seconds", "How long the check took."),
        f"srmctl_check_duration_seconds{{{rb}}} {report.seconds}",
    ]
    if report.snapshot_age_seconds is not None:
        lines += [
            *_header("srmctl_snapshot_age_seconds", "Age of the plan-metadata snapshot."),
            f"srmctl_snapshot_age_seconds{{{rb}}} {report.snapshot_age_seconds:.0f}",
        ]
    return "\n".join(lines) + "\n"


def failure_text(runbook: str, error: BaseException) -> str:
    """The file for a check that raised instead of producing a report: not ready, and why."""
    return "\n".join(_common(f'runbook="{_label(runbook)}"', False, error_reason(error))) + "\n"


def write_textfile(path: Path, text: str) -> None:
    """node_exporter may read at any moment: write a temp file beside the target, then rename over it."""
    # Imported here: the runbook package loads pydantic, which 'srmctl --help' must not pay for.
    from srmctl.runbook.files import write_atomically

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text, mode=0o644, durable=False)


def checked(runbook_file: Path, lab_dir: Path | None, textfile: Path | None) -> CheckReport:
    """Load the runbook and run the check; when ``textfile`` is given, always rewrite it: the report's
    metrics, or ``srmctl_ready 0`` plus the error metric when loading or checking raised (the error then
    propagates unchanged, so the exit code and message are the usual ones)."""
    # Imported here, not at the top: 'srmctl --help' must not pay for the engine, pyVmomi and httpx.
    from srmctl.cli.endpoints import endpoints_for, read_lab
    from srmctl.engine.check import run_check
    from srmctl.runbook import load_runbook

    label = runbook_file.stem  # until the runbook's own name is known
    try:
        runbook = load_runbook(runbook_file)
        label = runbook.name
        report = run_check(runbook, endpoints_for(runbook, read_lab(lab_dir)))
    except BaseException as error:
        if textfile is not None:
            write_textfile(textfile, failure_text(label, error))
        raise
    if textfile is not None:
        write_textfile(textfile, prometheus_text(report))
    return report
