"""``srmctl status``: both sites' VMs (later: replications, protection groups, plans, orphans)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from srmctl.cli.app import App
from srmctl.cli.options import lab_option, output_option
from srmctl.cli.render import envelope
from srmctl.engine.sites import runbook_endpoints
from srmctl.engine.status import StatusReport, collect_status
from srmctl.errors import UsageError
from srmctl.lab.config import load_lab
from srmctl.runbook import load_runbook

_POWER = {"poweredOn": "[green]on[/]", "poweredOff": "[dim]off[/]", "suspended": "[yellow]suspended[/]"}


@click.command("status")
@click.argument("runbook", required=False, type=click.Path(dir_okay=False, path_type=Path))
@lab_option
@output_option()
@click.pass_obj
def status(app: App, runbook: Path | None, lab_dir: Path | None) -> None:
    """Show both sites: VMs with power state, folder and datastore.

    The sites' endpoints come from RUNBOOK's sites:, or from a lab (--lab DIR), or both (the runbook's
    site names looked up in the lab).
    """
    if runbook is None and lab_dir is None:
        raise UsageError("status needs a RUNBOOK or --lab DIR (or SRMCTL_LAB) to know the sites' endpoints")
    if runbook is not None:
        endpoints = runbook_endpoints(load_runbook(runbook), lab_dir)
    else:
        assert lab_dir is not None
        lab = load_lab(lab_dir)
        endpoints = {site: lab.vcenter_endpoint(site) for site in lab.sites}
    report = collect_status(endpoints)
    if app.json_output:
        click.echo(envelope("status", report))
        return
    render(app, report)


def render(app: App, report: StatusReport) -> None:
    for site in report.sites:
        table = Table(title=f"{site.site} — vCenter {site.endpoint} ({', '.join(site.datacenters)})",
                      title_justify="left")
        for column in ("VM", "power", "folder", "datastore", "host", "MoRef"):
            table.add_column(column)
        for vm in site.vms:
            flags = " [dim](placeholder)[/]" if vm.placeholder else ""
            table.add_row(vm.name + flags, _POWER.get(vm.power_state, vm.power_state), vm.folder or "/",
                          ", ".join(vm.datastores), vm.host, vm.moref)
        if not site.vms:
            table.add_row("[dim]no VMs[/]", "", "", "", "", "")
        app.console.print(table)


command = status
