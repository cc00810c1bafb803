"""A missing privilege is an access problem (exit 5), said once, whichever API refuses it (issue 13).

orphans.unregister works on the VMs concurrently: a NoPermission on every UnregisterVM used to become one
StepFailed (exit 4) repeating the same message per VM. An SRM/VR HTTP 403 used to be a DrApiError (exit 4).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from faults import lab_srmsim, srmctl, vcenter_faults
from labstate import RunbookSpec, write_runbook

from srmctl.errors import AuthenticationFailed, ConnectionFailed, OperationFailed, PermissionDenied, StepFailed
from srmctl.lab import lab
from srmctl.lab.config import LabConfig
from srmctl.labkit.topology import load_topology
from srmctl.steps.context import joined_failure


@pytest.fixture
def migrated_lab(tmp_path: Path) -> Iterator[LabConfig]:
    config = lab.up(tmp_path / "lab", load_topology(), scenario="planned-migration")
    try:
        yield config
    finally:
        lab.down(tmp_path / "lab")


@pytest.mark.lab
def test_no_permission_on_every_vm_exits_5_and_says_it_once(migrated_lab: LabConfig, tmp_path: Path) -> None:
    rb = write_runbook(tmp_path / "rb.yaml", RunbookSpec(steps=("preflight.check", "orphans.unregister")))
    vcenter_faults(migrated_lab, "new-york", "POST", method="UnregisterVM", fault="no_permission", count=1000)
    result = srmctl(["failback", str(rb), "--lab", migrated_lab.directory, "--yes"], tmp_path / "home")
    assert result.code == 5, result.stderr
    assert not result.traceback and len(result.errors) == 1, result.stderr
    error = result.errors[0]
    assert "(4 VMs)" in error and error.count("UnregisterVM") == 1, error


@pytest.mark.lab
def test_srm_403_is_permission_denied_naming_the_call(migrated_lab: LabConfig, tmp_path: Path) -> None:
    rb = write_runbook(tmp_path / "rb.yaml", RunbookSpec(steps=("preflight.check", "metadata.snapshot")))
    lab_srmsim(migrated_lab).fail_http("/pairings/*/recovery-management/plans*", api="srm", status=403, count=1000)
    result = srmctl(["failback", str(rb), "--lab", migrated_lab.directory, "--yes", "-o", "json"], tmp_path / "home")
    assert result.code == 5, result.stdout + result.stderr
    assert '"code": "permission_denied"' in result.stdout, result.stdout
    assert "GET /pairings/{pairing_id}/recovery-management/plans: permission denied (HTTP 403)" in result.stdout


def test_joined_failures_keep_the_access_type_and_count_repeats() -> None:
    same = [PermissionDenied("vc: UnregisterVM: permission denied")] * 3
    joined = joined_failure(same)
    assert type(joined) is PermissionDenied and joined.message == "vc: UnregisterVM: permission denied (3 VMs)"
    mixed = joined_failure([PermissionDenied("a"), AuthenticationFailed("b"), PermissionDenied("a")])
    assert type(mixed) is ConnectionFailed and mixed.message == "a (2 VMs); b"
    other = joined_failure([PermissionDenied("a"), OperationFailed("task failed")])
    assert type(other) is StepFailed and other.message == "a; task failed"
    assert type(joined_failure([OperationFailed("x")])) is StepFailed
