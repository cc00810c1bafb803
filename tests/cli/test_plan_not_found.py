"""Say what is wrong in the operator's terms (issue 13, defect 15): a recovery plan that does not exist, a
stale recovery_plan.metadata file, a snapshot naming VMs the plan does not hold."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from labstate import RunbookSpec, write_runbook

from srmctl.cli.main import cli
from srmctl.lab import lab
from srmctl.lab.config import LabConfig
from srmctl.labkit.topology import load_topology

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def migrated_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabConfig]:
    """Read-only use except where a test says it changes nothing (restores that must be refused)."""
    directory = tmp_path_factory.mktemp("not-found") / "lab"
    config = lab.up(directory, load_topology(), scenario="planned-migration")
    try:
        yield config
    finally:
        lab.down(directory)


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _runbook(tmp_path: Path, **recovery_plan: str) -> Path:
    path = write_runbook(tmp_path / "rb.yaml", RunbookSpec(steps=None))
    doc = yaml.safe_load(path.read_text())
    doc["recovery_plan"].update(recovery_plan)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_missing_plan_is_named_by_preflight_and_check(migrated_lab: LabConfig, tmp_path: Path) -> None:
    runbook = str(_runbook(tmp_path, name="VR Failovr"))
    wanted = "recovery plan 'VR Failovr' not found at {} (recovery_plan.name); plans there: 'VR Failover'"
    planned = _run("plan", runbook, "--lab", migrated_lab.directory)
    assert planned.exit_code == 4, planned.output
    assert "preflight.check" in planned.stderr and wanted.format("new-jersey") in planned.stderr, planned.stderr
    assert "groups.delete" not in planned.stderr

    checked = _run("check", runbook, "--lab", migrated_lab.directory, "-o", "json")
    assert checked.exit_code == 1, checked.output
    items = {i["check"]: i for i in json.loads(checked.output)["result"]["items"]}
    assert not items["plan"]["ok"] and wanted.format("new-york") in items["plan"]["detail"]


def _snapshot(lab_dir: str, tmp_path: Path) -> tuple[Path, dict[str, object]]:
    file = tmp_path / "vr-failover.yaml"
    assert _run("snapshot", "export", "--lab", lab_dir, "--plan", "VR Failover", "-f", str(file)).exit_code == 0
    return file, yaml.safe_load(file.read_text())


def test_stale_metadata_file_is_named_with_what_to_do(migrated_lab: LabConfig, tmp_path: Path) -> None:
    file, doc = _snapshot(migrated_lab.directory, tmp_path)
    vms = doc["vms"]
    assert isinstance(vms, dict)
    # Exported while the plan still held ghost01, on which web01 depended.
    vms["ghost01"] = {**vms["web02"], "dependencies": [], "instance_uuid": None}
    vms["web01"]["dependencies"] = ["ghost01"]
    file.write_text(yaml.safe_dump(doc))
    planned = _run("plan", str(_runbook(tmp_path, metadata=str(file))), "--lab", migrated_lab.directory)
    assert planned.exit_code == 4, planned.output
    message = " ".join(planned.stderr.split())  # the error may be wrapped over lines
    assert f"recovery_plan.metadata {file}" in message, message
    assert "ghost01" in message and "older than the live plan" in message
    assert f'srmctl snapshot export --plan "VR Failover" -f {file}' in message


def test_restore_of_vms_the_plan_does_not_hold_fails_and_changes_nothing(
    migrated_lab: LabConfig, tmp_path: Path
) -> None:
    file, doc = _snapshot(migrated_lab.directory, tmp_path)
    vms = doc["vms"]
    assert isinstance(vms, dict)
    vms["ghost01"] = {**vms["web02"], "dependencies": [], "instance_uuid": None}
    vms["mail04"]["priority"] = "P5"  # would be restorable on its own
    file.write_text(yaml.safe_dump(doc))
    where = ["--lab", migrated_lab.directory, "--plan", "VR Failover"]
    before = _run("snapshot", "diff", str(file), *where, "-o", "json").output
    for extra in (["--dry-run"], []):
        restored = _run("snapshot", "restore", str(file), *where, *extra)
        assert restored.exit_code == 1, restored.output
        assert "does not hold 1 VM(s) of the snapshot: ghost01; nothing was changed" in restored.stderr
        assert "already equal" not in restored.output
    assert _run("snapshot", "diff", str(file), *where, "-o", "json").output == before  # nothing changed
