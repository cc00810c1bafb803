"""Output rules that hold for every command (issue 12, part 6): ``-o json`` wherever a command prints data,
tables laid out wide when standard output is a pipe, shell completion produced and documented."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from srmctl.cli.group import cli
from srmctl.lab.config import LabConfig
from srmctl.metadata.snapshot import parse_snapshot, read_snapshot

ROOT = Path(__file__).resolve().parents[2]


def _leaves(command: click.Command, ctx: click.Context, path: tuple[str, ...] = ()) -> dict[str, click.Command]:
    if not isinstance(command, click.Group):
        return {" ".join(path): command}
    found: dict[str, click.Command] = {}
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if sub is not None:
            found |= _leaves(sub, ctx, (*path, name))
    return found


def test_every_command_has_json_output() -> None:
    with click.Context(cli) as ctx:
        leaves = _leaves(cli, ctx)
    assert {"snapshot export", "schema", "lab install-vcsim", "lab status", "runs"} <= set(leaves)
    lacking = [
        name
        for name, command in leaves.items()
        if not any(
            "-o" in p.opts and isinstance(p.type, click.Choice) and "json" in p.type.choices for p in command.params
        )
    ]
    assert lacking == []


def _srmctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """srmctl as a shell pipeline runs it: standard output is a pipe, and COLUMNS is not set."""
    base = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    return subprocess.run(
        [str(Path(sys.executable).parent / "srmctl"), *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        timeout=120,
        check=False,
    )


def test_schema_in_the_envelope() -> None:
    result = CliRunner().invoke(cli, ["schema", "-o", "json"])
    doc = json.loads(result.output)
    assert doc["ok"] and doc["command"] == "schema" and doc["result"]["$id"] == "urn:srmctl:schema:runbook:v1"
    assert json.loads(CliRunner().invoke(cli, ["schema"]).output)["$id"] == "urn:srmctl:schema:runbook:v1"


def test_snapshot_export_as_json(shared_lab: LabConfig, tmp_path: Path) -> None:
    where = ["--lab", shared_lab.directory, "--plan", "VR Failover"]
    as_yaml = CliRunner().invoke(cli, ["snapshot", "export", *where])
    as_json = CliRunner().invoke(cli, ["snapshot", "export", *where, "-o", "json"])
    assert as_yaml.exit_code == 0 and as_json.exit_code == 0, as_json.output
    doc = json.loads(as_json.stdout)
    assert doc["command"] == "snapshot export" and doc["result"]["plan"] == "VR Failover"
    # The JSON snapshot is the YAML one: it reads back as the same snapshot.
    from_json = parse_snapshot(json.dumps(doc["result"]["snapshot"]))
    assert from_json.content() == parse_snapshot(as_yaml.stdout).content() and from_json.vms["mail04"].priority
    file = tmp_path / "snap.yaml"
    written = CliRunner().invoke(cli, ["snapshot", "export", *where, "-f", str(file), "-o", "json"])
    result = json.loads(written.stdout)["result"]
    assert result == {"plan": "VR Failover", "file": str(file), "vms": 4, "steps": 2}
    assert read_snapshot(file).content() == from_json.content()


def test_tables_are_not_wrapped_in_a_pipe(shared_lab: LabConfig) -> None:
    listed = _srmctl("steps")
    assert any(
        "preflight.check" in line and "report every problem at once." in line for line in listed.stdout.splitlines()
    ), listed.stdout
    lab_status = _srmctl("lab", "status", "--dir", shared_lab.directory)
    srmsim_row = next(line for line in lab_status.stdout.splitlines() if "srmsim" in line)
    assert srmsim_row.count("https://") == 2, lab_status.stdout  # both SRM endpoints on one line
    status = _srmctl("status", "--lab", shared_lab.directory)
    plan_row = next(line for line in status.stdout.splitlines() if line.count("VR Failover") == 1 and "→" in line)
    assert "VR mail" in plan_row and "VR web" in plan_row, status.stdout
    assert "[dim]" not in status.stdout and "placeholders (SRM's" in status.stdout  # styled, not literal markup
    # COLUMNS still wins when set: the same table wraps at the asked width.
    narrow = _srmctl("lab", "status", "--dir", shared_lab.directory, env={"COLUMNS": "60"})
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 60


@pytest.mark.parametrize(
    "shell,marker",
    [("bash", "complete -o nosort -F"), ("zsh", "#compdef srmctl"), ("fish", "complete --no-files --command srmctl")],
)
def test_completion_script_is_produced(shell: str, marker: str) -> None:
    result = _srmctl(env={"_SRMCTL_COMPLETE": f"{shell}_source"})
    assert result.returncode == 0 and marker in result.stdout, result.stdout + result.stderr
    assert (
        f'eval "$(_SRMCTL_COMPLETE={shell}_source srmctl)"' in (ROOT / "README.md").read_text()
        or f"_SRMCTL_COMPLETE={shell}_source srmctl | source" in (ROOT / "README.md").read_text()
    )


def test_completion_completes_commands_and_subcommands() -> None:
    top = _srmctl(env={"_SRMCTL_COMPLETE": "bash_complete", "COMP_WORDS": "srmctl la", "COMP_CWORD": "1"})
    assert "plain,lab" in top.stdout.split(), top.stdout
    sub = _srmctl(env={"_SRMCTL_COMPLETE": "bash_complete", "COMP_WORDS": "srmctl lab ins", "COMP_CWORD": "2"})
    assert "plain,install-vcsim" in sub.stdout.split(), sub.stdout
