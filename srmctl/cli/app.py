"""The one object every command receives in ``ctx.obj``: output settings and shared services."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

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
    console: Console = field(default_factory=lambda: Console(highlight=False))
    err_console: Console = field(default_factory=lambda: Console(stderr=True, highlight=False))

    @property
    def json_output(self) -> bool:
        return self.output == "json"

    @property
    def interactive(self) -> bool:
        """True when a person can answer a confirmation prompt."""
        return sys.stdin.isatty() and sys.stdout.isatty()
