"""The ``srmctl`` entry point.

Only the standard library is imported before :func:`main` runs: a Ctrl-C while srmctl is still starting
(importing click, the group, a command's module) must end as "srmctl: aborted" and exit 130 like one during
a command, never as a traceback. The root group lives in :mod:`srmctl.cli.group`.
"""

from __future__ import annotations

import signal
import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    import click

ABORTED = 130  # ExitCode.ABORTED, spelled out so that nothing is imported before main() can catch a Ctrl-C


def main() -> None:
    # SIGTERM (kill, systemd, a CI timeout) and SIGHUP (a closed terminal) end a run as Ctrl-C does: journal
    # closed, lock released, exit 130. A SIGHUP ignored on purpose (nohup) stays ignored.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _interrupt)
    try:
        from srmctl.cli.group import cli

        cli.main(prog_name="srmctl")
    except KeyboardInterrupt:
        _aborted()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _aborted() -> NoReturn:
    # A second Ctrl-C (or SIGTERM, SIGHUP) while this is said must not become a traceback either.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    sys.stderr.write("srmctl: aborted\n")
    sys.stderr.flush()
    sys.exit(ABORTED)


def __getattr__(name: str) -> click.Group:
    # ``from srmctl.cli.main import cli``, as before the group moved, without importing click up front.
    if name != "cli":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from srmctl.cli.group import cli

    return cli
