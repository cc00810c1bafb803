"""The ``srmctl`` entry point: the root click group, command discovery and the single error boundary."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

from srmctl import __version__
from srmctl.cli import commands
from srmctl.cli.app import App
from srmctl.cli.render import error_envelope
from srmctl.errors import ExitCode, SrmctlError, exit_code_for


class SrmctlGroup(click.Group):
    """Turns every escaping error into its documented exit code, in one place."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SrmctlError as error:
            _report(ctx, error)
            sys.exit(int(exit_code_for(error)))
        except KeyboardInterrupt as error:
            _report(ctx, error)
            sys.exit(int(ExitCode.ABORTED))


def _report(ctx: click.Context, error: BaseException) -> None:
    app = ctx.find_object(App)
    sub = ctx.invoked_subcommand or ctx.info_name or "srmctl"
    if app is not None and app.json_output:
        click.echo(error_envelope(sub, error))
        return
    if isinstance(error, KeyboardInterrupt):
        click.echo("srmctl: aborted", err=True)
        return
    message = error.message if isinstance(error, SrmctlError) else str(error)
    first, *rest = message.splitlines() or [""]
    click.echo(f"srmctl: error: {first}", err=True)
    for line in rest:
        click.echo(f"  {line}", err=True)


@click.group(cls=SrmctlGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="srmctl")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """srmctl: bring VMs home after an SRM/vSphere Replication failover, with nothing lost.

    Environment: SRMCTL_HOME (runs and state, default ~/.local/state/srmctl),
    SRMCTL_LAB (default --lab directory).
    """
    ctx.obj = App()


def _discover() -> None:
    # One click command per module under srmctl/cli/commands/; each exposes ``command``.
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        cli.add_command(module.command)


_discover()


def main() -> None:
    cli(prog_name="srmctl")
