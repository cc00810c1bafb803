"""Issue 22: a runbook covering only part of its recovery plan is refused before anything changes, naming
the groups left behind (SRM runs a plan only while all its groups protect one direction)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from drlab import planned_migration_lab
from edge import dr_sites
from labstate import RunbookSpec, write_runbook

from srmctl.cli.main import cli
from srmctl.lab.config import LabConfig

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def migrated_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabConfig]:
    with planned_migration_lab(tmp_path_factory.mktemp("partial") / "lab") as config:
        yield config


def _runbook(tmp_path: Path, **changes: Any) -> str:
    path = write_runbook(tmp_path / "rb.yaml", RunbookSpec(steps=None))
    doc = yaml.safe_load(path.read_text())
    del doc["protection_group"]
    doc.update(changes)
    doc = {k: v for k, v in doc.items() if v is not None}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


def _run(*args: str, home: Path) -> Result:
    return CliRunner().invoke(cli, list(args), env={"SRMCTL_HOME": str(home)})


def _groups(lab_dir: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    with dr_sites(lab_dir, ["new-york"]) as dr:
        srm = dr["new-york"].srm
        return {
            g.name: (g.protected_site_name or "", tuple(sorted(v.name for v in srm.group_vms(g.id))))
            for g in srm.groups()
        }


@pytest.mark.parametrize(
    "changes",
    [
        {"vms": [{"name": "mail04"}]},
        {"vms": None, "select": {"protection_group": "VR mail"}},
        {"vms": [{"name": n} for n in ("mail04", "db01", "web01")]},
    ],
    ids=["vms", "select-group", "part-of-a-group"],
)
def test_a_runbook_covering_part_of_the_plan_is_refused_before_anything_changes(
    migrated_lab: LabConfig, tmp_path: Path, changes: dict[str, Any]
) -> None:
    runbook = _runbook(tmp_path, **changes)
    before = _groups(migrated_lab.directory)
    planned = _run("plan", runbook, "--lab", migrated_lab.directory, "-o", "json", home=tmp_path / "home")
    assert planned.exit_code == 4, planned.output
    message = json.loads(planned.output)["error"]["message"]
    assert "covers only part of recovery plan 'VR Failover'" in message
    assert "'VR web' (" in message and "web02" in message and "'VR mail'" not in message

    failed = _run("failback", runbook, "--lab", migrated_lab.directory, "--yes", home=tmp_path / "home")
    assert failed.exit_code == 4 and "covers only part of recovery plan" in failed.output
    assert "Traceback" not in failed.output
    assert _groups(migrated_lab.directory) == before  # nothing changed


def test_a_runbook_covering_the_whole_plan_passes_preflight(migrated_lab: LabConfig, tmp_path: Path) -> None:
    planned = _run("plan", _runbook(tmp_path), "--lab", migrated_lab.directory, "-o", "json", home=tmp_path / "home")
    assert planned.exit_code == 0, planned.output
