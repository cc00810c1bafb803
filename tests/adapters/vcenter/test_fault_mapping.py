"""Defect 6 of issue 13: a vCenter fault reaches the operator as one clear line and a documented exit code, never
a pyVmomi traceback, and changes nothing. srmctl runs as a subprocess of its CLI against a real lab; faults are
injected through the vcsim wrapper's control endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from faults import srmctl, vcenter_fault_hits, vcenter_faults
from labstate import RunbookSpec, datastore_files, snapshot, write_runbook

from srmctl.lab import lab
from srmctl.lab.config import LabConfig
from srmctl.labkit.topology import load_topology

pytestmark = pytest.mark.lab

HOME = "new-york"
# engine/check.py reads inventories[target] whenever a session exists, even when reading the inventory failed.


@pytest.fixture(scope="module")
def planned_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabConfig]:
    directory = tmp_path_factory.mktemp("fault-lab") / "lab"
    config = lab.up(directory, load_topology(), scenario="planned-migration")
    try:
        yield config
    finally:
        lab.down(directory)


@pytest.fixture
def clean(planned_lab: LabConfig) -> Iterator[LabConfig]:
    yield planned_lab
    vcenter_faults(planned_lab, HOME, "DELETE")


def _runbook(tmp_path: Path) -> Path:
    return write_runbook(tmp_path / "rb.yaml", RunbookSpec(steps=("preflight.check", "orphans.unregister")))


COMMANDS = [
    pytest.param(["status"], 4, id="status"),
    pytest.param(["check"], 1, id="check"),  # the check's own contract: 1 = not ready
    pytest.param(["plan"], 4, id="plan"),
    pytest.param(["failback", "--yes"], 4, id="failback"),
]


@pytest.mark.parametrize(("command", "code"), COMMANDS)
def test_any_fault_on_retrieve_properties_is_one_clear_line(
    command: list[str], code: int, clean: LabConfig, tmp_path: Path
) -> None:
    rb = _runbook(tmp_path)
    before = snapshot(clean)
    vcenter_faults(
        clean,
        HOME,
        "POST",
        method="RetrievePropertiesEx",
        fault="system_error",
        count=1000,
        message="disk array\nunavailable",
    )
    result = srmctl([command[0], str(rb), "--lab", clean.directory, *command[1:]], tmp_path / "home")
    assert vcenter_fault_hits(clean, HOME) > 0
    vcenter_faults(clean, HOME, "DELETE")
    assert not result.traceback, result.stderr
    assert result.code == code, result.stderr
    assert any(
        "RetrievePropertiesEx failed: SystemError: disk array unavailable" in line
        for line in [*result.errors, *result.stdout.splitlines()]
    ), result.stdout + result.stderr
    assert snapshot(clean) == before


@pytest.mark.parametrize(
    ("fault", "code", "text"),
    [
        pytest.param("system_error", 4, "UnregisterVM failed: SystemError: injected", id="system-error"),
        # PermissionDenied on every VM: orphans.unregister works on VMs concurrently; the joined failure keeps the
        # access type (exit 5: an operator must grant the privilege) and says the message once, "(4 VMs)".
        pytest.param("no_permission", 5, "UnregisterVM: permission denied for user", id="no-permission"),
    ],
)
def test_fault_on_unregister_fails_the_step_clearly_and_changes_nothing(
    fault: str, code: int, text: str, clean: LabConfig, tmp_path: Path
) -> None:
    rb = _runbook(tmp_path)
    before, files = snapshot(clean), {site: datastore_files(clean, site) for site in clean.sites}
    vcenter_faults(clean, HOME, "POST", method="UnregisterVM", fault=fault, count=1000, message="injected")
    result = srmctl(["failback", str(rb), "--lab", clean.directory, "--yes"], tmp_path / "home")
    vcenter_faults(clean, HOME, "DELETE")
    assert not result.traceback, result.stderr
    assert result.code == code, result.stderr
    assert len(result.errors) == 1 and text in result.errors[0], result.stderr
    assert snapshot(clean) == before
    assert {site: datastore_files(clean, site) for site in clean.sites} == files
