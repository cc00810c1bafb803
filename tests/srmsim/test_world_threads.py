"""srmsim's task workers (World.start_task, World.wait_idle): wait_idle waits for every worker, including
tasks that a task starts (a configure task starts its replication's initial sync); a seeding that takes long
leaves its threads' stacks in srmsim's log."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from srmsim_fixtures import launch

from srmctl.srmsim.stall import HEADER
from srmctl.srmsim.world import TaskContext, World


def test_wait_idle_waits_for_a_task_that_a_task_started(monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(tick=0.001)
    real_start = threading.Thread.start

    def slow_start(thread: threading.Thread) -> None:
        # A thread that takes a while to start (a loaded machine): wait_idle runs meanwhile.
        if threading.current_thread().name.startswith("srmsim-"):
            time.sleep(0.3)
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", slow_start)
    done = threading.Event()

    def child(ctx: TaskContext) -> None:
        time.sleep(0.2)
        done.set()

    def parent(ctx: TaskContext) -> None:
        world.start_task("a", "vr-sync", "Initial sync of vm", None, None, child)

    world.start_task("a", "vr", "Configure replication for vm", None, None, parent)
    time.sleep(0.05)  # the parent is running and about to start the child
    world.wait_idle(timeout=10)
    assert done.is_set()


@pytest.mark.lab
def test_a_seeding_that_takes_long_leaves_every_threads_stack_in_the_log(tmp_path: Path) -> None:
    # A stalled 'lab up' at 1,000 VMs once left nothing to read: srmsim now dumps its threads' stacks to its
    # log (stderr) every stall_dump_seconds until it is ready.
    handle = launch(tmp_path, scenario="planned-migration", stall_dump_seconds=0.01)
    try:
        log = (tmp_path / "work" / "srmsim.log").read_text()
    finally:
        handle.stop()
    assert HEADER in log
    assert "seed.py" in log
