"""snapshot export / diff / restore through the CLI against a lab (vcsim + srmsim)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from edge import dr_sites

from srmctl.cli.main import cli
from srmctl.lab.config import LabConfig
from srmctl.metadata.snapshot import read_snapshot


def _run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), terminal_width=200)


def test_export_diff_restore_cycle(fresh_lab: LabConfig, tmp_path: Path) -> None:
    lab = ["--lab", fresh_lab.directory, "--plan", "VR Failover"]
    file = tmp_path / "vr-failover.yaml"
    exported = _run("snapshot", "export", *lab, "-f", str(file))
    assert exported.exit_code == 0, exported.output
    snap = read_snapshot(file)
    assert file.stat().st_mode & 0o777 == 0o600
    assert snap.vms["mail04"].priority == "P2" and snap.vms["mail04"].instance_uuid
    assert _run("snapshot", "diff", str(file), *lab).exit_code == 0

    with dr_sites(fresh_lab.directory, ["new-york", "new-jersey"]) as sites:
        ny = sites["new-york"]
        plan = ny.srm.plan_by_name("VR Failover")
        mail = ny.srm.plan_vm_by_name(plan.id, "mail04")
        ny.srm.set_priority(plan.id, mail.id, "P5")

    drift = _run("snapshot", "diff", str(file), *lab, "-o", "json")
    assert drift.exit_code == 1
    changes = json.loads(drift.output)["result"]["changes"]
    assert [(c["path"], c["before"], c["after"]) for c in changes] == [("vms.mail04.priority", "P2", "P5")]

    dry = _run("snapshot", "restore", str(file), *lab, "--dry-run")
    assert dry.exit_code == 0 and "would change" in dry.output and "mail04" in dry.output
    assert _run("snapshot", "diff", str(file), *lab).exit_code == 1  # the dry run changed nothing

    done = _run("snapshot", "restore", str(file), *lab)
    assert done.exit_code == 0 and "changed" in done.output
    assert _run("snapshot", "diff", str(file), *lab).exit_code == 0
    again = _run("snapshot", "restore", str(file), *lab)
    assert "nothing to do" in again.output


def test_unknown_plan_is_not_found(shared_lab: LabConfig) -> None:
    result = _run("snapshot", "export", "--lab", shared_lab.directory, "--plan", "No Such Plan")
    assert result.exit_code == 1 and "No Such Plan" in result.stderr
