"""End to end on the lab (issue #21): vSphere Replication's documented states reach srmctl as they would at a
real site. A reverse replication paused before the migration fails the migration's sync (srmctl stops naming
it, nothing lost) and resume completes once it is resumed; a disk grown at the recovery site during the outage
has no seed of its size: ``seeds: required`` is refused in ``plan`` with the VM, the disk and both sizes,
``preferred`` runs a full sync of that disk only. (A DO_NOT_POWER_ON VM whose reverse replication is
NOT_ACTIVE: test_failback_e2e.py.)"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import edge
import pytest
import yaml
from click.testing import CliRunner
from edge import dr_sites
from invariants import UNCHANGED, nothing_lost
from labstate import grown_topology

from srmctl.adapters.dr import VrClient
from srmctl.adapters.dr.models import Replication
from srmctl.cli.main import cli
from srmctl.engine import events as ev
from srmctl.errors import StepFailed
from srmctl.runbook.step_names import STEP_NAMES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_failback_e2e import (  # noqa: E402
    AWAY,
    HOME,
    PLANNED,
    Bench,
    assert_end_state,
    bench,  # noqa: F401 - the fixture
    failback_runbook,
    journal,
    run_failback,
    scenario_lab,
    take_baseline,
)

pytestmark = [pytest.mark.slow, pytest.mark.lab]

MIB = 1024 * 1024


def _named(vr: VrClient, name: str, source_vc_guid: str | None = None) -> Replication:
    """The replication of the VM ``name`` (one listing)."""
    return next(r for r in vr.replications(source_vc_guid=source_vc_guid) if r.name == name)


def test_a_reverse_replication_paused_before_the_migration_stops_it_and_resume_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RecoverPlanSpec.planned_failover: SRM "will attempt to restore the protection site to the original state if
    an error ... occurs before the storage steps". srmsim's migration sync fails on the paused replication;
    srmctl stops at plan.migrate naming it; once resumed, `srmctl resume` completes the failback."""
    rb = failback_runbook(tmp_path / "rb.yaml", PLANNED)
    home = tmp_path / "home"
    with scenario_lab(tmp_path / "lab", PLANNED) as config, nothing_lost(config, rb, tmp_path):
        baseline = take_baseline(config, tmp_path)
        paused: list[str] = []

        def pause_before_migration(event: ev.Event) -> None:
            if event.kind == ev.STEP_STARTED and event.step == "plan.migrate" and not paused:
                with dr_sites(config.directory, [HOME, AWAY]) as dr:
                    replication = _named(dr[AWAY].vr, "web01", source_vc_guid=dr[AWAY].local_vc_guid)
                    dr[AWAY].vr.pause_replication(replication.id)
                    paused.append(replication.id)

        with pytest.raises(StepFailed, match=r"^plan\.migrate: .*the replication of web01 is PAUSED"):
            edge.start(rb, config.directory, home, confirm=lambda _plan: True, subscribers=[pause_before_migration])
        assert paused
        events = journal(home)
        failed = [e for e in events if e.get("kind") == ev.STEP_FAILED]
        assert [e.get("step") for e in failed] == ["plan.migrate"], failed
        with dr_sites(config.directory, [HOME, AWAY]) as dr:
            assert dr[AWAY].vr.replication(paused[0]).state == "PAUSED"  # srmctl healed nothing itself
            dr[AWAY].vr.resume_replication(paused[0])
        run_id = next(p.name for p in (home / "runs").iterdir())
        monkeypatch.setenv("SRMCTL_HOME", str(home))
        resumed = CliRunner().invoke(cli, ["resume", run_id, "--yes", "-o", "json"])
        assert resumed.exit_code == 0, resumed.output
        assert json.loads(resumed.output)["result"]["outcome"] == "succeeded"
        assert_end_state(config, baseline, full=True)


def _with_seeds(rb: Path, seeds: str) -> Path:
    doc = yaml.safe_load(rb.read_text())
    doc["replication"]["seeds"] = seeds
    rb.write_text(yaml.safe_dump(doc, sort_keys=False))
    return rb


def test_a_disk_grown_during_the_outage_refuses_required_seeds_in_plan(tmp_path: Path) -> None:
    rb = _with_seeds(failback_runbook(tmp_path / "rb.yaml", PLANNED), "required")
    topology = grown_topology("mail04", MIB)
    mail04 = next(vm for vm in topology.vms if vm.name == "mail04")
    old, new = mail04.disks[0].size, mail04.disks[0].size + MIB
    with scenario_lab(tmp_path / "lab", PLANNED, topology) as config, nothing_lost(config, rb, tmp_path, UNCHANGED):
        result = CliRunner().invoke(
            cli, ["plan", str(rb), "--lab", config.directory], env={"SRMCTL_HOME": str(tmp_path / "home")}
        )
        assert result.exit_code != 0, result.output
        message = " ".join((result.stderr or result.output).split())
        assert "mail04" in message and str(old) in message and str(new) in message, message
        assert "seeds: preferred" in message, message


def test_a_disk_grown_during_the_outage_gets_a_full_sync_of_that_disk_only_with_preferred_seeds(
    tmp_path: Path,
    bench: Bench,  # noqa: F811 - the fixture
) -> None:
    rb = _with_seeds(failback_runbook(tmp_path / "rb.yaml", PLANNED), "preferred")
    doc = yaml.safe_load(rb.read_text())
    doc["steps"] = list(STEP_NAMES[: STEP_NAMES.index("replication.reverse") + 1])  # up to the reverse sync
    rb.write_text(yaml.safe_dump(doc, sort_keys=False))
    topology = grown_topology("mail04", MIB)
    mail04 = next(vm for vm in topology.vms if vm.name == "mail04")
    with scenario_lab(tmp_path / "lab", PLANNED, topology) as config:
        run_failback(rb, config, tmp_path / "home", bench, "failback with a grown disk, seeds: preferred")
        records = {
            e["vm"]: e
            for e in journal(tmp_path / "home")
            if e.get("kind") == ev.RECORD and e.get("record") == "replication_bytes"
        }
        grown = records["mail04"]
        # The grown disk travelled whole; mail04's other disks were compared against their seeds.
        assert grown["transferred_bytes"] >= mail04.disks[0].size + MIB, grown
        assert grown["checksummed_bytes"] >= sum(d.size for d in mail04.disks[1:]) > 0, grown
        for name, record in records.items():
            if name != "mail04":
                assert record["transferred_bytes"] * 10 <= record["full_bytes"], record
