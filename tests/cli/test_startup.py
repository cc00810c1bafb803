"""Start-up stays light: ``srmctl --help``, ``validate`` and ``schema`` load neither pyVmomi nor httpx.

Each command runs in a fresh interpreter through the real entry point; at exit the interpreter writes the
names in ``sys.modules`` to a file, which the test reads (an assertion inside the child would be lost in
click's own ``SystemExit``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import srmctl
from srmctl.cli import commands
from srmctl.cli.main import cli

REPO = Path(srmctl.__file__).parent.parent
RUNBOOK = REPO / "playbooks" / "lab.yaml"
API_CLIENTS = ("pyVmomi", "httpx")

_CHILD = """
import atexit, json, sys
record = sys.argv[1]
def _record():
    with open(record, "w") as out:
        json.dump(sorted(sys.modules), out)
atexit.register(_record)
sys.argv = ["srmctl", *sys.argv[2:]]
from srmctl.cli.main import main
main()
"""


def _loaded(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    record = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(record), *args], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    return done, set(json.loads(record.read_text()))


def _under(modules: set[str], package: str) -> list[str]:
    return sorted(m for m in modules if m == package or m.startswith(f"{package}."))


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("--help",), id="help"),
        pytest.param(("validate", str(RUNBOOK)), id="validate"),
        pytest.param(("schema",), id="schema"),
    ],
)
def test_command_loads_no_api_client(tmp_path: Path, args: tuple[str, ...]) -> None:
    done, modules = _loaded(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert done.stdout  # the command did its work before the check
    for package in API_CLIENTS:
        assert _under(modules, package) == [], f"srmctl {' '.join(args)} imported {package}"


@pytest.mark.parametrize("args", [("validate", str(RUNBOOK)), ("schema",)], ids=["validate", "schema"])
def test_command_loads_only_its_own_module(tmp_path: Path, args: tuple[str, ...]) -> None:
    done, modules = _loaded(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert _under(modules, "srmctl.cli.commands") == ["srmctl.cli.commands", f"srmctl.cli.commands.{args[0]}"]
    assert _under(modules, "srmctl.engine") == []
    assert _under(modules, "rich") == []


def test_help_lists_every_command_with_its_summary() -> None:
    names = sorted(p.stem for p in Path(commands.__path__[0]).glob("*.py") if p.stem != "__init__")
    out = CliRunner().invoke(cli, ["--help"])
    assert out.exit_code == 0, out.output
    listed = out.output.split("Commands:", 1)[1].splitlines()
    rows = {line.split()[0]: line.split(None, 1)[1:] for line in listed if line.strip()}
    assert sorted(rows) == names
    assert all(summary for summary in rows.values())  # each with its one-line help
    ctx = click.Context(cli)
    for name in names:  # one command per module, named like it: what the lazy lookup relies on
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name
