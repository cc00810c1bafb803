"""Snapshot export → destroy → restore → diff empty, against a real srmsim (no mocks of HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from srmsim_fixtures import launch, logged_in

from srmctl.adapters.dr import SrmClient
from srmctl.adapters.dr.models import CalloutSpec, ShutdownActionSettings, VmRecoverySettings
from srmctl.errors import RunbookInvalid
from srmctl.metadata.capture import built_in_titles, capture, custom_recovery_steps
from srmctl.metadata.diff import diff_snapshots
from srmctl.metadata.restore import apply_restore, plan_restore
from srmctl.metadata.snapshot import NicIp, PlanStep, Snapshot, SnapshotCallout, VmMetadata
from srmctl.srmsim.launcher import SrmsimHandle

pytestmark = pytest.mark.lab

PLAN = "VR Failover"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SrmsimHandle]:
    handle = launch(tmp_path_factory.mktemp("srmsim-metadata"), page_size=50)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def srm(sim: SrmsimHandle) -> Iterator[SrmClient]:
    client = logged_in(sim, "new-york")
    yield client
    client.close()


def destroy(srm: SrmClient) -> None:
    """What rebuilding the protection groups does to a plan: every customisation back to defaults."""
    plan = srm.plan_by_name(PLAN)
    for vm in srm.plan_vms(plan.id):
        srm.update_recovery_settings(
            plan.id,
            vm.id,
            VmRecoverySettings(
                priority="P3",
                startup_action="POWER_ON",
                ip_customization_type="AUTO",  # type: ignore[arg-type]
                shutdown_action_settings=ShutdownActionSettings(skip_shutdown_guest=False, timeout_seconds=300),
            ),
        )
    for view in ("test", "recovery"):
        for step in srm.recovery_steps(plan.id, view):
            if step.plan_callout_position_spec is not None:
                srm.delete_recovery_step(plan.id, view, step.id)
    srm.reconfigure_plan(plan.id, description="")


def test_export_destroy_restore_gives_an_empty_diff(sim: SrmsimHandle, srm: SrmClient) -> None:
    before = capture(srm, PLAN, site="new-york")
    assert before.vms["mail04"].pre_power_on and before.steps["recovery"]
    assert before.vms["web01"].dependencies == ("web02",)

    destroy(srm)
    lost = diff_snapshots(before, capture(srm, PLAN, site="new-york"))
    assert lost, "destroying the metadata must show in the diff"

    restore = plan_restore(srm, PLAN, before)
    kinds = {a.kind for a in restore.actions}
    assert {"vm_settings", "vm_dependencies", "plan_steps", "plan_description"} <= kinds
    apply_restore(srm, restore)
    assert diff_snapshots(before, capture(srm, PLAN, site="new-york")) == ()
    # Idempotent: a second restore finds nothing to do.
    assert plan_restore(srm, PLAN, before).actions == ()


def test_invalid_dependencies_are_refused_before_any_change(sim: SrmsimHandle, srm: SrmClient) -> None:
    snapshot = capture(srm, PLAN, site="new-york")
    web01, web02 = snapshot.vms["web01"], snapshot.vms["web02"]
    cyclic = snapshot.model_copy(
        update={"vms": {**snapshot.vms, "web02": web02.model_copy(update={"dependencies": ("web01",)})}}
    )
    with pytest.raises(RunbookInvalid, match="cycle: web01 → web02 → web01"):
        plan_restore(srm, PLAN, cyclic)
    cross = snapshot.model_copy(update={"vms": {**snapshot.vms, "web01": web01.model_copy(update={"priority": "P1"})}})
    with pytest.raises(RunbookInvalid, match="only within one group"):
        plan_restore(srm, PLAN, cross)
    assert diff_snapshots(snapshot, capture(srm, PLAN, site="new-york")) == ()


def test_unknown_vms_are_reported_not_guessed(sim: SrmsimHandle, srm: SrmClient) -> None:
    snapshot = capture(srm, PLAN, site="new-york")
    extra = snapshot.model_copy(update={"vms": {**snapshot.vms, "ghost01": VmMetadata(priority="P5")}})
    restore = plan_restore(srm, PLAN, extra)
    assert restore.unplaced == ("ghost01",) and restore.actions == ()


text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30)
callouts = st.builds(
    SnapshotCallout,
    type=st.sampled_from(["RUN_ON_SRM_SERVER", "RUN_ON_VM", "PROMPT"]),
    name=text,
    content=text,
    timeout=st.integers(0, 3600).map(lambda s: timedelta(seconds=s)),
)


@st.composite
def plan_metadata(draw: st.DrawFn, base: Snapshot) -> Snapshot:
    names = sorted(base.vms)
    priorities = {n: draw(st.sampled_from(["P1", "P2", "P3", "P4", "P5"])) for n in names}
    vms = {}
    for index, name in enumerate(names):
        same_group = [n for n in names[:index] if priorities[n] == priorities[name]]  # a DAG within one group
        nics = draw(st.lists(st.sampled_from(base.vms[name].ip or (NicIp(nic=0),)), max_size=1))
        vms[name] = VmMetadata(
            priority=priorities[name],  # type: ignore[arg-type]
            dependencies=tuple(draw(st.lists(st.sampled_from(same_group), unique=True)) if same_group else []),
            startup=base.vms[name].startup,
            shutdown=base.vms[name].shutdown,
            pre_power_on=tuple(draw(st.lists(callouts, max_size=2))),
            post_power_on=tuple(draw(st.lists(callouts, max_size=2))),
            ip=tuple(nics),
            ip_customization="MANUAL" if nics else "AUTO",
        )
    steps = tuple(
        PlanStep(position=i, type="PROMPT", name=draw(text), content=draw(text))
        for i in sorted(draw(st.sets(st.integers(0, 3), max_size=2)))
    )
    return base.model_copy(
        update={
            "vms": vms,
            "steps": {"recovery": steps} if steps else {},
            "plan": base.plan.model_copy(update={"description": draw(text)}),
        }
    )


def test_random_metadata_round_trips_exactly(sim: SrmsimHandle, srm: SrmClient, tmp_path: Path) -> None:
    base = capture(srm, PLAN, site="new-york")

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(plan_metadata(base))
    def round_trip(wanted: Snapshot) -> None:
        apply_restore(srm, plan_restore(srm, PLAN, wanted))
        assert diff_snapshots(wanted, capture(srm, PLAN, site="new-york")) == ()
        assert plan_restore(srm, PLAN, wanted).actions == ()

    round_trip()
    apply_restore(srm, plan_restore(srm, PLAN, base))
    assert custom_recovery_steps(srm, srm.plan_by_name(PLAN).id, "recovery") == base.steps["recovery"]


def test_lab_plan_holds_exactly_the_topologys_metadata(sim: SrmsimHandle, srm: SrmClient) -> None:
    """One vocabulary: what the topology file says is what a snapshot of the seeded plan says, IPv6 too."""
    from srmctl.labkit.topology import load_topology

    plan = next(p for p in load_topology().recovery_plans if p.name == PLAN)
    live = capture(srm, PLAN, site="new-york")
    for name, meta in plan.vms.items():
        expected = VmMetadata.model_validate(meta)
        got = live.vms[name].model_copy(update={"ip_customization": None})
        assert got == expected, name
    assert live.vms["web01"].ip[0].recovery is not None and live.vms["web01"].ip[0].recovery.ipv6 is not None
    # The topology gives positions only; a capture also records the built-in step each custom step follows.
    assert all(s.after is not None for steps in live.steps.values() for s in steps)
    assert {v: tuple(PlanStep.model_validate(s) for s in steps) for v, steps in plan.steps.items()} == {
        v: tuple(s.model_copy(update={"after": None}) for s in steps) for v, steps in live.steps.items()
    }


def test_secrets_in_callouts_are_never_written_in_clear(sim: SrmsimHandle, srm: SrmClient, tmp_path: Path) -> None:
    from srmctl.metadata.snapshot import write_snapshot

    base = capture(srm, PLAN, site="new-york")
    secret = SnapshotCallout(
        type="RUN_ON_SRM_SERVER", name="Mount share", content="net use s: /user:svc password=hunter2"
    )
    with_secret = base.model_copy(
        update={"vms": {**base.vms, "db01": base.vms["db01"].model_copy(update={"pre_power_on": (secret,)})}}
    )
    apply_restore(srm, plan_restore(srm, PLAN, with_secret))

    snapshot = capture(srm, PLAN, site="new-york")
    stored = snapshot.vms["db01"].pre_power_on[0].content
    assert "hunter2" not in stored and stored.startswith("net use s: /user:svc password=«redacted:")
    path = write_snapshot(snapshot, tmp_path / "snap.yaml")
    assert "hunter2" not in path.read_text()

    # Something else changes: the restore keeps the real secret SRM still has (matched by its hash).
    plan = srm.plan_by_name(PLAN)
    srm.set_priority(plan.id, srm.plan_vm_by_name(plan.id, "db01").id, "P5")
    apply_restore(srm, plan_restore(srm, PLAN, snapshot))
    live = srm.recovery_settings(plan.id, srm.plan_vm_by_name(plan.id, "db01").id).recovery_settings
    assert live.priority.value == snapshot.vms["db01"].priority  # type: ignore[union-attr]
    assert live.pre_power_on_steps[0].content == secret.content
    # SRM lost it (groups rebuilt): the marker is never written back; the operator is told to re-enter it.
    destroy(srm)
    with pytest.raises(RunbookInvalid, match="Mount share.*secret"):
        plan_restore(srm, PLAN, snapshot)
    apply_restore(srm, plan_restore(srm, PLAN, base))


def test_custom_steps_follow_their_built_in_step_when_the_list_differs(sim: SrmsimHandle, srm: SrmClient) -> None:
    """SRM's built-in steps differ by view mode and direction: with hosts in standby at the recovery site the
    recovery view gains "Restore recovery site hosts from standby" before "Prepare storage". A custom step
    captured after "Prepare storage" is restored after it, not at its old index (which now points elsewhere)."""
    base = capture(srm, PLAN, site="new-york")
    plan_id = srm.plan_by_name(PLAN).id
    titles = built_in_titles(srm, plan_id, "recovery")
    top = [s for s in srm.recovery_steps(plan_id, "recovery") if s.depth == 0]
    position = next(i for i, s in enumerate(top) if s.title == "Prepare storage") + 1
    srm.create_plan_callout(
        plan_id,
        "recovery",
        CalloutSpec(
            name="Check the array",
            content="ok?",
            callout_type="PROMPT",
            timeout_seconds=0,  # type: ignore[arg-type]
            position=position,
        ),
    )
    before = capture(srm, PLAN, site="new-york")
    step = next(s for s in before.steps["recovery"] if s.name == "Check the array")
    assert step.after == "Prepare storage"
    try:
        sim.standby_hosts("new-jersey")
        after_titles = built_in_titles(srm, plan_id, "recovery")
        assert after_titles != titles and "Restore recovery site hosts from standby" in after_titles
        # A snapshot without anchors (positions only) would put the step after the new built-in step.
        old_style = before.model_copy(
            update={
                "steps": {v: tuple(s.model_copy(update={"after": None}) for s in st) for v, st in before.steps.items()}
            }
        )
        destroy(srm)
        apply_restore(srm, plan_restore(srm, PLAN, old_style))
        misplaced = next(s for s in custom_recovery_steps(srm, plan_id, "recovery") if s.name == "Check the array")
        assert misplaced.after == "Restore recovery site hosts from standby"

        destroy(srm)
        apply_restore(srm, plan_restore(srm, PLAN, before))
        live = custom_recovery_steps(srm, plan_id, "recovery")
        assert [(s.name, s.after) for s in live] == [(s.name, s.after) for s in before.steps["recovery"]]
        assert next(s for s in live if s.name == "Check the array").position == step.position + 1
        assert diff_snapshots(before, capture(srm, PLAN, site="new-york")) == ()
        assert plan_restore(srm, PLAN, before).actions == ()
    finally:
        sim.standby_hosts("new-jersey", on=False)
        apply_restore(srm, plan_restore(srm, PLAN, base))
    assert custom_recovery_steps(srm, plan_id, "recovery") == base.steps["recovery"]


def test_a_step_whose_built_in_step_is_gone_is_refused_before_any_change(sim: SrmsimHandle, srm: SrmClient) -> None:
    base = capture(srm, PLAN, site="new-york")
    steps = tuple(s.model_copy(update={"after": "Dance the rain dance"}) for s in base.steps["recovery"])
    with pytest.raises(RunbookInvalid, match="Dance the rain dance"):
        plan_restore(srm, PLAN, base.model_copy(update={"steps": {"recovery": steps}}))
    assert capture(srm, PLAN, site="new-york").steps == base.steps
