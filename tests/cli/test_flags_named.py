"""Messages and help name only flags that exist (issue 13: a warning named an '--insecure' flag srmctl never
had). Every ``--flag`` written in srmctl's code must be an option of some srmctl command."""

from __future__ import annotations

import re
from pathlib import Path

import click

from srmctl.cli.group import cli

ROOT = Path(__file__).resolve().parents[2] / "srmctl"
# srmsim is its own program with its own flags (python -m srmctl.srmsim --workdir ...).
OWN_PROGRAMS = ("srmsim",)


def _options(command: click.Command, ctx: click.Context) -> set[str]:
    found = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                found |= _options(sub, ctx)
    return found


def test_every_flag_named_in_the_code_exists() -> None:
    with click.Context(cli) as ctx:
        options = _options(cli, ctx) | {"--help", "--version"}
    named: dict[str, list[str]] = {}
    for path in ROOT.rglob("*.py"):
        if path.relative_to(ROOT).parts[0] in OWN_PROGRAMS:
            continue
        for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*[a-z]", path.read_text()):
            named.setdefault(flag, []).append(str(path.relative_to(ROOT)))
    assert {flag: where for flag, where in named.items() if flag not in options} == {}
