"""preflight.check and orphans.unregister against a real two-site vcsim lab."""

from __future__ import annotations

from pathlib import Path

import edge
import pytest
from labstate import RunbookSpec, datastore_files, inventory, make_failover, write_runbook

from srmctl import engine
from srmctl.errors import StepFailed
from srmctl.lab.config import LabConfig
from srmctl.runbook import load_runbook


def _yes(_plan: engine.RunPlan) -> bool:
    return True


def test_preflight_reports_every_problem_at_once(shared_lab: LabConfig, tmp_path: Path) -> None:
    # Nothing has failed over in the shared lab: mail04 runs at home (new-york) only, which is fine (a
    # finished failback looks like that); VMs that run nowhere are problems, all reported together.
    rb = write_runbook(
        tmp_path / "rb.yaml", RunbookSpec(vms=("mail04", "ghost", "phantom"), steps=("preflight.check",))
    )
    with pytest.raises(StepFailed) as caught:
        edge.dry_run(load_runbook(rb), Path(shared_lab.directory))
    message = caught.value.message
    assert "2 problem(s)" in message and "mail04" not in message
    assert "ghost is not registered at new-jersey" in message and "phantom is not registered" in message


def test_plan_lists_orphans_and_failback_unregisters_them_keeping_files(fresh_lab: LabConfig, tmp_path: Path) -> None:
    make_failover(fresh_lab, ["mail04", "db01"])
    lab = Path(fresh_lab.directory)
    rb = write_runbook(tmp_path / "rb.yaml", RunbookSpec(vms=("mail04", "db01")))
    plan = edge.dry_run(load_runbook(rb), lab)
    orphans = plan.steps[1]
    assert [(a.kind, a.site, a.targets) for a in orphans.actions] == [
        ("unregister", "new-york", ("mail04",)),
        ("unregister", "new-york", ("db01",)),
    ]
    assert plan.needs_confirmation and not any(a.high_impact for a in orphans.actions)

    files_before = datastore_files(fresh_lab, "new-york")
    report = edge.start(rb, lab, tmp_path / "home", confirm=_yes)
    assert report.outcome == "succeeded"
    assert [(s.step, s.status, s.actions_done) for s in report.steps] == [
        ("preflight.check", "verified", 0),
        ("orphans.unregister", "verified", 2),
    ]
    assert {v.name for v in inventory(fresh_lab, "new-york").vms} == {"web01", "web02"}
    nj = inventory(fresh_lab, "new-jersey").vms
    assert {v.name for v in nj if not v.is_placeholder} == {"mail04", "db01"}
    assert {v.name for v in nj if v.is_placeholder} == {"mail04", "db01", "web01", "web02"}  # SRM's, untouched
    assert datastore_files(fresh_lab, "new-york") == files_before  # unregister, never delete

    # Idempotent: the second run plans nothing and changes nothing.
    assert edge.dry_run(load_runbook(rb), lab).action_count == 0
    again = edge.start(rb, lab, tmp_path / "home", confirm=_yes)
    assert again.outcome == "succeeded" and all(s.actions_done == 0 for s in again.steps)


def test_powered_on_stale_vm_is_refused_after_planned_migration(fresh_lab: LabConfig, tmp_path: Path) -> None:
    make_failover(fresh_lab, ["mail04"], stale_powered_on=True)
    rb = write_runbook(tmp_path / "rb.yaml", RunbookSpec(vms=("mail04",), confirm_power_off=True))
    with pytest.raises(StepFailed, match="refusing to unregister powered-on VMs") as caught:
        edge.start(rb, Path(fresh_lab.directory), tmp_path / "home", confirm=_yes)
    assert "planned-migration" in caught.value.message
    assert "mail04" in {v.name for v in inventory(fresh_lab, "new-york").vms}


def test_powered_on_stale_vm_needs_runbook_confirmation_in_disaster_recovery(
    fresh_lab: LabConfig, tmp_path: Path
) -> None:
    make_failover(fresh_lab, ["mail04"], stale_powered_on=True)
    lab = Path(fresh_lab.directory)
    unconfirmed = write_runbook(tmp_path / "a.yaml", RunbookSpec(vms=("mail04",), scenario="disaster-recovery"))
    with pytest.raises(StepFailed, match="confirm.power_off_stale_vms"):
        edge.dry_run(load_runbook(unconfirmed), lab)

    confirmed = write_runbook(
        tmp_path / "b.yaml", RunbookSpec(vms=("mail04",), scenario="disaster-recovery", confirm_power_off=True)
    )
    plan = edge.dry_run(load_runbook(confirmed), lab)
    assert [a.high_impact for a in plan.steps[1].actions] == [True]
    report = edge.start(confirmed, lab, tmp_path / "home", confirm=_yes)
    assert report.outcome == "succeeded"
    assert "mail04" not in {v.name for v in inventory(fresh_lab, "new-york").vms}


def test_operator_refusal_changes_nothing(fresh_lab: LabConfig, tmp_path: Path) -> None:
    from srmctl.errors import Aborted

    make_failover(fresh_lab, ["mail04"])
    rb = write_runbook(tmp_path / "rb.yaml", RunbookSpec(vms=("mail04",)))
    with pytest.raises(Aborted):
        edge.start(rb, Path(fresh_lab.directory), tmp_path / "home", confirm=lambda _p: False)
    assert "mail04" in {v.name for v in inventory(fresh_lab, "new-york").vms}
