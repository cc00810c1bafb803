"""``srmctl check RUNBOOK``: nightly readiness and drift check for cron (exit 0 ready, 1 not, 5 unreachable)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from srmctl.cli.app import App
from srmctl.cli.options import lab_option, output_option
from srmctl.cli.render import envelope
from srmctl.errors import ExitCode

if TYPE_CHECKING:
    from srmctl.engine.check import CheckReport


@click.command("check")
@click.argument("runbook", type=click.Path(dir_okay=False, path_type=Path))
@lab_option
@click.option("--prometheus", "prometheus", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the result in node_exporter textfile format (written atomically).")
@output_option()
@click.pass_obj
def check(app: App, runbook: Path, lab_dir: Path | None, prometheus: Path | None) -> None:
    """Read-only readiness of a failback runbook: endpoints, credentials, pairing, VMs, seeds, replication
    and RPO, and the plan-metadata snapshot's age and drift. Exit 0 ready, 1 not ready, 5 cannot connect.

    Example crontab line: 15 2 * * * srmctl check /etc/srmctl/mail.yaml --prometheus
    /var/lib/node_exporter/srmctl.prom -o json > /var/log/srmctl-check.json
    """
    # Imported here, not at the top: 'srmctl --help' must not pay for the engine, pyVmomi and httpx.
    from srmctl.cli.endpoints import endpoints_for, read_lab
    from srmctl.engine.check import run_check
    from srmctl.runbook import load_runbook

    book = load_runbook(runbook)
    report = run_check(book, endpoints_for(book, read_lab(lab_dir)))
    if prometheus is not None:
        write_atomically(prometheus, prometheus_text(report))
    if app.json_output:
        click.echo(envelope("check", report))
    else:
        table = Table("", "check", "detail", title=f"{report.runbook}: "
                      + ("[green]ready[/]" if report.ready else "[red]not ready[/]") + f" ({report.seconds:.1f}s)",
                      title_justify="left")
        for item in report.items:
            table.add_row("[green]✓[/]" if item.ok else "[red]✗[/]", item.check, item.detail)
        app.console.print(table)
    if report.unreachable:
        click.get_current_context().exit(int(ExitCode.CONNECTION))
    if not report.ready:
        click.get_current_context().exit(int(ExitCode.FAILED))


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def prometheus_text(report: CheckReport) -> str:
    rb = f'runbook="{_label(report.runbook)}"'
    lines = [
        "# HELP srmctl_ready 1 when the failback runbook is ready to run.",
        "# TYPE srmctl_ready gauge",
        f"srmctl_ready{{{rb}}} {int(report.ready)}",
        "# HELP srmctl_reachable 0 when an endpoint could not be reached or logged in to.",
        "# TYPE srmctl_reachable gauge",
        f"srmctl_reachable{{{rb}}} {int(not report.unreachable)}",
        "# HELP srmctl_check_ok Result of each readiness check (1 ok, 0 failed).",
        "# TYPE srmctl_check_ok gauge",
        *(f'srmctl_check_ok{{{rb},check="{_label(i.check)}"}} {int(i.ok)}' for i in report.items),
        "# HELP srmctl_replication_rpo_violation_minutes Current RPO violation per VM.",
        "# TYPE srmctl_replication_rpo_violation_minutes gauge",
        *(f'srmctl_replication_rpo_violation_minutes{{{rb},vm="{_label(vm)}"}} {minutes}'
          for vm, minutes in sorted(report.rpo_violation_minutes.items())),
        "# HELP srmctl_check_duration_seconds How long the check took.",
        "# TYPE srmctl_check_duration_seconds gauge",
        f"srmctl_check_duration_seconds{{{rb}}} {report.seconds}",
    ]
    if report.snapshot_age_seconds is not None:
        lines += ["# HELP srmctl_snapshot_age_seconds Age of the plan-metadata snapshot.",
                  "# TYPE srmctl_snapshot_age_seconds gauge",
                  f"srmctl_snapshot_age_seconds{{{rb}}} {report.snapshot_age_seconds:.0f}"]
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """node_exporter may read at any moment: write a temp file beside the target, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


command = check
