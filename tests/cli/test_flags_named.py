"""Messages and help name only flags that exist (issue 13: a warning named an '--insecure' flag srmctl never
had). Every ``--flag`` written in srmctl's code must be an option of some srmctl command."""

from __future__ import annotations

import re
from pathlib import Path

import click

from srmctl.cli.group import cli

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "srmctl"
#: What operators read besides the code's messages and help: the README, the design and runbook docs, and the
#: commented example runbooks (issue 12: a message or a doc must never send anyone to a flag that is not there).
DOCS = ("README.md", "docs/*.md", "playbooks/*.yaml")
FLAG = r"(?<![\w-])--[a-z][a-z-]*[a-z]"
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


def _all_options() -> set[str]:
    with click.Context(cli) as ctx:
        return _options(cli, ctx) | {"--help", "--version"}


def test_every_flag_named_in_the_code_exists() -> None:
    options = _all_options()
    named: dict[str, list[str]] = {}
    for path in ROOT.rglob("*.py"):
        if path.relative_to(ROOT).parts[0] in OWN_PROGRAMS:
            continue
        for flag in re.findall(FLAG, path.read_text()):
            named.setdefault(flag, []).append(str(path.relative_to(ROOT)))
    assert {flag: where for flag, where in named.items() if flag not in options} == {}


def test_every_flag_named_in_the_docs_exists() -> None:
    options = _all_options()
    files = sorted({path for pattern in DOCS for path in REPO.glob(pattern)})
    assert REPO / "README.md" in files and len(files) > 3
    named: dict[str, list[str]] = {}
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for flag in re.findall(FLAG, line):
                named.setdefault(flag, []).append(f"{path.relative_to(REPO)}:{number}")
    assert "--lab" in named and "--dir" in named  # the scan sees the docs' flags
    assert {flag: where for flag, where in named.items() if flag not in options} == {}


def test_the_check_fails_on_a_flag_that_does_not_exist() -> None:
    # The warning issue 13 found: it must be caught by this scan if it ever comes back.
    assert re.findall(FLAG, "use --insecure to skip verification") == ["--insecure"]
    assert "--insecure" not in _all_options()
