"""``srmctl check RUNBOOK``: nightly readiness and drift check for cron (exit 0 ready, 1 not, 5 unreachable)."""

from __future__ import annotations

from pathlib import Path

import click

from srmctl.cli.app import App
from srmctl.cli.console import new_table, styled
from srmctl.cli.envelope import envelope
from srmctl.cli.options import lab_option, output_option
from srmctl.cli.prometheus import checked
from srmctl.errors import ExitCode


@click.command("check")
@click.argument("runbook", type=click.Path(dir_okay=False, path_type=Path))
@lab_option
@click.option(
    "--prometheus",
    "prometheus",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the result in node_exporter textfile format, atomically, on every run: a check "
    "that fails or cannot run writes srmctl_ready 0 and srmctl_check_error{reason=...} 1.",
)
@output_option()
@click.pass_obj
def check(app: App, runbook: Path, lab_dir: Path | None, prometheus: Path | None) -> None:
    """Read-only readiness of a failback runbook: endpoints, credentials, pairing, VMs, seeds, replication
    and RPO, and the plan-metadata snapshot's age and drift. Exit 0 ready, 1 not ready, 5 cannot connect.

    Example crontab line: 15 2 * * * srmctl check /etc/srmctl/mail.yaml --prometheus
    /var/lib/node_exporter/srmctl.prom -o json > /var/log/srmctl-check.json
    """
    report = checked(runbook, lab_dir, prometheus)
    if app.json_output:
        click.echo(envelope("check", report))
    else:
        title = styled(
            "{}: [green]ready[/] ({:.1f}s)" if report.ready else "{}: [red]not ready[/] ({:.1f}s)",
            report.runbook,
            report.seconds,
        )
        table = new_table("", "check", "detail", title=title, title_justify="left")
        for item in report.items:
            table.add_row(styled("[green]✓[/]" if item.ok else "[red]✗[/]"), item.check, item.detail)
        app.console.print(table)
    if report.unreachable:
        click.get_current_context().exit(int(ExitCode.CONNECTION))
    if not report.ready:
        click.get_current_context().exit(int(ExitCode.FAILED))


command = check
