"""``srmctl lab up|down|status``: the built-in two-site lab on loopback."""

from __future__ import annotations

import time
from pathlib import Path

import click

from srmctl.cli.app import App
from srmctl.cli.console import new_table, styled
from srmctl.cli.envelope import envelope
from srmctl.cli.options import output_option


class _Scenarios(click.Choice):
    """The simulator's scenarios, looked up only when an option is parsed or its help shown: importing the
    simulator (and pyVmomi with it) would slow down every 'srmctl' call."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        from srmctl.srmsim.seed import SCENARIOS

        return tuple(SCENARIOS)

    @choices.setter
    def choices(self, _value: object) -> None:
        """click.Choice assigns its choices in __init__; they are always read from the simulator."""


_dir_option = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="SRMCTL_LAB",
    default="lab",
    show_default=True,
    help="Lab folder (lab.yaml, certificates, datastores). Env: SRMCTL_LAB.",
)


@click.group("lab")
def lab() -> None:
    """Start, stop and inspect a two-site lab (vCenter, SRM and VR per site) on loopback.

    Environment: SRMCTL_LAB (default --dir), SRMCTL_VCSIM (the vcsim binary to use), SRMCTL_DATA_DIR (where
    install-vcsim puts vcsim; default $XDG_DATA_HOME/srmctl or ~/.local/share/srmctl).
    """


@lab.command("up")
@_dir_option
@click.option(
    "--topology",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Topology YAML (sites, datastores, folders, VMs, groups, plans). Default: the built-in one.",
)
@click.option("--vms", type=click.IntRange(1, 5000), help="Generate this many VMs instead of the topology's.")
@click.option(
    "--scenario",
    type=_Scenarios(),
    default="protected",
    show_default=True,
    help="protected: before any failover; planned-migration / disaster-recovery: after one, reached "
    "by running the simulated SRM's own recovery.",
)
@click.option(
    "--latency",
    type=click.Choice(("fast", "realistic")),
    default="fast",
    show_default=True,
    help="How long the simulated SRM and VR tasks take: fast (at once) or realistic (seconds per "
    "operation, syncs by their bytes), for benchmarks. Kept in the lab's srmsim config.",
)
@output_option()
@click.pass_obj
def up(app: App, directory: Path, topology: Path | None, vms: int | None, scenario: str, latency: str) -> None:
    """Start both sites (vCenter, SRM, VR) and build the scenario's world; writes DIR/lab.yaml.

    DIR must be new, empty, or an earlier lab's: a folder holding anything 'lab up' did not create is
    refused (exit 1) before anything is written, as is a lab that is still running (exit 1).
    """
    from srmctl.lab import lab as lab_core
    from srmctl.lab.vcsim_install import find_vcsim
    from srmctl.labkit.topology import load_topology, scaled_topology

    # Both checked before anything starts or is written: a bad file or a missing vcsim leaves DIR untouched.
    model = load_topology(topology)
    find_vcsim()
    if vms:
        model = scaled_topology(model, vms)
    started = time.monotonic()
    say = None if app.json_output else (lambda m: app.err_console.print(f"· {m}"))  # literal (safe_console)
    config = lab_core.up(directory, model, scenario=scenario, latency=latency, progress=say)
    elapsed = time.monotonic() - started
    if app.json_output:
        click.echo(envelope("lab up", {"lab": config, "seconds": round(elapsed, 2)}))
        return
    app.console.print(f"lab up in {elapsed:.1f}s: {Path(config.directory) / 'lab.yaml'}")
    for name, site in config.sites.items():
        app.console.print(
            f"  {name}: vCenter https://{site.vcenter.host}:{site.vcenter.port}/sdk  user "
            f"{site.vcenter.user}  {site.vcenter.thumbprint}"
        )
        if site.srm:
            app.console.print(
                f"  {' ' * len(name)}  SRM/VR  https://{site.srm.host}:{site.srm.port}/api/rest/"
                f"{{srm,vr}}/v2  {site.srm.thumbprint}"
            )


@lab.command("down")
@_dir_option
@output_option()
@click.pass_obj
def down(app: App, directory: Path) -> None:
    """Stop the processes 'lab up' started (a pid whose command line or start time changed is someone
    else's and is left alone, with a note) and remove what 'lab up' created; other files stay."""
    from srmctl.lab import lab as lab_core

    say = None if app.json_output else (lambda m: app.err_console.print(f"· {m}"))  # literal (safe_console)
    rows = lab_core.down(directory, progress=say)
    if app.json_output:
        click.echo(envelope("lab down", {"stopped": rows}))
        return
    stopped = [row for row in rows if not row.note]
    app.console.print(f"lab down: stopped {len(stopped)} process(es)" if rows else "no lab running there")


@lab.command("status")
@_dir_option
@output_option()
@click.pass_obj
def status(app: App, directory: Path) -> None:
    """Say what runs in the lab."""
    from srmctl.lab import lab as lab_core

    rows = lab_core.status(directory)
    if app.json_output:
        click.echo(envelope("lab status", {"processes": rows}))
        return
    table = new_table("site", "service", "pid", "state", "endpoint")
    for row in rows:
        table.add_row(
            row.site,
            row.service,
            str(row.pid),
            styled("[green]running[/]" if row.running else "[red]stopped[/]"),
            row.endpoint,
        )
    app.console.print(table)


@lab.command("install-vcsim")
@output_option()
@click.pass_obj
def install_vcsim(app: App) -> None:
    """Build the lab's vCenter simulator (govmomi's, at the version srmctl pins) with Go into the user's data
    folder ($SRMCTL_DATA_DIR, else $XDG_DATA_HOME/srmctl, else ~/.local/share/srmctl), where 'lab up' finds
    it. Needs Go; downloads the pinned Go modules unless Go's module cache has them."""
    from srmctl.lab.vcsim_install import install_vcsim as build

    say = None if app.json_output else (lambda m: app.err_console.print(f"· {m}"))  # literal (safe_console)
    installed = build(progress=say)
    if app.json_output:
        click.echo(envelope("lab install-vcsim", {"path": str(installed.path), "go": installed.go}))
        return
    app.console.print(f"vcsim installed: {installed.path} ({installed.go})")


command = lab
