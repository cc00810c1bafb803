"""The one object every command receives in ``ctx.obj``: output settings and shared services."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def default_home() -> Path:
    """Where runs and state live: ``$SRMCTL_HOME`` or ``~/.local/state/srmctl``."""
    env = os.environ.get("SRMCTL_HOME")
    if env:
        return Path(env)
    return Path.home() / ".local" / "state" / "srmctl"


@dataclass
class App:
    output: str = "table"
    home: Path = field(default_factory=default_home)

    # rich is imported when a command first prints through it, not at start-up: ``--help``, ``validate`` and
    # ``schema`` print with click alone.
    # Both read strings literally and neutralise control characters: names from vCenter/SRM are data, never
    # markup (srmctl.cli.console; styling is opt-in through its styled()).
    @cached_property
    def console(self) -> Console:
        from srmctl.cli.console import safe_console

        return safe_console()

    @cached_property
    def err_console(self) -> Console:
        from srmctl.cli.console import safe_console

        return safe_console(stderr=True)

    @property
    def json_output(self) -> bool:
        return self.output == "json"

    @property
    def interactive(self) -> bool:
        """True when a person can answer a confirmation prompt."""
        return sys.stdin.isatty() and sys.stdout.isatty()
