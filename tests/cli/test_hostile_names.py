"""Names from vCenter and SRM are data, never terminal markup (issue 13, defect 11).

A lab whose topology names VMs, a protection group, callouts and the plan's description with rich markup and
ANSI escape sequences; every command that shows them must print them literally, never crash on them, and
never pass a control character through to the terminal. CliRunner's output is not a terminal: tables must
then be laid out wide, not wrapped at 80 columns.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from srmctl.cli.main import cli
from srmctl.lab import lab
from srmctl.lab.config import LabConfig
from srmctl.labkit.topology import load_topology

RED_VM = "[red]web02"
BOLD_VM = "[b]web01"  # vCenter names a VM's folder after it: no '/' in a VM name
LINK_GROUP = "[link=file:///etc/passwd]VR web[/link]"
CLOSING_CALLOUT = "[/bold]Check mail flow"
ESC_CALLOUT = "Drain \x1b[31mqueue"
ESC_GROUP = "VR \x1b[2Jmail"  # ESC [2J clears a terminal
ESC_SHOWN = "\\x1b"  # how srmctl shows an ESC: visibly, inert


def _hostile_topology(path: Path) -> Path:
    doc = yaml.safe_load(resources.files("srmctl.labkit").joinpath("default-topology.yaml").read_text())
    renames = {"web02": RED_VM, "web01": BOLD_VM}
    for vm in doc["vms"]:
        vm["name"] = renames.get(vm["name"], vm["name"])
    for group in doc["protection_groups"]:
        group["vms"] = [renames.get(v, v) for v in group["vms"]]
        group["name"] = {"VR mail": ESC_GROUP, "VR web": LINK_GROUP}[group["name"]]
    plan = doc["recovery_plans"][0]
    plan["description"] = "[link=file:///etc/passwd]x[/link]"
    plan["protection_groups"] = [ESC_GROUP, LINK_GROUP]
    plan["vms"] = {renames.get(name, name): meta for name, meta in plan["vms"].items()}
    for meta in plan["vms"].values():
        meta["dependencies"] = [renames.get(d, d) for d in meta.get("dependencies", [])]
    mail = plan["vms"]["mail04"]
    mail["pre_power_on"][0]["name"] = ESC_CALLOUT
    mail["post_power_on"][0]["name"] = CLOSING_CALLOUT
    path.write_text(yaml.safe_dump(doc, allow_unicode=False))
    return path


@pytest.fixture(scope="module")
def hostile_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabConfig]:
    tmp = tmp_path_factory.mktemp("hostile")
    directory = tmp / "lab"
    config = lab.up(directory, load_topology(_hostile_topology(tmp / "topology.yaml")), scenario="planned-migration")
    try:
        yield config
    finally:
        lab.down(directory)


def _runbook(tmp_path: Path, snapshot: Path | None = None) -> Path:
    site = {
        "vcenter": {"host": "vc.invalid", "user": "u", "password_env": "UNUSED_WITH_LAB"},
        "srm": {"host": "srm.invalid"},
        "vr": {"host": "vr.invalid"},
    }
    doc = {
        "version": 1,
        "name": "hostile",
        "scenario": "planned-migration",
        "sites": {"new-york": site, "new-jersey": site},
        "failback": {"from": "new-jersey", "to": "new-york"},
        "vms": [{"name": n} for n in ("mail04", "db01", BOLD_VM, RED_VM)],
        "replication": {"rpo": "30m"},
        "protection_group": {"name": "VR back"},
        "recovery_plan": {"name": "VR Failover", **({"metadata": str(snapshot)} if snapshot else {})},
    }
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _run(monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.delenv("COLUMNS", raising=False)
    return CliRunner().invoke(cli, list(args))


def _literal(result: Result, *names: str) -> None:
    """Every name shows as written, nothing crashed, and no control character reached the output."""
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), (
        result.exception,
        text,
    )
    for name in names:
        assert name in text, (name, text)
    assert "\x1b" not in text


@pytest.mark.lab
def test_status_shows_names_literally_and_wide(hostile_lab: LabConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run(monkeypatch, "status", "--lab", hostile_lab.directory)
    assert result.exit_code == 0, result.output
    _literal(result, RED_VM, BOLD_VM, f"VR {ESC_SHOWN}[2Jmail", LINK_GROUP)
    # Not a terminal: a VM's row stays on one line (name, power, folder, datastore, host, MoRef).
    row = next(line for line in result.output.splitlines() if RED_VM in line and "Web/Frontend" in line)
    assert "vm-" in row and "SAN-01" in row
    group_row = next(line for line in result.output.splitlines() if LINK_GROUP in line)
    assert all(vm in group_row for vm in ("db01", BOLD_VM, RED_VM)) and len(group_row) > 80, result.output


@pytest.mark.lab
def test_plan_and_check_show_names_literally(
    hostile_lab: LabConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runbook = str(_runbook(tmp_path))
    planned = _run(monkeypatch, "plan", runbook, "--lab", hostile_lab.directory)
    assert planned.exit_code == 0, planned.output
    _literal(planned, RED_VM, BOLD_VM)
    checked = _run(monkeypatch, "check", runbook, "--lab", hostile_lab.directory)
    _literal(checked, f"vm:{RED_VM}", f"replication:{BOLD_VM}")


@pytest.mark.lab
def test_snapshot_diff_and_restore_show_callout_names_literally(
    hostile_lab: LabConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = ["--lab", hostile_lab.directory, "--plan", "VR Failover"]
    file = tmp_path / "snap.yaml"
    assert _run(monkeypatch, "snapshot", "export", *where, "-f", str(file)).exit_code == 0
    doc = yaml.safe_load(file.read_text())
    assert doc["vms"]["mail04"]["post_power_on"][0]["name"] == CLOSING_CALLOUT  # SRM kept the names as given
    for callout in (*doc["vms"]["mail04"]["pre_power_on"], *doc["vms"]["mail04"]["post_power_on"]):
        callout["name"] = "renamed"  # the diff then shows the live (hostile) names
    doc["vms"][RED_VM]["priority"] = doc["vms"][BOLD_VM]["priority"] = "P5"  # a dependency stays in one group
    file.write_text(yaml.safe_dump(doc))

    diff = _run(monkeypatch, "snapshot", "diff", str(file), *where)
    assert diff.exit_code == 1, diff.output  # "differs", not a crash (MarkupError before)
    _literal(diff, CLOSING_CALLOUT, f"vms.{RED_VM}.priority", "Drain \\x1b[31mqueue")
    assert any(str(file) in line and "4 difference(s)" in line for line in diff.output.splitlines())
    as_json = _run(monkeypatch, "snapshot", "diff", str(file), *where, "-o", "json")
    paths = [c["path"] for c in json.loads(as_json.output)["result"]["changes"]]
    afters = [c["after"] for c in json.loads(as_json.output)["result"]["changes"]]
    assert ESC_CALLOUT in afters and f"vms.{RED_VM}.priority" in paths  # JSON keeps the real values

    restored = _run(monkeypatch, "snapshot", "restore", str(file), *where, "--dry-run")
    assert restored.exit_code == 0, restored.output
    _literal(restored, RED_VM, "mail04")


@pytest.mark.lab
def test_errors_neutralise_control_characters(
    hostile_lab: LabConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runbook = _runbook(tmp_path)
    doc = yaml.safe_load(runbook.read_text())
    doc["vms"].append({"name": "ghost\x1b[31m"})  # preflight names it in its error
    runbook.write_text(yaml.safe_dump(doc))
    result = _run(monkeypatch, "plan", str(runbook), "--lab", hostile_lab.directory)
    assert result.exit_code == 4, result.output
    _literal(result, f"ghost{ESC_SHOWN}[31m")


def test_styled_escapes_values_and_keeps_srmctl_markup() -> None:
    from srmctl.cli.console import safe_console, styled

    console = safe_console(width=200, force_terminal=False, record=True)
    console.print(styled("[green]✓[/] {:<10}|", "[/bold]x"), "[red]y\x1b[0m", styled("{}", LINK_GROUP))
    out = console.export_text()
    assert "✓ [/bold]x" in out and "[red]y\\x1b[0m" in out and LINK_GROUP in out
    assert styled("[green]ok[/] {}", "[red]v").spans[0].style == "green"
    assert [span.style for span in styled("[green]ok[/] {}", "[red]v").spans] == ["green"]


def test_commands_never_format_data_into_a_markup_template() -> None:
    # styled()'s template is srmctl's own text; an f-string there would let data open a style again.
    sources = Path(__file__).parents[2].joinpath("srmctl", "cli").rglob("*.py")
    offenders = [str(p) for p in sources if "styled(f" in p.read_text() or "markup=True" in p.read_text()]
    assert offenders == []


@pytest.mark.lab
def test_plan_and_check_tables_are_not_wrapped(
    hostile_lab: LabConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 12, part 6: output that is not a terminal is laid out wide; a row with the hostile names is one line.
    runbook = str(_runbook(tmp_path))
    planned = _run(monkeypatch, "plan", runbook, "--lab", hostile_lab.directory)
    row = next(line for line in planned.output.splitlines() if "protection.restore" in line)
    assert all(vm in row for vm in ("mail04", "db01", BOLD_VM, RED_VM)), planned.output
    checked = _run(monkeypatch, "check", runbook, "--lab", hostile_lab.directory)
    assert any(
        f"seeds:{RED_VM}" in line and f"in [NY-SAN-01] {RED_VM}" in line for line in checked.output.splitlines()
    ), checked.output


@pytest.mark.lab
def test_snapshot_export_keeps_names_and_escapes_control_characters(
    hostile_lab: LabConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = ["--lab", hostile_lab.directory, "--plan", "VR Failover"]
    exported = _run(monkeypatch, "snapshot", "export", *where)
    assert exported.exit_code == 0, exported.output
    _literal(exported, CLOSING_CALLOUT, RED_VM)  # YAML writes the ESC as an escape sequence
    doc = yaml.safe_load(exported.stdout)
    assert doc["vms"]["mail04"]["pre_power_on"][0]["name"] == ESC_CALLOUT  # and reads back the real name
    as_json = _run(monkeypatch, "snapshot", "export", *where, "-o", "json")
    assert "\x1b" not in as_json.stdout  # JSON escapes it too
    assert json.loads(as_json.stdout)["result"]["snapshot"]["vms"]["mail04"]["pre_power_on"][0]["name"] == ESC_CALLOUT


@pytest.mark.lab
def test_runs_show_journaled_messages_literally(
    hostile_lab: LabConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SRMCTL_HOME", str(tmp_path / "home"))
    runbook = _runbook(tmp_path)
    doc = yaml.safe_load(runbook.read_text())
    doc["vms"].append({"name": "[red]ghost\x1b[31m"})  # preflight fails naming it; the journal keeps the message
    runbook.write_text(yaml.safe_dump(doc))
    failed = _run(
        monkeypatch, "failback", str(runbook), "--lab", hostile_lab.directory, "--steps", "preflight.check", "--yes"
    )
    assert failed.exit_code == 4, failed.output
    listed = _run(monkeypatch, "runs", "-o", "json")
    [run] = json.loads(listed.stdout)["result"]["runs"]
    # Preflight refuses while planning, so the message is the run's; a step that fails while it runs journals
    # it as the step's. Journal that too (a journal is data, and may say anything), as the executor writes it.
    events = Path(run["journal"]) / "events.jsonl"
    started, finished = events.read_text().splitlines()
    at = json.loads(started)["at"]
    step = [
        {"at": at, "kind": "step_started", "step": "preflight.check"},
        {"at": at, "kind": "step_failed", "step": "preflight.check", "error": json.loads(finished)["error"]},
    ]
    events.write_text("\n".join([started, *map(json.dumps, step), finished]) + "\n")
    shown = _run(monkeypatch, "runs", run["run_id"])
    assert shown.exit_code == 0, shown.output
    _literal(shown, f"[red]ghost{ESC_SHOWN}[31m", "hostile")
    as_json = json.loads(_run(monkeypatch, "runs", run["run_id"], "-o", "json").stdout)
    assert "[red]ghost\x1b[31m" in as_json["result"]["steps"][0]["message"]  # JSON keeps the real text
    _literal(_run(monkeypatch, "runs"), run["run_id"])
