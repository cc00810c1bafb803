"""srmsim's task-latency model (srmsim/latency.py): under a profile a task stays RUNNING until its duration
has passed, tasks started together end together, and a sync's time grows with the bytes it moves."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from srmsim_fixtures import launch, logged_in

from srmctl.srmsim.latency import FAST, REALISTIC, LatencyProfile, profile
from srmctl.srmsim.world import World

SHORT = LatencyProfile("test", seconds={"vr.pause": 0.8})


def test_a_task_is_running_until_its_duration_has_passed_then_succeeds() -> None:
    world = World(tick=0.001, latency=SHORT)
    task = world.start_task("a", "vr", "Pause replication of x", None, None, lambda ctx: "done", kind="vr.pause")
    time.sleep(0.4)
    with world.lock:
        assert task.status == "RUNNING"
        assert 0 < task.progress < 100  # progress moves with the time that passes
    world.wait_idle(timeout=5)
    assert (task.status, task.progress, task.result) == ("SUCCESS", 100, "done")
    assert task.completed is not None and task.started is not None
    assert task.completed - task.started >= 790


def test_tasks_started_together_end_together_not_one_after_another() -> None:
    world = World(tick=0.001, latency=SHORT)
    started = time.monotonic()
    tasks = [
        world.start_task("a", "vr", f"Pause replication of vm{i}", None, None, lambda ctx: None, kind="vr.pause")
        for i in range(20)
    ]
    world.wait_idle(timeout=10)
    elapsed = time.monotonic() - started
    assert all(t.status == "SUCCESS" for t in tasks)
    assert elapsed < 2 * 0.8  # serially they would take 16 s
    ends = [t.completed or 0 for t in tasks]
    assert max(ends) - min(ends) < 400


def test_fast_is_the_default_and_adds_no_time() -> None:
    world = World(tick=0.001)
    assert world.latency is FAST
    started = time.monotonic()
    world.start_task("a", "vr", "Configure replication for x", None, None, lambda ctx: None, kind="vr.configure")
    world.wait_idle(timeout=5)
    assert time.monotonic() - started < 0.5


def test_realistic_sync_time_is_proportional_to_the_bytes_moved() -> None:
    mb = 1024 * 1024
    base = REALISTIC.sync_seconds(0)
    assert base > 0
    assert REALISTIC.sync_seconds(400 * mb) - base == pytest.approx(2 * (REALISTIC.sync_seconds(200 * mb) - base))
    # A seeded sync compares blocks faster than it sends them.
    assert REALISTIC.sync_seconds(0, 400 * mb) < REALISTIC.sync_seconds(400 * mb)
    assert FAST.sync_seconds(400 * mb, 400 * mb) == 0
    # Realistic proportions: a VR configure takes seconds, a VM recovery longer than a plan step.
    assert 2 <= REALISTIC.duration("vr.configure") <= 5
    assert REALISTIC.duration("srm.plan.vm") > REALISTIC.duration("srm.plan.step")
    # A priority step powers its VMs on together: 100 VMs cost far less than 100 times one.
    assert REALISTIC.priority_step_seconds(100) < 5 * REALISTIC.priority_step_seconds(1)
    with pytest.raises(ValueError, match="unknown latency profile 'slow'"):
        profile("slow")


@pytest.mark.lab
def test_srmsim_serves_tasks_with_the_realistic_profile(tmp_path: Path) -> None:
    """Through the VR API of a real srmsim process started with ``latency: realistic``: two pauses started
    together are RUNNING before their second and both SUCCESS about a second later."""
    handle = launch(tmp_path, latency="realistic")
    try:
        vr = logged_in(handle, "new-york", "vr", poll_interval=0.05)
        replications = vr.replications()[:2]
        assert len(replications) == 2
        started = time.monotonic()
        tasks = [vr.pause_replication(r.id, wait=False) for r in replications]
        time.sleep(0.3)
        assert [vr.get_task(t.id).status for t in tasks] == ["RUNNING", "RUNNING"]
        done = [vr.wait_task(t, timeout=10) for t in tasks]
        elapsed = time.monotonic() - started
        assert [t.status for t in done] == ["SUCCESS", "SUCCESS"]
        assert REALISTIC.duration("vr.pause") <= elapsed < 2 * REALISTIC.duration("vr.pause") + 0.5
        # srmsim's own record of the two tasks (what the benchmark's lower bound is made of): each took the
        # profile's duration, measured from its start, not queued one behind the other
        records = {r["id"]: r for r in handle.task_records()}
        for task in tasks:
            record = records[task.id]
            assert (record["site"], record["api"], record["status"]) == ("new-york", "vr", "SUCCESS")
            took = (record["completed"] - record["started"]) / 1000
            assert REALISTIC.duration("vr.pause") - 0.05 <= took < REALISTIC.duration("vr.pause") + 0.5
    finally:
        handle.stop()
