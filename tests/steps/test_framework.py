"""The step framework without a lab: actions as values, the registry, step selection."""

from __future__ import annotations

import inspect

import pytest

from srmctl.adapters.dr import Credentials, SrmClient, VrClient
from srmctl.adapters.dr.site import DrPairing
from srmctl.engine.executor import select_steps
from srmctl.errors import UsageError
from srmctl.runbook import STEP_NAMES, Runbook
from srmctl.steps import Action, DrOps, Impact, VCenterOps, available_steps, get_step
from srmctl.steps.ops import is_mutating

RUNBOOK = {
    "version": 1, "name": "t", "scenario": "planned-migration",
    "sites": {s: {"vcenter": {"host": f"vc-{s}", "user": "u", "password_env": "P"}, "srm": {"host": "s"},
                  "vr": {"host": "v"}} for s in ("ny", "nj")},
    "failback": {"from": "nj", "to": "ny"}, "vms": [{"name": "mail04"}], "replication": {"rpo": "15m"},
    "protection_group": {"name": "pg"}, "recovery_plan": {"name": "rp"},
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
    assert {"preflight.check", "orphans.unregister", "replication.cleanup", "plan.detach_groups", "groups.delete",
            "replication.reverse", "groups.create", "plan.attach_groups", "plan.test", "plan.cleanup",
            "plan.migrate", "protection.restore", "plan.reprotect"} <= set(names)
    assert all(s.summary() and s.impact in Impact for s in available_steps())
    assert get_step("orphans.unregister").impact is Impact.HIGH


def test_every_runbook_step_is_implemented_and_unknown_names_are_errors() -> None:
    assert [s.name for s in available_steps()] == list(STEP_NAMES)
    with pytest.raises(ValueError):
        get_step("nope.nope")


def test_every_changing_facade_method_is_marked_mutating() -> None:
    # The read-only guarantee of dry runs rests on this list: a new mutating method must be marked.
    methods = {n for n, m in inspect.getmembers(VCenterOps, inspect.isfunction) if is_mutating(m)}
    assert methods == {"unregister", "set_marker"}
    dr_methods = {n for n, m in inspect.getmembers(DrOps, inspect.isfunction) if is_mutating(m)}
    assert dr_methods == {"create_group", "reconfigure_group", "delete_group", "create_plan", "reconfigure_plan",
                          "test_plan", "cleanup_plan", "migrate_plan", "reprotect_plan", "dismiss_prompt",
                          "configure_replications", "unconfigure_replication", "delete_replication",
                          "apply_metadata_restore"}


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
    assert select_steps(rb, only=["orphans.unregister", "preflight.check"]) == ("preflight.check",
                                                                               "orphans.unregister")
    assert select_steps(rb, from_step="orphans.unregister", until_step="replication.cleanup") == (
        "orphans.unregister", "replication.cleanup")
    with pytest.raises(UsageError, match="unknown step"):
        select_steps(rb, only=["orphans.delete"])
    with pytest.raises(UsageError, match="no steps selected"):
        select_steps(rb, from_step="groups.delete", until_step="preflight.check")


def test_read_only_dr_view_refuses_mutations_before_any_call() -> None:
    from srmctl.steps import ReadOnlyViolation

    creds = Credentials("u", "p")
    srm, vr = SrmClient("127.0.0.1", 9, credentials=creds), VrClient("127.0.0.1", 9, credentials=creds)
    view = DrOps("new-york", srm, vr, DrPairing("pairing", "pairing", "vc-a", "vc-b")).read_only_view()
    with pytest.raises(ReadOnlyViolation, match="delete_group refused on new-york.*SRM/VR"):
        view.delete_group("g")
    with pytest.raises(ReadOnlyViolation):
        view.unconfigure_replication("r")
    assert not srm.calls and not vr.calls  # refused before anything went over the wire
