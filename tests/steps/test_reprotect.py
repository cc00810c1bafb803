"""plan.reprotect: SRM's own reprotect, and strategy auto falling back to the rebuild sequence."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from drlab import Recorder, planned_migration_lab, rest_state, runbook, step_context

from srmctl.lab import lab
from srmctl.lab.config import LabConfig
from srmctl.labkit.topology import load_topology
from srmctl.srmsim.app import READY
from srmctl.srmsim.launcher import SrmsimHandle
from srmctl.steps import get_step
from srmctl.steps.protection import REBUILD

pytestmark = pytest.mark.lab


def _srmsim(config: LabConfig) -> SrmsimHandle:
    """The lab's srmsim (started detached by 'lab up'), for fault injection."""
    first = (Path(config.directory) / "srmsim" / "srmsim.out").read_text().splitlines()[0]
    return SrmsimHandle(None, json.loads(first[len(READY) :]))


def test_rebuild_strategy_plans_nothing(tmp_path: Path, shared_lab: LabConfig) -> None:
    with step_context(shared_lab, runbook(tmp_path), Recorder()) as ctx:
        step = get_step("plan.reprotect")()
        assert step.plan(ctx.read_only()) == ()
        assert step.verify(ctx.read_only()).summary == "not used (strategy: rebuild)"


def test_auto_falls_back_to_rebuild_when_reprotect_fails(tmp_path: Path) -> None:
    events = Recorder()
    rb = runbook(tmp_path).model_copy(update={"strategy": "auto"})
    with planned_migration_lab(tmp_path / "lab") as lab, step_context(lab, rb, events) as ctx:
        step = get_step("plan.reprotect")()
        actions = step.plan(ctx.read_only())
        assert [(a.kind, a.site) for a in actions] == [("reprotect", "new-jersey")]
        before = rest_state(ctx)
        _srmsim(lab).fail_task("Reprotect*", message="storage not ready")
        step.apply(ctx.bind(step.name), actions)  # bound, as the executor hands it over
        assert rest_state(ctx) != before
        fallback = events.records("reprotect_fallback")
        assert len(fallback) == 1 and "storage not ready" in fallback[0]["reason"]
        assert step.verify(ctx.read_only()).ok
        substeps = {d.get("substep") for k, s, d in events.events if k == "action_done"}
        # replication.cleanup has nothing left to remove: VR unconfigured the RECOVERED replications itself once
        # orphans.unregister took their source VMs out of the inventory (it is verified below all the same).
        assert {
            "orphans.unregister",
            "groups.delete",
            "replication.reverse",
            "groups.create",
            "plan.attach_groups",
        } <= substeps
        # The sequence ran through the executor: each sub-step verified, journaled under the step that ran it.
        verified = [(s, d["substep"]) for k, s, d in events.events if k == "substep_verified"]
        assert verified == [("plan.reprotect", name) for name in REBUILD]
        assert all(s == "plan.reprotect" for k, s, _ in events.events if k in ("action_done", "record"))
        plan = next(p for p in ctx.dr("new-jersey").srm.plans() if p.name == "VR Failover")
        assert plan.protected_vc_guid == ctx.dr("new-jersey").local_vc_guid and plan.status == "READY_STATE"
        assert step.plan(ctx.read_only()) == ()


@pytest.mark.parametrize("strategy", ["reprotect"])
def test_reprotect_strategy_refuses_a_plan_it_cannot_reprotect(
    tmp_path: Path, shared_lab: LabConfig, strategy: str
) -> None:
    from srmctl.errors import StepFailed

    # The shared lab is 'protected': its plan is READY_STATE, so reprotect is already done there...
    rb = runbook(tmp_path).model_copy(update={"strategy": strategy})
    with step_context(shared_lab, rb, Recorder()) as ctx:
        assert get_step("plan.reprotect")().plan(ctx.read_only()) == ()
    # ...and a plan that does not exist is a clear failure.
    missing = rb.model_copy(update={"recovery_plan": rb.recovery_plan.model_copy(update={"name": "Nope"})})
    with step_context(shared_lab, missing, Recorder()) as ctx, pytest.raises(StepFailed, match="'Nope' does not"):
        get_step("plan.reprotect")().plan(ctx.read_only())


def test_split_brain_reprotect_needs_force_and_then_runs_the_planned_migration_first(tmp_path: Path) -> None:
    """After a disaster recovery whose protected site came back, SRM shows RECOVERY_SPLIT_BRAIN and reprotects
    only after a planned migration: strategy reprotect refuses without reprotect.force (nothing changed),
    plans the migration then the reprotect with it, and the reprotect succeeds."""
    from srmctl.errors import StepFailed

    rb = runbook(tmp_path, scenario="disaster-recovery", confirm_power_off=True).model_copy(
        update={"strategy": "reprotect"}
    )
    directory = tmp_path / "lab"
    config = lab.up(directory, load_topology(), scenario="disaster-recovery")
    try:
        with step_context(config, rb, Recorder()) as ctx:
            step = get_step("plan.reprotect")()
            before = rest_state(ctx)
            with pytest.raises(StepFailed, match=r"RECOVERY_SPLIT_BRAIN.*reprotect\.force: true"):
                step.plan(ctx.read_only())
            assert rest_state(ctx) == before
        forced = rb.model_copy(update={"reprotect": rb.reprotect.model_copy(update={"force": True})})
        with step_context(config, forced, Recorder()) as ctx:
            ctx = dataclasses.replace(ctx, confirmed=True)
            actions = step.plan(ctx.read_only())
            assert [a.kind for a in actions] == ["complete_recovery", "reprotect"]
            assert actions[0].high_impact  # it shuts down the stale VMs that booted again at new-york
            step.apply(ctx.bind(step.name), actions)
            assert step.verify(ctx.read_only()).ok
    finally:
        lab.down(directory)
