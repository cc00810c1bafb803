"""End to end: preflight stops a failback before any change when SRM could not place the VMs' placeholders
at home: a folder mapping missing in the reverse direction (a topology with explicit inventory mappings), or
a same-named VM in the mapped folder that srmctl would not unregister (a template keeps its name there). The
error lists every problem at once; tests/fixtures/invariants.py (UNCHANGED) proves nothing changed."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from invariants import UNCHANGED, nothing_lost
from labstate import inventory

from srmctl.adapters.vcenter import operations
from srmctl.adapters.vcenter.connection import connect
from srmctl.cli.main import cli
from srmctl.lab import lab
from srmctl.lab.config import LabConfig
from srmctl.labkit.topology import Topology, load_topology

sys.path.insert(0, str(Path(__file__).parent))  # the runbook of the sibling e2e module
from test_failback_e2e import PLANNED, failback_runbook  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.lab]

HOME, AWAY = "new-york", "new-jersey"


@contextmanager
def _lab(directory: Path, topology: Topology) -> Iterator[LabConfig]:
    config = lab.up(directory, topology, scenario=PLANNED)
    try:
        yield config
    finally:
        lab.down(directory)


def _failback(config: LabConfig, runbook: Path, tmp_path: Path) -> str:
    result = CliRunner().invoke(
        cli, ["failback", str(runbook), "--lab", config.directory, "--yes"], env={"SRMCTL_HOME": str(tmp_path / "home")}
    )
    assert result.exit_code != 0, result.output
    assert "preflight.check" in result.output + result.stderr
    return result.stderr


def test_a_missing_reverse_folder_mapping_stops_preflight(tmp_path: Path) -> None:
    # new-jersey's SRM (the direction back home) maps every folder but DB, where db01 runs now.
    data = load_topology().model_dump(mode="json")
    data["inventory_mappings"] = {
        AWAY: {
            "folders": {"/": "/", "Mail": "Mail", "Web": "Web", "Web/Frontend": "Web/Frontend"},
            "resource_pools": {"NJ-Cluster": "NY-Cluster"},
            "networks": {"VM Network": "VM Network"},
            "placeholder_datastores": ["NY-SAN-01"],
        }
    }
    rb = failback_runbook(tmp_path / "rb.yaml", PLANNED)
    with _lab(tmp_path / "lab", Topology.model_validate(data)) as config, nothing_lost(config, rb, tmp_path, UNCHANGED):
        message = _failback(config, rb, tmp_path)
        assert "VM db01: no folder mapping for folder DB" in message, message
        assert f"at {AWAY}'s SRM ({AWAY} -> {HOME}, needed by groups.create)" in message, message
        assert "web01" not in message and "mail04" not in message, message  # mapped: no problem


def test_a_same_named_vm_in_the_mapped_folder_stops_preflight(tmp_path: Path) -> None:
    rb = failback_runbook(tmp_path / "rb.yaml", PLANNED)
    with _lab(tmp_path / "lab", load_topology()) as config:
        # web01's and web02's stale copies at home become templates: srmctl never unregisters a template (it
        # is not the VM), yet it keeps the name in Web/Frontend, where SRM would put the placeholders.
        session = connect(config.vcenter_endpoint(HOME))
        try:
            for vm in inventory(config, HOME).vms:
                if vm.name in ("web01", "web02"):
                    operations.vm_object(session, vm.moref).MarkAsTemplate()
        finally:
            session.close()
        with nothing_lost(config, rb, tmp_path, UNCHANGED):
            message = _failback(config, rb, tmp_path)
            for name in ("web01", "web02"):  # both listed at once
                assert (
                    f"VM {name}: {name} (" in message
                    and "in folder Web/Frontend at new-york would block its placeholder" in message
                ), message
            assert "db01" not in message and "mail04" not in message, message
