"""The SRM/VR steps, one after the other, on one planned-migration lab (real vcsim + srmsim, no mocks).

The phases share the lab and run in order: each leaves the world where the failback sequence would, and checks its
step's plan, apply, verify and idempotence (a second plan is empty). They are one test, each phase a function named
in a failure's traceback: as separate tests, pytest-xdist's worksteal could run some of them on another worker (a
fresh lab, where the later phases find the world unprepared) or after the phases that follow them on the same lab."""

from __future__ import annotations

from pathlib import Path

import pytest
from drlab import Recorder, planned_migration_lab, rest_state, runbook, step_context
from edge import dry_run
from faults import lab_srmsim

from srmctl import engine
from srmctl.adapters.dr.models import CalloutSpec, CalloutType
from srmctl.errors import StepFailed
from srmctl.lab.config import LabConfig
from srmctl.runbook import Runbook
from srmctl.steps import Step, StepContext, get_step

pytestmark = pytest.mark.lab

ALL = ("mail04", "db01", "web01", "web02")
#: Plan runs (test, migration) depend on srmsim registering VMs in vcsim, which is being built right now;
#: until it lands a run may end in ERROR there. Not strict, so these start passing by themselves.


def _files(config: LabConfig, site: str) -> dict[str, int]:
    return {
        str(p.relative_to(d)): p.stat().st_size
        for d in map(Path, config.sites[site].datastores.values())
        for p in d.rglob("*")
        if p.is_file()
    }


def _run(ctx: StepContext, name: str) -> tuple[str, ...]:
    """plan → apply → verify → plan again (must be empty); returns the kinds of the applied actions."""
    step: Step = get_step(name)()
    actions = step.plan(ctx.read_only())
    assert actions, f"{name} planned nothing"
    step.apply(ctx, actions)
    verification = step.verify(ctx.read_only())
    assert verification.ok, verification.problems
    assert step.plan(ctx.read_only()) == (), f"{name} is not idempotent"
    return tuple(a.kind for a in actions)


def _with(rb: Runbook, **replication: object) -> Runbook:
    return rb.model_copy(update={"replication": rb.replication.model_copy(update=replication)})


def _dry_run_plans_every_step_and_changes_nothing_in_srm_or_vr(pm: LabConfig, tmp_path: Path) -> None:
    rb = runbook(tmp_path)
    with step_context(pm, rb, Recorder()) as ctx:
        before = rest_state(ctx)
        names = (
            "replication.cleanup",
            "plan.detach_groups",
            "groups.delete",
            "replication.reverse",
            "groups.create",
            "plan.attach_groups",
            "plan.test",
            "plan.cleanup",
            "plan.migrate",
        )
        plan = dry_run(rb, pm.directory, engine.Selection(steps=names))
        kinds = {s.name: [a.kind for a in s.actions] for s in plan.steps}
        assert kinds["replication.cleanup"] == ["remove_replication"] * 4
        assert kinds["plan.detach_groups"] == ["remove_groups_from_plan"]
        assert sorted(a.targets[0] for a in plan.steps[2].actions) == ["VR mail", "VR web"]
        assert kinds["replication.reverse"] == ["configure_replication"] * 4
        assert all(
            a.detail("seeds") == f"{n}/{n}" for a in plan.steps[3].actions for n in [a.detail("seeds").split("/")[1]]
        )
        assert kinds["plan.attach_groups"] == ["flip_plan_direction", "add_group_to_plan"]
        assert plan.steps[-1].needs_confirmation  # plan.migrate is high impact
        assert rest_state(ctx) == before


def _seeds_required_stops_before_configuring(pm: LabConfig, tmp_path: Path) -> None:
    rb = _with(runbook(tmp_path, vms=("mail04",)), seeds="required")
    # NY-SAN-01 holds no copy of mail04's disks (they are on ESX1_LOCAL): no seed there.
    rb = rb.model_copy(update={"vms": (rb.vms[0].model_copy(update={"datastore": "NY-SAN-01"}),)})  # type: ignore[index]
    with step_context(pm, rb, Recorder()) as ctx:
        before = rest_state(ctx)
        with pytest.raises(StepFailed, match=r"mail04: no seed at \[NY-SAN-01\].*seeds: required"):
            get_step("replication.reverse")().plan(ctx.read_only())
        assert rest_state(ctx) == before


def _seeds_none_onto_the_old_disks_stops_before_configuring(pm: LabConfig, tmp_path: Path) -> None:
    # VR never configures a disk without use_seeds onto an existing file; mail04's old disks are on
    # ESX1_LOCAL, so seeds: none there must fail in plan(), before any change.
    rb = _with(runbook(tmp_path, vms=("mail04",)), seeds="none")
    with step_context(pm, rb, Recorder()) as ctx:
        before = rest_state(ctx)
        with pytest.raises(
            StepFailed,
            match=r"mail04: \[ESX1_LOCAL\] mail04/mail04\.vmdk, .* already exist.*"
            r"seeds is none; VR does not overwrite them",
        ):
            get_step("replication.reverse")().plan(ctx.read_only())
        assert rest_state(ctx) == before


def _failback_sequence_step_by_step(pm: LabConfig, tmp_path: Path) -> None:
    events = Recorder()
    replica_files = _files(pm, "new-jersey")
    with step_context(pm, runbook(tmp_path), events) as ctx:
        cleanup = get_step("replication.cleanup")()
        stale = cleanup.plan(ctx.read_only())  # after the recovery, VR reports the old direction RECOVERED
        assert [(a.kind, a.detail("status")) for a in stale] == [("remove_replication", "RECOVERED")] * 4
        # Step 1 (vCenter only): the stale VMs at new-york, once srmsim's recovery registered the VMs at
        # new-jersey in vcsim; the migration home needs their .vmx paths free.
        orphans = get_step("orphans.unregister")()
        if actions := orphans.plan(ctx.read_only()):
            orphans.apply(ctx, actions)
        # VR unconfigured the RECOVERED replications itself once their source VMs left the inventory: the
        # plan made before counts them as removed, and a new plan has nothing left to do.
        cleanup.apply(ctx, stale)
        done = [
            d["result"]
            for k, _, d in events.events
            if k == "action_done" and d["action"]["kind"] == "remove_replication"
        ]
        assert done == [{"already_removed": True}] * 4
        assert cleanup.plan(ctx.read_only()) == () and cleanup.verify(ctx.read_only()).ok
        assert _files(pm, "new-jersey") == replica_files  # retain_replica_disks: nothing deleted
        assert _run(ctx, "plan.detach_groups") == ("remove_groups_from_plan",)
        assert _run(ctx, "groups.delete") == ("delete_group",) * 2
        # mail04's full sync (a checksum comparison of its seeds) runs past the runbook's RPO: VR reports
        # FULL_SYNC_RPO_VIOLATION meanwhile, which the step shows and waits out.
        lab_srmsim(pm).slow_sync("mail04", minutes=24 * 60, seconds=1.5)
        try:
            assert _run(ctx, "replication.reverse") == ("configure_replication",) * 4
        finally:
            lab_srmsim(pm).clear_faults()
        sent = {r["vm"]: r for r in events.records("replication_bytes")}
        assert set(sent) == set(ALL)
        for record in sent.values():  # seeded: every byte compared, (almost) none sent
            assert record["checksummed_bytes"] == record["full_bytes"] > 0
            assert record["transferred_bytes"] < record["full_bytes"]
        progress = [d for k, _, d in events.events if k == "progress"]
        assert {d["status"] for d in progress if d["vm"] == "mail04"} >= {"FULL_SYNC_RPO_VIOLATION", "OK"}
        assert all(d.get("rpo_violation_minutes", 0) > 0 for d in progress if d["status"].endswith("_RPO_VIOLATION"))
        assert _run(ctx, "groups.create") == ("create_group",)
        assert _run(ctx, "plan.attach_groups") == ("flip_plan_direction", "add_group_to_plan")
        dr = ctx.dr("new-jersey")
        plan = next(p for p in dr.srm.plans() if p.name == "VR Failover")
        assert (
            plan.protected_vc_guid == dr.local_vc_guid and plan.status == "READY_STATE"
        )  # SRM names sites its own way


def _unlisted_prompt_stops_the_test_and_a_resume_follows_it(pm: LabConfig, tmp_path: Path) -> None:
    events = Recorder()
    rb = runbook(tmp_path)
    with step_context(pm, rb, events) as ctx:
        dr = ctx.dr("new-jersey")
        plan = next(p for p in dr.srm.plans() if p.name == "VR Failover")
        dr.srm.create_plan_callout(
            plan.id,
            "test",
            CalloutSpec(
                name="Check DNS",
                content="Is DNS answering?",
                callout_type=CalloutType.PROMPT,
                timeout_seconds=0,
                position=0,
            ),
        )
        step = get_step("plan.test")()
        with pytest.raises(StepFailed, match="waits for an answer to the prompt 'Check DNS'"):
            step.apply(ctx, step.plan(ctx.read_only()))
        # The plan waits in SRM; a resume follows that test instead of starting another, and this time the
        # runbook lets srmctl answer the prompt.
        allowed = rb.model_copy(update={"prompts": rb.prompts.model_copy(update={"dismiss": ("Check D*",)})})
        resumed = StepContext(allowed, ctx.sites, events, dr_sites=ctx.dr_sites, confirmed=True)
        assert [a.kind for a in step.plan(resumed.read_only())] == ["follow_test"]
        step.apply(resumed, step.plan(resumed.read_only()))
        assert step.verify(resumed.read_only()).ok
        assert [r["prompt"] for r in events.records("prompt_answered")] == ["Check DNS"]
        assert _run(ctx, "plan.cleanup") == ("cleanup",)


def _planned_migration_then_protection_restore(pm: LabConfig, tmp_path: Path) -> None:
    rb = runbook(tmp_path)
    rb = rb.model_copy(update={"prompts": rb.prompts.model_copy(update={"dismiss": ("Call the mail team",)})})
    with step_context(pm, rb, Recorder()) as ctx:
        assert _run(ctx, "plan.migrate") == ("migrate",)
        kinds = _run(ctx, "protection.restore")
        assert {"remove_replication", "configure_replication", "create_group", "flip_plan_direction"} <= set(kinds)
        dr = ctx.dr("new-york")
        plan = next(p for p in dr.srm.plans() if p.name == "VR Failover")
        assert plan.protected_vc_guid == dr.local_vc_guid and plan.status == "READY_STATE"  # SRM names sites its way
        outgoing = dr.vr.replications(source_vc_guid=dr.local_vc_guid)
        assert sorted(r.name for r in outgoing) == sorted(ALL) and {r.state for r in outgoing} == {"OK"}


def test_the_failback_steps_in_order_on_one_lab(tmp_path: Path) -> None:
    with planned_migration_lab(tmp_path / "lab") as pm:
        for number, phase in enumerate(
            (
                _dry_run_plans_every_step_and_changes_nothing_in_srm_or_vr,
                _seeds_required_stops_before_configuring,
                _seeds_none_onto_the_old_disks_stops_before_configuring,
                _failback_sequence_step_by_step,
                _unlisted_prompt_stops_the_test_and_a_resume_follows_it,
                _planned_migration_then_protection_restore,
            )
        ):
            directory = tmp_path / f"{number}-{phase.__name__.strip('_')}"  # each phase's runbook apart
            directory.mkdir()
            phase(pm, directory)
