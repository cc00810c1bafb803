"""End to end: `srmctl init` on the lab after a planned migration, then `srmctl failback` with the runbook it
wrote, untouched and without --lab (the runbook names the lab's endpoints), reaches the end state
(docs/architecture.md, "The job") inside the "nothing lost" check; the metadata equals init's snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from edge import dr_sites
from invariants import nothing_lost
from labstate import ALL_VMS, inventory

from srmctl.cli.main import cli
from srmctl.lab import lab
from srmctl.labkit.topology import load_topology
from srmctl.metadata.snapshot import read_snapshot
from srmctl.runbook import load_runbook

pytestmark = [pytest.mark.slow, pytest.mark.lab]

PLAN = "VR Failover"
HOME, AWAY = "new-york", "new-jersey"


def test_init_then_failback_reaches_the_end_state(tmp_path: Path) -> None:
    config = lab.up(tmp_path / "lab", load_topology(), scenario="planned-migration")
    try:
        runbook, snapshot = tmp_path / "runbooks" / "tier1.yaml", tmp_path / "runbooks" / "tier1.snapshot.yaml"
        written = CliRunner().invoke(cli, ["init", "--plan", PLAN, "--lab", config.directory, "-f", str(runbook)])
        assert written.exit_code == 0, written.output
        assert CliRunner().invoke(cli, ["validate", str(runbook)]).exit_code == 0
        text = runbook.read_text()
        assert load_runbook(runbook).replication.rpo is None  # init writes no flattened set
        with dr_sites(config.directory, [HOME]) as dr:
            plan_id = dr[HOME].srm.plan_by_name(PLAN).id

        with nothing_lost(config, runbook, tmp_path):
            ran = CliRunner().invoke(
                cli, ["failback", str(runbook), "--yes"], env={"SRMCTL_HOME": str(tmp_path / "home")}
            )
            assert ran.exit_code == 0, ran.output
        assert runbook.read_text() == text  # no hand edits, and failback does not edit it either

        home, away = inventory(config, HOME), inventory(config, AWAY)
        for name in ALL_VMS:
            copies = home.vms_named(name)
            assert len(copies) == 1 and copies[0].powered_on, f"{name} at {HOME}: {copies}"
        assert not [v.name for v in away.vms if v.name in ALL_VMS and not v.is_placeholder], "orphans left"
        with dr_sites(config.directory, [HOME]) as dr:
            site = dr[HOME]
            plan = site.srm.plan_by_name(PLAN)
            assert plan.id == plan_id, "the recovery plan was replaced, not kept"
            assert (plan.status, plan.protected_vc_guid) == ("READY_STATE", site.local_vc_guid)
            members = [vm for g in site.srm.plan_groups(plan.id) for vm in site.srm.group_vms(g.id)]
            assert sorted(vm.name for vm in members) == sorted(ALL_VMS) and {vm.status for vm in members} == {"OK"}
            out = site.vr.replications(source_vc_guid=site.local_vc_guid)
            assert sorted(r.name or "" for r in out) == sorted(ALL_VMS)
            # Each VM's own settings, as init's snapshot recorded them from VR (the runbook has no flattened set).
            recorded = read_snapshot(snapshot).replication or {}
            assert {r.name: (r.state, r.rpo, r.quiescing_enabled, r.network_compression_enabled) for r in out} == {
                name: ("OK", s.rpo, s.quiesce, s.network_compression) for name, s in recorded.items()
            }
            assert len({s.rpo for s in recorded.values()}) > 1
        diff = CliRunner().invoke(
            cli, ["snapshot", "diff", str(snapshot), "--plan", PLAN, "--lab", config.directory, "-o", "json"]
        )
        assert diff.exit_code == 0, diff.output
        assert json.loads(diff.output)["result"] == {"equal": True, "changes": []}
    finally:
        lab.down(tmp_path / "lab")
