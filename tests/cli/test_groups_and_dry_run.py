"""Issue 12, parts 1 and 2, on a real lab (vcsim + srmsim): the dry run shows per VM what metadata.restore will
set (table and JSON, labelled as a forecast); snapshot diff sees a group renamed or a VM moved, and says what an
old snapshot cannot compare; the rebuild creates the plan's own groups again, renamed where the runbook says."""

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
from srmctl.lab import lab
from srmctl.lab.config import LabConfig
from srmctl.labkit.topology import load_topology

pytestmark = pytest.mark.lab

PLAN = "VR Failover"
REBUILD = [
    "preflight.check",
    "metadata.snapshot",
    "orphans.unregister",
    "replication.cleanup",
    "plan.detach_groups",
    "groups.delete",
    "replication.reverse",
    "groups.create",
    "plan.attach_groups",
    "metadata.restore",
]


@pytest.fixture(scope="module")
def migrated_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabConfig]:
    directory = tmp_path_factory.mktemp("groups") / "lab"
    config = lab.up(directory, load_topology(), scenario="planned-migration")
    try:
        yield config
    finally:
        lab.down(directory)


def _run(*args: str, home: Path | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env={"SRMCTL_HOME": str(home)} if home else None)


def _runbook(tmp_path: Path, **extra: Any) -> Path:
    """All the lab's VMs with the default groups (no protection_group), plus ``extra`` keys."""
    path = write_runbook(tmp_path / "rb.yaml", RunbookSpec(steps=None))
    doc = yaml.safe_load(path.read_text())
    del doc["protection_group"]
    doc.update(extra)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _groups(lab_dir: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Every protection group both sites report: name → (protected site, VM names); the site found by its
    vCenter (SRM names sites as they were installed, not by the lab's keys)."""
    with dr_sites(lab_dir, ["new-york", "new-jersey"]) as dr:
        srm = dr["new-york"].srm
        site_of = {d.local_vc_guid: name for name, d in dr.items()}
        return {
            g.name: (site_of[g.protected_vc_guid], tuple(sorted(v.name for v in srm.group_vms(g.id))))
            for g in srm.groups()
        }


def test_the_dry_run_shows_per_vm_what_metadata_restore_will_set(migrated_lab: LabConfig, tmp_path: Path) -> None:
    runbook = str(_runbook(tmp_path))
    planned = _run("plan", runbook, "--lab", migrated_lab.directory, "-o", "json")
    assert planned.exit_code == 0, planned.output
    steps = {s["step"]: s for s in json.loads(planned.output)["result"]["steps"]}
    restore = {a["targets"][0]: a for a in steps["metadata.restore"]["actions"]}
    assert set(restore) == {"db01", "mail04", "web01", "web02"}
    assert all(a["kind"] == "vm_settings" and a["forecast"] for a in restore.values())
    mail = restore["mail04"]["details"]
    assert mail["priority"] == "P2" and mail["callouts"] == ["Drain queue"] and mail["prompts"] == ["Check mail flow"]
    assert "priority: P3 → P2" in mail["changes"]
    # IP settings are per site as SRM names it (the installation's name, not the lab's key).
    with dr_sites(migrated_lab.directory, ["new-york"]) as dr:
        ny = dr["new-york"].srm.plan_by_name(PLAN)
    srm_name = ny.protected_site_name if ny.protected_vc_guid == dr["new-york"].local_vc_guid else ny.recovery_site_name
    assert f"ip nic 0 at {srm_name}: none → 10.10.0.14/255.255.255.0 gw 10.10.0.1" in mail["changes"]
    assert restore["web01"]["details"]["dependencies"] == ["web02"]
    assert "dependencies: none → web02" in restore["web01"]["details"]["changes"]
    # Exact where the step observes the world as it is; labelled where it waits for earlier steps.
    assert not any(a["forecast"] for a in steps["orphans.unregister"]["actions"])
    assert [a["forecast"] for a in steps["protection.restore"]["actions"]] == [True]
    groups = {a["details"]["group"]: a["targets"] for a in steps["groups.create"]["actions"]}
    assert groups == {"VR mail": ["mail04"], "VR web": ["db01", "web01", "web02"]}

    table = _run("plan", runbook, "--lab", migrated_lab.directory)
    assert table.exit_code == 0, table.output
    text = " ".join(table.output.split())
    assert "vm_settings (forecast)" in text and "priority: P3 → P1" in text and "(forecast): what the step" in text


def test_snapshot_diff_sees_a_renamed_group_and_says_what_an_old_snapshot_cannot(
    migrated_lab: LabConfig, tmp_path: Path
) -> None:
    where = ["--lab", migrated_lab.directory, "--plan", PLAN]
    file = tmp_path / "snap.yaml"
    assert _run("snapshot", "export", *where, "-f", str(file)).exit_code == 0
    doc = yaml.safe_load(file.read_text())
    assert doc["groups"]["VR web"] == {
        "type": "HBR",
        "description": "",
        "vms": ["db01", "web01", "web02"],
        "plans": [PLAN],
    }
    assert _run("snapshot", "diff", str(file), *where).exit_code == 0
    with dr_sites(migrated_lab.directory, ["new-york", "new-jersey"]) as dr:
        srm = dr["new-york"].srm
        group = srm.group_by_name("VR mail")
        ids = [vm.id for vm in srm.group_vms(group.id)]
        srm.reconfigure_group(group.id, "VR apps", ids)
        try:
            changed = _run("snapshot", "diff", str(file), *where, "-o", "json")
        finally:
            srm.reconfigure_group(group.id, "VR mail", ids)
    assert changed.exit_code == 1, changed.output
    paths = {(c["path"], c["kind"]) for c in json.loads(changed.output)["result"]["changes"]}
    assert paths == {("groups.VR mail", "removed"), ("groups.VR apps", "added")}

    del doc["groups"]  # a snapshot taken before srmctl recorded groups
    file.write_text(yaml.safe_dump(doc))
    old = _run("snapshot", "diff", str(file), *where)
    assert old.exit_code == 0, old.output
    assert "protection groups not compared" in " ".join(old.stderr.split())


@pytest.fixture
def own_lab(tmp_path: Path) -> Iterator[LabConfig]:
    """A migrated lab for a test that fails back: as a module lab, pytest-xdist's worksteal could run the tests
    that need the migrated state after the failback, on the same lab."""
    with planned_migration_lab(tmp_path / "lab") as config:
        yield config


def test_the_rebuild_creates_the_plans_own_groups_renamed_where_the_runbook_says(
    own_lab: LabConfig, tmp_path: Path
) -> None:
    before = _groups(own_lab.directory)
    assert {n: vms for n, (_, vms) in before.items()} == {"VR mail": ("mail04",), "VR web": ("db01", "web01", "web02")}
    runbook = _runbook(tmp_path, steps=REBUILD, protection_groups={"rename": {"VR mail": "Mail tier"}})
    ran = _run("failback", str(runbook), "--lab", own_lab.directory, "--yes", home=tmp_path / "home")
    assert ran.exit_code == 0, ran.output + ran.stderr
    assert _groups(own_lab.directory) == {
        "Mail tier": ("new-jersey", ("mail04",)),
        "VR web": ("new-jersey", ("db01", "web01", "web02")),
    }
    with dr_sites(own_lab.directory, ["new-jersey"]) as dr:
        srm = dr["new-jersey"].srm
        plan = srm.plan_by_name(PLAN)
        assert sorted(g.name for g in srm.plan_groups(plan.id)) == ["Mail tier", "VR web"]
