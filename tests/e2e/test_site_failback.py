"""End to end: site-wide failback of a lab with two recovery plans (playbooks/site/: tier 1 the database, tier 2
mail and web) as one journaled run (docs/architecture.md, "Site failbacks"). Both plans reach the end state, in order;
a site failback stopped at the prompt between plans, killed between plans, or killed inside the second plan resumes
to the same end state without redoing the first plan; a plan it holds refuses other runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from edge import dr_sites, lab_endpoints
from labstate import ALL_VMS, datastore_files, inventory

from srmctl.cli.main import cli
from srmctl.engine import site_failback
from srmctl.errors import Aborted
from srmctl.lab import lab
from srmctl.lab.config import LabConfig
from srmctl.labkit.topology import load_topology
from srmctl.runbook import load_runbook

pytestmark = [pytest.mark.slow, pytest.mark.lab]

SITE = Path(__file__).parents[2] / "playbooks" / "site"
TIER1, TIER2, TOPOLOGY = SITE / "tier1-db.yaml", SITE / "tier2-apps.yaml", SITE / "lab-topology.yaml"
PLANS = {"Tier 1 DB": ("db01",), "Tier 2 Apps": ("mail04", "web01", "web02")}
HOME, AWAY = "new-york", "new-jersey"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LabConfig, Path]]:
    home = tmp_path / "home"
    monkeypatch.setenv("SRMCTL_HOME", str(home))
    config = lab.up(tmp_path / "lab", load_topology(TOPOLOGY), scenario="planned-migration")
    try:
        yield config, home
    finally:
        lab.down(tmp_path / "lab")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), terminal_width=200)


def events(home: Path, run_id: str) -> list[dict[str, Any]]:
    path = home / "runs" / run_id / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def kinds(home: Path, run_id: str) -> list[str]:
    return [e["kind"] for e in events(home, run_id)]


def site_run_id(home: Path) -> str:
    return next(p.name for p in sorted((home / "runs").iterdir()) if "-site-" in p.name and "." not in p.name)


def spawn_killed(config: LabConfig, home: Path, kill_at: str, *extra: str) -> str:
    """``srmctl failback TIER1 TIER2`` in a process of its own, SIGKILLed by the journal's test hook."""
    env = {**os.environ, "SRMCTL_HOME": str(home), "SRMCTL_TEST_KILL_AT_EVENT": kill_at}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from srmctl.cli.main import main; main()",
            "failback",
            str(TIER1),
            str(TIER2),
            "--lab",
            config.directory,
            "--yes",
            *extra,
        ],
        env=env,
        text=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=280,
    )
    assert proc.returncode == -9, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    return site_run_id(home)


def assert_both_plans_home(config: LabConfig) -> None:
    """The end state for both plans: every VM home and powered on, protected again to the recovery site by its
    own plan (kept, READY_STATE, flipped back home) with replication from home."""
    ny, nj = inventory(config, HOME), inventory(config, AWAY)
    for name in ALL_VMS:
        copies = ny.vms_named(name)
        assert len(copies) == 1 and copies[0].powered_on, f"{name} at {HOME}: {copies}"
    assert not [v.name for v in nj.vms if v.name in ALL_VMS and not v.is_placeholder], "orphans left"
    assert sorted(v.name for v in nj.vms if v.is_placeholder) == sorted(ALL_VMS)
    with dr_sites(config.directory, [HOME]) as dr:
        site = dr[HOME]
        for name, vms in PLANS.items():
            plan = site.srm.plan_by_name(name)
            assert (plan.status, plan.protected_vc_guid) == ("READY_STATE", site.local_vc_guid), name
            members = [vm for g in site.srm.plan_groups(plan.id) for vm in site.srm.group_vms(g.id)]
            assert sorted(v.name for v in members) == sorted(vms) and {v.status for v in members} == {"OK"}, name
        out = site.vr.replications(source_vc_guid=site.local_vc_guid)
        assert sorted(r.name or "" for r in out) == sorted(ALL_VMS)
        assert {r.state for r in out} == {"OK"}


def assert_each_plan_ran_once(home: Path, run_id: str) -> None:
    """Each plan's run did its work once: no action applied twice to the same target, across resumes."""
    for index in (1, 2):
        done = Counter(
            (e["action"]["kind"], tuple(e["action"]["targets"]), e["step"])
            for e in events(home, f"{run_id}.p{index}")
            if e["kind"] == "action_done"
        )
        assert done and max(done.values()) == 1, done


def test_site_failback_stops_at_the_prompt_then_resumes_to_the_end_state(
    world: tuple[LabConfig, Path], tmp_path: Path
) -> None:
    config, home = world
    snapshots = {}
    for name in PLANS:
        snapshots[name] = tmp_path / f"{name}.snapshot.yaml"
        exported = run("snapshot", "export", "--plan", name, "--lab", config.directory, "-f", str(snapshots[name]))
        assert exported.exit_code == 0, exported.output
    files = {site: set(datastore_files(config, site)) for site in config.sites}

    # In process, as the CLI does it on a terminal where the operator answers "no" at the prompt.
    site = site_failback.load_site_failback([TIER1, TIER2])
    asked: list[site_failback.NextPlan] = []
    with pytest.raises(Aborted, match="stopped before plan 2/2"):
        site_failback.start_site_failback(
            site,
            [lab_endpoints(config.directory, p.runbook) for p in site],
            home,
            between=site_failback.Between("prompt"),
            confirm_site=lambda plans: True,
            confirm=lambda plan: True,
            ask_next=lambda nxt: asked.append(nxt) or None,
        )
    run_id = site_run_id(home)
    assert [(a.done.index, a.next.index, a.next.runbook.recovery_plan.name) for a in asked] == [(1, 2, "Tier 2 Apps")]
    assert not (home / "runs" / f"{run_id}.p2").exists()  # the second plan never started

    listed = json.loads(run("runs", run_id, "-o", "json").output)["result"]
    assert listed["outcome"] == "aborted" and "plan 2/2 tier2-apps (Tier 2 Apps): not started" in listed["position"]
    assert [(p["index"], p["outcome"]) for p in listed["plans"]] == [(1, "succeeded"), (2, "not_started")]
    status = json.loads(run("status", "--lab", config.directory, "-o", "json").output)["result"]
    assert [r["run_id"] for r in status["unfinished_runs"]] == [run_id]

    # No terminal: --yes lets the prompt continue, journaled as such.
    resumed = run("resume", run_id, "--yes", "-o", "json")
    assert resumed.exit_code == 0, resumed.output + resumed.stderr
    report = json.loads(resumed.output)["result"]
    assert report["outcome"] == "succeeded"
    assert [(p["index"], p["recovery_plan"], p["outcome"]) for p in report["plans"]] == [
        (1, "Tier 1 DB", "succeeded"),
        (2, "Tier 2 Apps", "succeeded"),
    ]
    assert all(s["status"] == "verified" for p in report["plans"] for s in p["steps"])
    passed = [e for e in events(home, run_id) if e["kind"] == site_failback.BETWEEN_PASSED]
    assert [(e["after"], e["how"]) for e in passed] == [(1, "no terminal: continued (--yes)")]
    assert "run_resumed" not in kinds(home, f"{run_id}.p1")  # the first plan is not touched again
    started = [e["plan"] for e in events(home, run_id) if e["kind"] == site_failback.PLAN_STARTED]
    assert started == [1, 2]

    assert_both_plans_home(config)
    assert_each_plan_ran_once(home, run_id)
    for name, path in snapshots.items():
        diff = run("snapshot", "diff", str(path), "--plan", name, "--lab", config.directory, "-o", "json")
        assert diff.exit_code == 0 and json.loads(diff.output)["result"]["equal"] is True, diff.output
    for site_name, before in files.items():  # nothing deleted
        assert before <= set(datastore_files(config, site_name))
    assert json.loads(run("status", "--lab", config.directory, "-o", "json").output)["result"]["unfinished_runs"] == []


def test_killed_between_plans_resumes_with_the_next_plan(world: tuple[LabConfig, Path]) -> None:
    config, home = world
    run_id = spawn_killed(config, home, site_failback.PLAN_FINISHED, "--between", "wait:2s")
    assert kinds(home, run_id)[-1] == site_failback.PLAN_FINISHED
    assert not (home / "runs" / f"{run_id}.p2").exists()
    listed = json.loads(run("runs", "-o", "json").output)["result"]["runs"]
    assert [(r["run_id"], r["outcome"]) for r in listed] == [(run_id, "incomplete")]  # plans listed inside it
    assert "plan 2/2" in listed[0]["position"]

    # The dead site failback still holds the second plan: another run of it is refused, naming plan and holder.
    other = run("failback", str(TIER2), "--lab", config.directory, "--yes")
    assert other.exit_code == 1, other.output
    assert "'Tier 2 Apps'" in other.stderr and run_id in other.stderr and "stale: its process is gone" in other.stderr

    resumed = run("resume", run_id, "-o", "json")  # --between wait needs no answer, but no terminal needs --yes
    assert resumed.exit_code == 2 and "--yes" in resumed.output
    resumed = run("resume", run_id, "--yes", "-o", "json")
    assert resumed.exit_code == 0, resumed.output + resumed.stderr
    assert json.loads(resumed.output)["result"]["outcome"] == "succeeded"
    site_events = events(home, run_id)
    waits = [e for e in site_events if e["kind"] == site_failback.BETWEEN_STARTED]
    assert len(waits) == 1 and waits[0]["until"]  # the pause was journaled once and kept its deadline
    assert [e["how"] for e in site_events if e["kind"] == site_failback.BETWEEN_PASSED][0].startswith("waited until")
    assert "run_resumed" not in kinds(home, f"{run_id}.p1") and "run_resumed" not in kinds(home, f"{run_id}.p2")
    assert_both_plans_home(config)
    assert_each_plan_ran_once(home, run_id)


def test_killed_inside_the_second_plan_resumes_that_plan(world: tuple[LabConfig, Path]) -> None:
    config, home = world
    first_plan_steps = len(load_runbook(TIER1).effective_steps)
    # The third step of the second plan (orphans.unregister) has just been verified.
    run_id = spawn_killed(config, home, f"step_verified#{first_plan_steps + 3}", "--between", "continue")
    child = f"{run_id}.p2"
    assert kinds(home, child).count("step_verified") == 3 and "run_finished" not in kinds(home, child)
    shown = json.loads(run("runs", run_id, "-o", "json").output)["result"]
    assert shown["outcome"] == "incomplete" and "plan 2/2" in shown["position"] and "step " in shown["position"]

    alone = run("resume", child, "--yes")  # a plan of a site failback is resumed through the site failback
    assert alone.exit_code == 2 and run_id in alone.stderr and "resume the site failback" in alone.stderr

    resumed = run("resume", run_id, "--yes", "-o", "json")
    assert resumed.exit_code == 0, resumed.output + resumed.stderr
    assert json.loads(resumed.output)["result"]["outcome"] == "succeeded"
    assert kinds(home, child).count("run_resumed") == 1 and "run_resumed" not in kinds(home, f"{run_id}.p1")
    assert [e["plan"] for e in events(home, run_id) if e["kind"] == site_failback.PLAN_STARTED] == [1, 2, 2]
    assert_both_plans_home(config)
    assert_each_plan_ran_once(home, run_id)
