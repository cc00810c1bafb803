"""The lab reaches 1,000 VMs (issue #11): srmsim's own planned migration of a 1,000-VM plan completes within
the start limit that scales with the topology. Timings are in bench/RESULTS.md (bench/lab_up_scale.py); this
test only checks that it gets there and that the world is whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from srmctl.lab import lab
from srmctl.labkit.topology import load_topology, scaled_topology
from srmctl.srmsim.app import READY
from srmctl.srmsim.launcher import SrmsimHandle

pytestmark = pytest.mark.lab

VMS = 1000


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_planned_migration_of_1000_vms_reaches_its_end_state(tmp_path: Path) -> None:
    directory = tmp_path / "lab"
    topology = scaled_topology(load_topology(), VMS)
    config = lab.up(directory, topology, scenario="planned-migration")
    try:
        first = (directory / "srmsim" / "srmsim.out").read_text().splitlines()[0]
        state = SrmsimHandle(None, json.loads(first[len(READY) :])).state()
        recovery = state["sites"][topology.recovery_site]["vms"]
        replicas = [v for v in recovery if v["role"] == "replica" and v["registered"]]
        assert len(replicas) == VMS
        assert all(v["power_state"] == "POWERED_ON" for v in replicas)
        protected = [v for v in state["sites"][topology.protected_site]["vms"] if v["registered"]]
        assert len(protected) == VMS and all(v["power_state"] == "POWERED_OFF" for v in protected)
        assert [p["status"] for p in state["plans"]] == ["RECOVERY_COMPLETE"]
        assert config.srmsim is not None and config.srmsim.scenario == "planned-migration"
    finally:
        lab.down(directory)
