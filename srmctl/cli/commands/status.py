"""``srmctl status``: both sites' VMs (later: replications, protection groups, plans, orphans)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from srmctl.cli.app import App
from srmctl.cli.console import new_table, styled
from srmctl.cli.envelope import envelope, to_jsonable
from srmctl.cli.options import lab_option, output_option
from srmctl.errors import UsageError

if TYPE_CHECKING:  # the engine is imported when the command runs, not for 'srmctl --help'
    from srmctl.engine import RunSummary
    from srmctl.engine.status import StatusReport

#: How ``srmctl status`` shows each kind of registered VM (engine.status.VmStatus.kind).
_KIND = {"vm": "VM", "placeholder": "[dim]placeholder[/]", "orphan": "[yellow]orphan[/]"}
_POWER = {"poweredOn": "[green]on[/]", "poweredOff": "[dim]off[/]", "suspended": "[yellow]suspended[/]"}


@click.command("status")
@click.argument("runbook", required=False, type=click.Path(dir_okay=False, path_type=Path))
@lab_option
@output_option()
@click.pass_obj
def status(app: App, runbook: Path | None, lab_dir: Path | None) -> None:
    """Show both sites: VMs (power, folder, datastore), orphans, replications, protection groups, plans, and
    this machine's unfinished runs (a site failback with the plan and step where it stopped).

    The sites' endpoints come from RUNBOOK's sites:, or from a lab (--lab DIR), or both (the runbook's
    site names looked up in the lab).
    """
    if runbook is None and lab_dir is None:
        raise UsageError("status needs a RUNBOOK or --lab DIR (or SRMCTL_LAB) to know the sites' endpoints")
    from srmctl.cli.endpoints import endpoints_for, read_lab
    from srmctl.engine.status import collect_status
    from srmctl.runbook import load_runbook

    book = load_runbook(runbook) if runbook is not None else None
    lab = read_lab(lab_dir)
    endpoints = endpoints_for(book, lab)
    # A runbook names SRM and VR for every site; a lab may have been started without them.
    report = collect_status(endpoints, with_dr=lab is None or all(s.srm for s in lab.sites.values()))
    unfinished = _unfinished_runs(app)
    if app.json_output:
        click.echo(
            envelope(
                "status",
                {
                    **to_jsonable(report),
                    "orphans": list(report.orphans),
                    "placeholders": list(report.placeholders),
                    "unfinished_runs": to_jsonable(unfinished),
                },
            )
        )
        return
    render(app, report)
    for run in unfinished:  # where each stopped: a site failback names its plan and step
        app.console.print(
            styled(
                "[yellow]unfinished run[/] {} ({}, {}): {}; continue with 'srmctl resume {}'",
                run.run_id,
                run.runbook,
                run.outcome,
                run.position or "",
                run.run_id,
            )
        )


def _unfinished_runs(app: App) -> list[RunSummary]:
    """This machine's runs that stopped before the end (crashed, still running, or stopped at a prompt)."""
    from srmctl.engine import list_runs
    from srmctl.errors import SrmctlError

    try:
        return [
            run
            for run in list_runs(app.home)
            if run.outcome == "incomplete" or (run.plans and run.outcome == "aborted")
        ]
    except SrmctlError:  # an unreadable runs folder is 'srmctl runs'' to report; status shows the sites
        return []


def render(app: App, report: StatusReport) -> None:
    # Plain strings print literally (safe_console); only styled() templates carry markup.
    for site in report.sites:
        table = new_table(
            title=f"{site.site} — vCenter {site.endpoint} ({', '.join(site.datacenters)})", title_justify="left"
        )
        for column in ("VM", "kind", "power", "folder", "datastore", "host", "MoRef"):
            table.add_column(column)
        for vm in site.vms:
            kind = styled(_KIND[vm.kind]) if vm.kind in _KIND else vm.kind
            power = styled(_POWER[vm.power_state]) if vm.power_state in _POWER else vm.power_state
            table.add_row(vm.name, kind, power, vm.folder or "/", ", ".join(vm.datastores), vm.host, vm.moref)
        if not site.vms:
            table.add_row(styled("[dim]no VMs[/]"), "", "", "", "", "", "")
        app.console.print(table)
    if report.dr_available:
        _render_dr(app, report)
    if report.placeholders:
        app.console.print(
            styled(
                "[dim]placeholders[/] (SRM's, for VMs protected at the other site): {}", ", ".join(report.placeholders)
            )
        )
    if report.orphans:
        app.console.print(
            styled("[yellow]orphans[/] (powered off here, running at the other site): {}", ", ".join(report.orphans))
        )


def _render_dr(app: App, report: StatusReport) -> None:
    table = new_table(
        "VM", "direction", "status", "RPO", "violation", "last sync", title="replications", title_justify="left"
    )
    for r in report.replications:
        status = styled("[green]{}[/]" if r.status == "OK" else "[yellow]{}[/]", r.status)
        table.add_row(
            r.vm,
            f"{r.source} → {r.target}",
            status,
            f"{r.rpo_minutes} min",
            f"{r.current_rpo_violation_minutes or 0} min",
            r.last_sync or "—",
        )
    app.console.print(table)
    table = new_table(
        "protection group", "protected at", "status", "VMs", title="protection groups", title_justify="left"
    )
    for g in report.groups:
        table.add_row(g.name, g.protected_site, g.status, ", ".join(f"{n} ({s})" for n, s in g.vms))
    app.console.print(table)
    table = new_table(
        "recovery plan", "status", "direction", "protection groups", title="recovery plans", title_justify="left"
    )
    for p in report.plans:
        table.add_row(p.name, p.status, f"{p.protected_site} → {p.recovery_site}", ", ".join(p.groups))
    app.console.print(table)


command = status
