"""SRM's group and plan states on the lab (issue 21, points 1, 5 and 6): srmctl's preflight stops, before
anything is destroyed, where SRM would refuse a later step, and a recovery that fails half-way is resumed by
running the plan again. Each test runs inside ``nothing_lost`` (tests/fixtures/invariants.py)."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from edge import dr_sites
from invariants import UNCHANGED, nothing_lost
from labstate import ALL_VMS, inventory
from labstate import snapshot as whole_state

from srmctl.adapters.dr.models import text
from srmctl.cli.main import cli
from srmctl.errors import Aborted
from srmctl.lab.config import LabConfig
from srmctl.labkit.topology import Topology, load_topology

sys.path.insert(0, str(Path(__file__).parent))  # the end-state checks of the sibling e2e module
import edge  # noqa: E402
from test_failback_e2e import (  # noqa: E402
    AWAY,
    HOME,
    PLAN,
    PLANNED,
    Baseline,
    assert_end_state,
    dr_state,
    failback_runbook,
    scenario_lab,
    srmsim,
    take_baseline,
)

pytestmark = [pytest.mark.slow, pytest.mark.lab]

SHARING = "Web only"


def shared_topology() -> Topology:
    """The default lab plus a second plan, "Web only", holding "VR web" with metadata of its own."""
    data: dict[str, Any] = load_topology().model_dump()
    data["recovery_plans"].append(
        {"name": SHARING, "protection_groups": ["VR web"], "vms": {"web01": {"priority": "P1"}}}
    )
    return Topology.model_validate(data)


def failback(runbook: Path, lab_dir: str, home: Path, *extra: str) -> Any:
    return CliRunner().invoke(
        cli, ["failback", str(runbook), "--lab", lab_dir, "--yes", "-o", "json", *extra], env={"SRMCTL_HOME": str(home)}
    )


def resume(run_id: str, home: Path) -> Any:
    return CliRunner().invoke(cli, ["resume", run_id, "--yes", "-o", "json"], env={"SRMCTL_HOME": str(home)})


def only_run(home: Path) -> str:
    (run,) = [d.name for d in (home / "runs").iterdir() if d.is_dir()]
    return run


def plan_and_groups(lab_dir: str) -> tuple[str, dict[str, str]]:
    with dr_sites(lab_dir, [AWAY]) as dr:
        srm = dr[AWAY].srm
        return text(srm.plan_by_name(PLAN).status) or "", {g.name: text(g.status) or "" for g in srm.groups()}


@contextmanager
def failback_stopped(tmp_path: Path, step: str, task_fault: str) -> Iterator[tuple[LabConfig, Path, Baseline, Any]]:
    """A planned-migration lab inside ``nothing_lost``, and a failback that ``step`` stopped (exit 4) because
    srmsim failed the task matching ``task_fault``: the lab, the srmctl home, the baseline, the CLI result."""
    rb = failback_runbook(tmp_path / "rb.yaml", PLANNED)
    home = tmp_path / "home"
    with scenario_lab(tmp_path / "lab", PLANNED) as config, nothing_lost(config, rb, tmp_path):
        baseline = take_baseline(config, tmp_path)
        srmsim(config).fail_task(task_fault, message="injected")
        first = failback(rb, config.directory, home)
        assert first.exit_code == 4 and step in first.output, first.output
        yield config, home, baseline, first


def test_a_group_shared_with_another_plan_is_refused_naming_that_plan(tmp_path: Path) -> None:
    """Rebuilding "VR web" would take it out of "Web only" (SRM refuses to delete a group another plan holds,
    after the detach and the orphans' unregistration): preflight names the plan and nothing changes."""
    rb = failback_runbook(tmp_path / "rb.yaml", PLANNED)
    lab = scenario_lab(tmp_path / "lab", PLANNED, shared_topology())
    with lab as config, nothing_lost(config, rb, tmp_path, UNCHANGED):
        before = (whole_state(config), dr_state(config))
        result = failback(rb, config.directory, tmp_path / "home")
        assert result.exit_code == 4, result.output
        message = json.loads(result.output)["error"]["message"]
        assert "preflight.check" in message and "VR web" in message and repr(SHARING) in message, message
        assert (whole_state(config), dr_state(config)) == before


def test_a_failed_cleanup_leaves_the_groups_testing_preflight_refuses_then_the_failback_completes(
    tmp_path: Path,
) -> None:
    """SRM: "If cleanup fails, the group goes to the Testing state" and the plan is CLEANUP_INCOMPLETE ("After
    fixing the issues, press Cleanup"). srmctl stops, refuses to go on while SRM is in that state, and once the
    operator's cleanup succeeded the resumed failback completes."""
    with failback_stopped(tmp_path, "plan.cleanup", "Cleanup recovery plan*") as (config, home, baseline, _):
        run_id = only_run(home)
        assert plan_and_groups(config.directory) == ("CLEANUP_INCOMPLETE", {"VR mail": "TESTING", "VR web": "TESTING"})
        before = (whole_state(config), dr_state(config))
        refused = resume(run_id, home)
        assert refused.exit_code == 4, refused.output
        message = json.loads(refused.output)["error"]["message"]
        assert "preflight.check" in message and "CLEANUP_INCOMPLETE" in message, message
        assert "VR mail" in message and "VR web" in message and "TESTING" in message, message
        assert (whole_state(config), dr_state(config)) == before
        with dr_sites(config.directory, [AWAY, HOME]) as dr:  # the operator cleans up in SRM
            dr[AWAY].srm.cleanup_plan(dr[AWAY].srm.plan_by_name(PLAN).id)
        done = resume(run_id, home)
        assert done.exit_code == 0, done.output
        assert_end_state(config, baseline, full=False)


def test_a_recovery_failing_half_way_is_resumed_by_running_the_plan_again(tmp_path: Path) -> None:
    """web02 fails in the migration home; SRM recovers the others (INCOMPLETE_RECOVERY: "Virtual machines that
    have already been successfully recovered will not be affected by running the recovery again"). Resume runs
    the plan again: one VM per name at home, and the end state."""
    with failback_stopped(tmp_path, "plan.migrate", "Recover VM web02") as (config, home, baseline, first):
        assert "web02: VM web02: injected" in first.output, first.output
        at_home = Counter(v.name for v in inventory(config, HOME).vms if not v.is_placeholder)
        assert at_home == Counter(n for n in ALL_VMS if n != "web02"), at_home
        done = resume(only_run(home), home)
        assert done.exit_code == 0, done.output
        assert_end_state(config, baseline, full=False)
        assert Counter(v.name for v in inventory(config, HOME).vms) == Counter(ALL_VMS)


def test_srms_test_vms_at_home_are_neither_orphans_nor_the_vms_at_home(tmp_path: Path) -> None:
    """SRM tests the plan home by registering each VM's test VM under the VM's name in its placeholder's place.
    Stopped there (TEST_COMPLETE), a new run must not take those VMs for orphans to unregister, nor for VMs
    that are home; it cleans the test up and completes."""
    rb = failback_runbook(tmp_path / "rb.yaml", PLANNED)
    home = tmp_path / "home"
    with scenario_lab(tmp_path / "lab", PLANNED) as config, nothing_lost(config, rb, tmp_path):
        baseline = take_baseline(config, tmp_path)
        first = failback(rb, config.directory, home, "--until", "plan.test")
        assert first.exit_code == 0, first.output
        at_home = inventory(config, HOME)
        assert {v.name for v in at_home.vms if not v.is_placeholder and v.powered_on} == set(ALL_VMS)
        dry = CliRunner().invoke(
            cli, ["plan", str(rb), "--lab", config.directory, "-o", "json"], env={"SRMCTL_HOME": str(home)}
        )
        assert dry.exit_code == 0, dry.output
        steps = {s["step"]: s["actions"] for s in json.loads(dry.output)["result"]["steps"]}
        assert steps["orphans.unregister"] == [] and steps["plan.test"] == [], steps
        again = failback(rb, config.directory, home)
        assert again.exit_code == 0, again.output
        assert_end_state(config, baseline, full=False)


def test_a_test_the_operator_cancels_in_srm_stops_srmctl_as_their_decision(tmp_path: Path) -> None:
    """The operator cancels srmctl's test recovery in SRM: the task ends CANCELLED (the spec's Task.status), and
    srmctl stops as aborted (exit 130's outcome), naming the cancel, not as a failed step. Once the operator
    cleaned the test up, the resumed failback completes."""
    rb = failback_runbook(tmp_path / "rb.yaml", PLANNED)
    home = tmp_path / "home"
    with scenario_lab(tmp_path / "lab", PLANNED) as config, nothing_lost(config, rb, tmp_path):
        baseline = take_baseline(config, tmp_path)
        srmsim(config).slow_tasks("Test recovery plan*", factor=100)  # about 2 s per plan step
        ended: list[BaseException] = []

        def failback_in_process() -> None:
            try:
                edge.start(rb, config.directory, home, confirm=lambda _plan: True)
            except BaseException as error:  # noqa: BLE001 - the run's end, checked below
                ended.append(error)

        run = threading.Thread(target=failback_in_process)
        run.start()
        try:
            with dr_sites(config.directory, [AWAY, HOME]) as dr:
                srm = dr[AWAY].srm
                deadline = time.monotonic() + 60
                while text(srm.plan_by_name(PLAN).status) != "TEST_IN_PROGRESS":
                    assert time.monotonic() < deadline and run.is_alive(), "the test never started"
                    time.sleep(0.1)
                srm.cancel_plan(srm.plan_by_name(PLAN).id)
        finally:
            run.join(120)
        (error,) = ended
        assert isinstance(error, Aborted), repr(error)
        assert "test of recovery plan VR Failover was cancelled in SRM" in error.message
        events = [json.loads(line) for line in (home / "runs" / only_run(home) / "events.jsonl").open()]
        assert events[-1]["kind"] == "run_finished" and events[-1]["outcome"] == "aborted", events[-1]
        plan_status, groups = plan_and_groups(config.directory)
        assert set(groups.values()) == {"TESTING"}, (plan_status, groups)
        with dr_sites(config.directory, [AWAY, HOME]) as dr:  # the operator cleans the partial test up
            dr[AWAY].srm.cleanup_plan(dr[AWAY].srm.plan_by_name(PLAN).id)
        done = resume(only_run(home), home)
        assert done.exit_code == 0, done.output
        assert_end_state(config, baseline, full=False)


def test_a_group_shared_with_a_plan_the_runbook_names_goes_back_into_both_plans(tmp_path: Path) -> None:
    """With "Web only" in recovery_plan.shared_with, the rebuilt "VR web" goes back into both plans in each
    direction, and each plan ends with its own metadata (web01 is P1 in "Web only", P3 in "VR Failover")."""
    rb = failback_runbook(tmp_path / "rb.yaml", PLANNED)
    doc = yaml.safe_load(rb.read_text())
    doc["recovery_plan"]["shared_with"] = [SHARING]
    rb.write_text(yaml.safe_dump(doc, sort_keys=False))
    lab = scenario_lab(tmp_path / "lab", PLANNED, shared_topology())
    with lab as config, nothing_lost(config, rb, tmp_path):
        before = {}
        for plan in (PLAN, SHARING):
            before[plan] = tmp_path / f"{plan}.snapshot.yaml"
            exported = CliRunner().invoke(
                cli, ["snapshot", "export", "--plan", plan, "--lab", config.directory, "-f", str(before[plan])]
            )
            assert exported.exit_code == 0, exported.output
        result = failback(rb, config.directory, tmp_path / "home")
        assert result.exit_code == 0, result.output
        at_home = inventory(config, HOME)
        assert Counter(v.name for v in at_home.vms if v.powered_on) == Counter(ALL_VMS)
        with dr_sites(config.directory, [HOME, AWAY]) as dr:
            srm = dr[HOME].srm
            for name, groups in ((PLAN, ["VR mail", "VR web"]), (SHARING, ["VR web"])):
                plan = srm.plan_by_name(name)
                assert (text(plan.status), plan.protected_vc_guid) == ("READY_STATE", dr[HOME].local_vc_guid)
                assert sorted(g.name for g in srm.plan_groups(plan.id)) == groups
        for plan, snapshot in before.items():
            diff = CliRunner().invoke(
                cli, ["snapshot", "diff", str(snapshot), "--plan", plan, "--lab", config.directory, "-o", "json"]
            )
            assert diff.exit_code == 0, (plan, diff.output)
