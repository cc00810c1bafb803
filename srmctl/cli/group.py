"""The root click group: command discovery and the single error boundary (the entry point is
:func:`srmctl.cli.main.main`, which imports this module only once it can handle a Ctrl-C).

Start-up time matters (cron jobs and shells run srmctl often), so the group imports a command's module only
when that command runs, or when ``--help`` lists every command with its one-line help; nothing here imports
the engine or the API clients.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from functools import cache
from typing import Any

import click

from srmctl.cli import commands
from srmctl.cli.app import App
from srmctl.cli.envelope import error_envelope, neutralise
from srmctl.errors import ExitCode, LocalIoFailed, SrmctlError, UsageError, exit_code_for


@cache
def _command_modules() -> tuple[str, ...]:
    # One click command per module under srmctl/cli/commands/, named like the command; each exposes
    # ``command``. Listing the package's directory imports nothing.
    return tuple(sorted(info.name for info in pkgutil.iter_modules(commands.__path__)))


class SrmctlGroup(click.Group):
    """Finds commands lazily, and turns every escaping error into its documented exit code, in one place."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_command_modules()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is None and cmd_name in _command_modules():
            module = importlib.import_module(f"{commands.__name__}.{cmd_name}")
            found = module.command
            if found.name != cmd_name:
                raise RuntimeError(f"{module.__name__} defines command {found.name!r}; name the module after it")
            self.add_command(found)
        return found

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        # Parsing the root's options runs eager callbacks (--help imports every command module): a Ctrl-C
        # here would reach click's own "Aborted!" and exit 1.
        raw = list(args)  # click's parser consumes ``args``
        try:
            ctx = super().make_context(info_name, args, parent, **extra)
        except KeyboardInterrupt:
            click.echo("srmctl: aborted", err=True)
            sys.exit(int(ExitCode.ABORTED))
        except click.ClickException as error:  # a usage error among the root's own options
            _usage_error(error, "srmctl", raw)
            raise
        ctx.meta[_ARGS] = raw  # to tell whether a usage error of a command should be JSON
        return ctx

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SrmctlError as error:
            _report(ctx, error)
            sys.exit(int(exit_code_for(error)))
        except OSError as error:  # disk full, read-only or missing folders: one line, never a traceback
            failed = LocalIoFailed(error)
            _report(ctx, failed)
            sys.exit(int(exit_code_for(failed)))
        except KeyboardInterrupt as error:
            _report(ctx, error)
            sys.exit(int(ExitCode.ABORTED))
        except click.ClickException as error:  # click's own usage errors: JSON too when -o json was asked for
            app = ctx.find_object(App)
            _usage_error(
                error,
                ctx.invoked_subcommand or _command_of(ctx.meta.get(_ARGS, [])),
                ctx.meta.get(_ARGS, []),
                json_output=app is not None and app.json_output,
            )
            raise


_ARGS = "srmctl.args"


def _usage_error(error: click.ClickException, command: str, args: list[str], *, json_output: bool = False) -> None:
    """With ``-o json`` anywhere in the arguments, say a click error as the JSON error envelope (exactly one
    document on stdout) and exit with click's code; otherwise return, and click says it as usual."""
    if not (json_output or _asks_for_json(args)):
        return
    failed = (
        UsageError(error.format_message())
        if isinstance(error, click.UsageError)
        else SrmctlError(error.format_message())
    )
    click.echo(error_envelope(command, failed))
    sys.exit(error.exit_code)


def _asks_for_json(args: list[str]) -> bool:
    pairs = zip(args, [*args[1:], ""], strict=True)
    return any(a in ("-ojson", "--output=json") or (a in ("-o", "--output") and b == "json") for a, b in pairs)


def _command_of(args: list[str]) -> str:
    return next((a for a in args if not a.startswith("-")), "srmctl")


def _report(ctx: click.Context, error: BaseException) -> None:
    app = ctx.find_object(App)
    sub = ctx.invoked_subcommand or ctx.info_name or "srmctl"
    if app is not None and app.json_output:
        click.echo(error_envelope(sub, error))
        return
    if isinstance(error, KeyboardInterrupt):
        click.echo("srmctl: aborted", err=True)
        return
    # Messages quote names and answers from remote systems: their control characters must not reach the terminal.
    message = neutralise(error.message if isinstance(error, SrmctlError) else str(error))
    first, *rest = message.splitlines() or [""]
    click.echo(f"srmctl: error: {first}", err=True)
    for line in rest:
        click.echo(f"  {line}", err=True)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    # click's version_option wants the version when the group is defined; reading it costs start-up time.
    if not value or ctx.resilient_parsing:
        return
    from srmctl import __version__

    click.echo(f"srmctl, version {__version__}")
    ctx.exit()


@click.group(cls=SrmctlGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """srmctl: bring VMs home after an SRM/vSphere Replication failover, with nothing lost.

    Environment: SRMCTL_HOME (runs and state, default ~/.local/state/srmctl),
    SRMCTL_LAB (default --lab directory).
    """
    ctx.obj = App()
