"""The step framework without a lab: actions as values, the registry, step selection."""

from __future__ import annotations

import inspect
import json
from dataclasses import astuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from srmctl.adapters.dr import Credentials, SrmClient, VrClient
from srmctl.adapters.dr.site import DrPairing
from srmctl.adapters.vcenter.facade import is_mutating
from srmctl.engine import events as ev
from srmctl.engine.run_plan import select_steps
from srmctl.errors import Aborted, ConnectionFailed, GuardrailViolation, StepFailed, UsageError
from srmctl.runbook import STEP_NAMES, Runbook
from srmctl.steps import Action, DrSite, Impact, VCenterOps, available_steps, get_step
from srmctl.steps.executor import STEP_EVENTS, SUBSTEP_EVENTS, EventKinds, failures_named

RUNBOOK = {
    "version": 1,
    "name": "t",
    "scenario": "planned-migration",
    "sites": {
        s: {"vcenter": {"host": f"vc-{s}", "user": "u", "password_env": "P"}, "srm": {"host": "s"}, "vr": {"host": "v"}}
        for s in ("ny", "nj")
    },
    "failback": {"from": "nj", "to": "ny"},
    "vms": [{"name": "mail04"}],
    "replication": {"rpo": "15m"},
    "protection_group": {"name": "pg"},
    "recovery_plan": {"name": "rp"},
}


def test_actions_are_frozen_values_that_survive_the_journal() -> None:
    action = Action.make("unregister", "new-york", ["mail04"], moref="vm-39", power_state="poweredOff")
    assert Action.from_dict(action.to_dict()) == action
    assert action.detail("moref") == "vm-39"
    assert action.describe() == "unregister mail04 at new-york (moref=vm-39, power_state=poweredOff)"
    with pytest.raises(AttributeError):
        action.kind = "destroy"  # type: ignore[misc]


def test_registry_lists_only_implemented_steps_in_default_order() -> None:
    names = [s.name for s in available_steps()]
    assert names == [n for n in STEP_NAMES if n in names]  # the default order
    assert {
        "preflight.check",
        "orphans.unregister",
        "replication.cleanup",
        "plan.detach_groups",
        "groups.delete",
        "replication.reverse",
        "groups.create",
        "plan.attach_groups",
        "plan.test",
        "plan.cleanup",
        "plan.migrate",
        "protection.restore",
        "plan.reprotect",
    } <= set(names)
    assert all(s.summary() and s.impact in Impact for s in available_steps())
    assert get_step("orphans.unregister").impact is Impact.HIGH


def test_every_runbook_step_is_implemented_and_unknown_names_are_errors() -> None:
    assert [s.name for s in available_steps()] == list(STEP_NAMES)
    with pytest.raises(ValueError):
        get_step("nope.nope")


def test_every_changing_facade_method_is_marked_mutating() -> None:
    # The read-only guarantee of dry runs rests on this list: a new mutating method must be marked.
    methods = {n for n, m in inspect.getmembers(VCenterOps, inspect.isfunction) if is_mutating(m)}
    assert methods == {"unregister", "set_marker", "power_off_many"}
    # The SRM and VR clients keep no such list: their calls are guarded by HTTP verb (tests/contract/test_changes.py).
    # DrSite only holds the bound clients: it has no methods of its own that could change anything.
    assert not {n for n, m in inspect.getmembers(DrSite, inspect.isfunction) if is_mutating(m)}


def test_read_only_view_refuses_mutations_before_any_call() -> None:
    from srmctl.steps import ReadOnlyViolation

    ops = VCenterOps(session=None, site="new-york", read_only=True)  # type: ignore[arg-type]
    with pytest.raises(ReadOnlyViolation, match="read-only"):
        ops.unregister("vm-1")
    with pytest.raises(ReadOnlyViolation):
        ops.set_marker("f", "v")


def test_step_selection() -> None:
    rb = Runbook.model_validate(RUNBOOK)
    assert select_steps(rb)[0] == "preflight.check" and len(select_steps(rb)) == len(STEP_NAMES) - 1
    assert select_steps(rb, only=["orphans.unregister", "preflight.check"]) == ("preflight.check", "orphans.unregister")
    assert select_steps(rb, from_step="orphans.unregister", until_step="replication.cleanup") == (
        "orphans.unregister",
        "replication.cleanup",
    )
    with pytest.raises(UsageError, match="unknown step"):
        select_steps(rb, only=["orphans.delete"])
    with pytest.raises(UsageError, match="no steps selected"):
        select_steps(rb, from_step="groups.delete", until_step="preflight.check")


def test_read_only_dr_view_refuses_mutations_before_any_call() -> None:
    from srmctl.steps import ReadOnlyViolation

    creds = Credentials("u", "p")
    srm, vr = SrmClient("127.0.0.1", 9, credentials=creds), VrClient("127.0.0.1", 9, credentials=creds)
    view = DrSite("new-york", srm, vr, DrPairing("pairing", "pairing", "vc-a", "vc-b")).read_only_view()
    with pytest.raises(
        ReadOnlyViolation,
        match=r"DELETE /pairings/\{pairing_id\}/protection-management/groups/\{group_id\} refused on new-york.*SRM",
    ):
        view.srm.delete_group("g", wait=False)
    with pytest.raises(ReadOnlyViolation):
        view.vr.unconfigure_replication("r", wait=False)
    with pytest.raises(ReadOnlyViolation, match=r"POST .*/actions/unconfigure refused on new-york.*VR"):
        view.vr.unconfigure_replication("r", wait=True)
    assert not view.srm.calls and not view.vr.calls  # refused before anything went over the wire
    assert not srm.calls and not vr.calls


# --- typed action details ------------------------------------------------------------------------------------

scalars = st.one_of(
    st.text(max_size=12), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False, allow_infinity=False)
)
details = st.dictionaries(
    st.from_regex(r"[a-z_]{1,10}", fullmatch=True),
    st.one_of(scalars, st.tuples(scalars, scalars), st.lists(scalars, max_size=4).map(tuple)),
    max_size=5,
)


def _typed(action: Action) -> list[object]:
    """The details with every value's type (True == 1 == 1.0 in Python: equality alone would miss a change)."""

    def typed(v: object) -> object:
        return tuple((type(x), x) for x in v) if isinstance(v, tuple) else (type(v), v)

    return [(k, typed(v)) for k, v in action.details]


@given(details=details, high_impact=st.booleans())
def test_action_details_keep_their_types_through_the_journal(details: dict[str, object], high_impact: bool) -> None:
    action = Action.make("configure_replication", "new-jersey", ["mail04"], high_impact=high_impact, **details)  # type: ignore[arg-type]
    back = Action.from_dict(json.loads(json.dumps(action.to_dict(), allow_nan=False)))
    assert back == action and hash(back) == hash(action)
    assert _typed(back) == _typed(action)


def test_listed_details_are_tuples_not_joined_text() -> None:
    action = Action.make(
        "remove_groups_from_plan",
        "new-jersey",
        ["VR Failover"],
        plan_id="p-1",
        group_ids=["g-1", "g-2"],
        rpo=15,
        retain_replica_disks=True,
    )
    assert action.listed("group_ids") == ("g-1", "g-2") and action.listed("absent") == ()
    assert action.detail("plan_id") == "p-1"
    assert action.to_dict()["details"] == {
        "group_ids": ["g-1", "g-2"],
        "plan_id": "p-1",
        "rpo": 15,
        "retain_replica_disks": True,
    }
    assert action.describe().endswith("(group_ids=[g-1, g-2], plan_id=p-1, retain_replica_disks=True, rpo=15)")
    assert action.with_details(substep="groups.delete").detail("substep") == "groups.delete"
    with pytest.raises(TypeError, match="not text"):
        action.detail("rpo")
    with pytest.raises(TypeError, match="not a list of text"):
        action.listed("plan_id")
    for bad in ({"a": 1}, float("nan"), [["nested"]]):
        with pytest.raises(TypeError, match="action detail x="):
            Action.make("k", "s", ["t"], x=bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="a list, not a tuple"):
        Action("k", "s", ("t",), details=(("x", ["a"]),))  # type: ignore[arg-type]


# --- the executor's failure mapping --------------------------------------------------------------------------


def test_errors_inside_a_step_become_step_failures_naming_it() -> None:
    def raised(error: Exception) -> BaseException:
        with pytest.raises(BaseException) as caught, failures_named("groups.delete"):
            raise error
        return caught.value

    assert str(raised(StepFailed("nothing left"))) == "groups.delete: nothing left"
    named = StepFailed("groups.delete: refusing")
    assert raised(named) is named
    guard = raised(GuardrailViolation("refusing to delete: g"))
    assert isinstance(guard, StepFailed) and str(guard) == "groups.delete: refusing to delete: g"
    # A sub-step's failure, raised through the step running the sequence, names both.
    with (
        pytest.raises(StepFailed, match=r"^protection.restore: groups.delete: refusing$"),
        failures_named("protection.restore"),
    ):
        raise named
    for kept in (ConnectionFailed("down"), Aborted("no"), UsageError("bad")):
        assert raised(kept) is kept


def test_the_executor_journals_the_event_kinds_the_engine_reads() -> None:
    assert EventKinds(ev.STEP_STARTED, ev.STEP_PLANNED, ev.STEP_VERIFIED, ev.STEP_FAILED) == STEP_EVENTS
    assert not {*astuple(SUBSTEP_EVENTS)} & {*astuple(STEP_EVENTS)}
