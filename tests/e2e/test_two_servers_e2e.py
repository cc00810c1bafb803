"""A site pair is two SRM servers and two VR servers (srmsim/ids.py, srmsim/remote.py, srmsim/peers.py): the
failback survives a lapsed remote login whatever the server answers for it, and stops before changing anything,
resumably, when a step needs the paired site and finds it down. Real lab, in-process runs."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import edge
import pytest
import yaml
from click.testing import CliRunner
from faults import lab_srmsim
from invariants import nothing_lost

from srmctl.adapters.dr.models import PlanStatus
from srmctl.cli.main import cli
from srmctl.engine import events as ev
from srmctl.errors import PeerUnreachable
from srmctl.lab.config import LabConfig

sys.path.insert(0, str(Path(__file__).parent))  # the end-state checks of the sibling e2e module
from test_failback_e2e import (  # noqa: E402
    PLANNED,
    assert_end_state,
    failback_runbook,
    journal,
    scenario_lab,
    take_baseline,
)

pytestmark = [pytest.mark.slow, pytest.mark.lab]


def _at_step(name: str, do: Callable[[], None]) -> Callable[[ev.Event], None]:
    """An event subscriber doing ``do`` once, as step ``name`` starts (before it plans)."""
    done: list[bool] = []

    def subscriber(event: ev.Event) -> None:
        if event.kind == ev.STEP_STARTED and event.step == name and not done:
            done.append(True)
            do()

    return subscriber


def _groups(config: LabConfig) -> dict[str, list[str]]:
    with edge.dr_sites(config.directory, ["new-jersey"]) as dr:
        srm = dr["new-jersey"].srm
        plan = srm.plan_by_name("VR Failover")
        return {g.name: sorted(v.name for v in srm.group_vms(g.id)) for g in srm.plan_groups(plan.id)}


@pytest.mark.parametrize("status", [401, 400, 500])
def test_the_remote_login_lapses_between_replication_reverse_and_groups_create(tmp_path: Path, status: int) -> None:
    """Each answer the specs allow for a call whose remote login lapsed: the run renews it and completes."""
    rb = failback_runbook(tmp_path / "rb.yaml", PLANNED)
    with scenario_lab(tmp_path / "lab", PLANNED) as config:
        baseline = take_baseline(config, tmp_path)
        sim = lab_srmsim(config)
        lapse = _at_step("groups.create", lambda: sim.lapse_remote_sessions(status=status))
        report = edge.start(rb, config.directory, tmp_path / "home", confirm=lambda _plan: True, subscribers=[lapse])
        assert report.outcome == "succeeded", report.error
        assert_end_state(config, baseline, full=False)


def test_a_step_that_needs_the_peer_stops_before_any_change_and_resume_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rb = failback_runbook(tmp_path / "rb.yaml", PLANNED)
    home = tmp_path / "home"
    with scenario_lab(tmp_path / "lab", PLANNED) as config, nothing_lost(config, rb, tmp_path):
        baseline = take_baseline(config, tmp_path)
        sim = lab_srmsim(config)
        before = _groups(config)
        cut = _at_step("plan.detach_groups", lambda: sim.link(False))
        with pytest.raises(PeerUnreachable) as stopped:
            edge.start(rb, config.directory, home, confirm=lambda _plan: True, subscribers=[cut])
        events = journal(home)
        failed = [e for e in events if e.get("kind") == ev.STEP_FAILED]
        after = _groups(config)
        sim.link(True)
        monkeypatch.setenv("SRMCTL_HOME", str(home))
        run_id = next((home / "runs").iterdir()).name  # the only run
        resumed = CliRunner().invoke(cli, ["resume", run_id, "--yes", "-o", "json"])
        assert resumed.exit_code == 0, resumed.output
        assert_end_state(config, baseline, full=False)
    assert stopped.value.exit_code == 5  # a connection failure, resumable
    assert [(e["step"], e["code"]) for e in failed] == [("plan.detach_groups", "peer_unreachable")]
    message: Any = failed[0]["error"]
    assert "down" in message and "nothing was changed" in message and "resume" in message
    assert after == before  # the step changed nothing
    assert json.loads(resumed.output)["result"]["outcome"] == "succeeded"


def _break_the_failover(config: LabConfig) -> None:
    """The planned migration new-york → new-jersey, run at new-jersey's SRM, stopped by the sites'
    disconnection before the VMs come up: the plan is RECOVERY_STARTED (srmsim/peers.py)."""
    sim = lab_srmsim(config)
    sim.link(False, during="BEFORE_PREPARE_STORAGE")
    with edge.dr_sites(config.directory, ["new-jersey", "new-york"]) as dr:  # logged in to both sites
        srm = dr["new-jersey"].srm
        plan = srm.plan_by_name("VR Failover")
        task = srm.recover_plan(plan.id, planned=True, wait=False)
        while not srm.get_task(task.id).done:
            for prompt in srm.user_prompts(plan.id):
                srm.dismiss_prompt(plan.id, prompt.id)
        assert srm.plan(plan.id).status == "RECOVERY_STARTED"
    sim.link(True)


def test_a_failover_left_recovery_started_is_reported_then_completed_when_the_runbook_allows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rb = failback_runbook(tmp_path / "rb.yaml", PLANNED)
    home = tmp_path / "home"
    monkeypatch.setenv("SRMCTL_HOME", str(home))
    with scenario_lab(tmp_path / "lab", "protected") as config:
        baseline = take_baseline(config, tmp_path)
        _break_the_failover(config)
        refused = CliRunner().invoke(cli, ["failback", str(rb), "--lab", config.directory, "--yes", "-o", "json"])
        untouched = _groups(config)
        doc = yaml.safe_load(rb.read_text())
        doc["recovery"] = {"complete_started": True}
        rb.write_text(yaml.safe_dump(doc, sort_keys=False))
        allowed = CliRunner().invoke(cli, ["failback", str(rb), "--lab", config.directory, "--yes", "-o", "json"])
        assert allowed.exit_code == 0, allowed.output
        assert_end_state(config, baseline, full=False)
    assert refused.exit_code == 4, refused.output
    said = " ".join(json.loads(refused.output)["error"]["message"].split())
    assert "RECOVERY_STARTED" in said and "complete it from the recovery site" in said
    assert "recovery.complete_started: true" in said
    assert untouched == baseline.groups  # the refused run changed nothing
    runs = sorted((home / "runs").iterdir(), key=lambda p: p.stat().st_mtime)
    second = journal(home, runs[-1].name)
    completed = [e for e in second if e.get("kind") == ev.ACTION_DONE and e.get("step") == "preflight.check"]
    assert [e["action"]["kind"] for e in completed] == ["complete_started_recovery"]


def test_recovery_settings_edited_at_both_sites_while_disconnected_are_a_difference_restore_resolves(
    tmp_path: Path,
) -> None:
    """SYNC_CONFLICT: edits through both SRM servers while the sites were disconnected. snapshot diff reports the
    conflict (and the edit that won); snapshot restore writes the snapshot's settings, which resolves it."""
    file = tmp_path / "before.snapshot.yaml"
    with scenario_lab(tmp_path / "lab", "protected") as config:
        where = ["--plan", "VR Failover", "--lab", config.directory]
        exported = CliRunner().invoke(cli, ["snapshot", "export", *where, "-f", str(file)])
        assert exported.exit_code == 0, exported.output
        sim = lab_srmsim(config)
        with edge.dr_sites(config.directory, ["new-york", "new-jersey"]) as dr:  # logged in while connected
            sim.link(False)
            for site, priority in (("new-york", "P2"), ("new-jersey", "P4")):
                srm = dr[site].srm
                plan = srm.plan_by_name("VR Failover")
                mail = next(v for v in srm.plan_vms(plan.id) if v.name == "mail04")
                srm.set_priority(plan.id, mail.id, priority)
            sim.link(True)
        with edge.dr_sites(config.directory, ["new-york", "new-jersey"]) as dr:
            conflicted = {d.srm.plan_by_name("VR Failover").status for d in dr.values()}
        diff = CliRunner().invoke(cli, ["snapshot", "diff", str(file), *where, "-o", "json"])
        restored = CliRunner().invoke(cli, ["snapshot", "restore", str(file), *where, "-o", "json"])
        again = CliRunner().invoke(cli, ["snapshot", "diff", str(file), *where, "-o", "json"])
        with edge.dr_sites(config.directory, ["new-york", "new-jersey"]) as dr:
            after = {d.srm.plan_by_name("VR Failover").status for d in dr.values()}
    assert conflicted == {PlanStatus.SYNC_CONFLICT}  # at both SRM servers
    assert diff.exit_code == 1, diff.output
    paths = {c["path"] for c in json.loads(diff.output)["result"]["changes"]}
    assert {"plan.status", "vms.mail04.priority"} <= paths
    assert restored.exit_code == 0, restored.output
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["result"] == {"equal": True, "changes": []}
    assert after == {PlanStatus.READY_STATE}
