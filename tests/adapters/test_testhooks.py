"""The crash tests' hooks, read from an environment given here (the process's own is read once, at import)."""

from __future__ import annotations

import time

from srmctl.adapters.testhooks import Hooks, KillAt, parse_pauses


def test_pause_points_parse() -> None:
    assert parse_pauses("before_call=30, after_call=0.5,after_action") == {
        "before_call": 30.0,
        "after_call": 0.5,
        "after_action": 0.0,
    }
    assert parse_pauses("") == {}


def test_before_call_waits_only_once_the_process_has_journaled() -> None:
    hooks = Hooks({"SRMCTL_TEST_PAUSE": "before_call=0.2"})
    started = time.monotonic()
    hooks.pause("before_call")  # the lock's marker: no journal yet, no pause
    assert time.monotonic() - started < 0.1
    hooks.journalled.set()
    hooks.pause("before_call")
    assert time.monotonic() - started >= 0.2


def test_kill_at_the_nth_event_or_the_nth_of_a_kind() -> None:
    nth = KillAt("3")
    assert [nth.due(kind) for kind in ("a", "b", "c", "d")] == [False, False, True, False]
    of_kind = KillAt("step_verified#2")
    kinds = ("step_verified", "action_done", "step_verified", "step_verified")
    assert [of_kind.due(kind) for kind in kinds] == [False, False, True, False]
    assert KillAt("run_finished").due("run_finished")
    assert not any(KillAt("").due("x") for _ in range(3))
    assert not KillAt("0").due("x")
