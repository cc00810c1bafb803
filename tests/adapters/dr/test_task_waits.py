"""Awaiting many SRM/VR tasks together against a real srmsim: one poll loop, one filtered ``GET /tasks`` per
page of ids and round, typed errors per task (see docs/architecture.md, "Concurrency and batching")."""

from __future__ import annotations

import time

import pytest
from srmsim_fixtures import make_client

from srmctl.adapters.dr.models import Priority, TaskStatus
from srmctl.adapters.dr.tasks import FIRST_PAUSE
from srmctl.errors import OperationFailed

LIST = "GET /tasks"
ONE = "GET /tasks/{taskId}"


def _plan_vms(srm):
    plan = srm.plan_by_name("VR Failover")
    return plan.id, [vm.id for vm in srm.plan_vms(plan.id)]


def test_many_tasks_are_awaited_with_filtered_listings_not_one_read_each(srmsim):
    srm = make_client(srmsim, "new-york")
    plan_id, vms = _plan_vms(srm)
    tasks = [srm.set_priority(plan_id, vm, Priority.P3, wait=False) for vm in vms]
    srmsim.slow_tasks("*", factor=20, count=len(vms))  # the next ones run long enough to be polled
    tasks += [srm.set_priority(plan_id, vm, Priority.P4, wait=False) for vm in vms]
    ended = srm.wait_tasks(tasks, timeout=60)
    assert [t.id for t in ended] == [t.id for t in tasks]
    assert all(t.status == TaskStatus.SUCCESS for t in ended)
    # never one read per task: only a round in which a single task is still pending reads it by id (on a loaded
    # machine the last task can end a round after the others)
    assert srm.calls[ONE] <= 2
    rounds_with_pages = srm.calls[LIST]
    # srmsim serves pages of one item here (page_size 1): at most one GET per pending task per round, and far
    # fewer rounds than a wait per task would take
    assert 0 < rounds_with_pages <= len(tasks) * 8


def test_a_failed_task_among_many_raises_its_own_error_after_all_ended(srmsim):
    srm = make_client(srmsim, "new-york")
    plan_id, vms = _plan_vms(srm)
    srmsim.fail_task("*", message="priority store exploded")
    tasks = [srm.set_priority(plan_id, vm, Priority.P2, wait=False) for vm in vms]
    with pytest.raises(OperationFailed) as caught:
        srm.wait_tasks(tasks, timeout=60)
    assert tasks[0].id in caught.value.message and "priority store exploded" in caught.value.message
    ended = srm.poll_tasks(tasks, timeout=60)
    assert [t.status for t in ended] == [TaskStatus.ERROR] + [TaskStatus.SUCCESS] * (len(tasks) - 1)
    assert srm.failure(ended[0]) is not None and srm.failure(ended[1]) is None


def test_any_done_returns_once_one_task_ended(srmsim):
    srm = make_client(srmsim, "new-york")
    plan_id, vms = _plan_vms(srm)
    srmsim.slow_tasks("*", factor=2000, count=1)
    slow = srm.set_priority(plan_id, vms[0], Priority.P1, wait=False)
    fast = srm.set_priority(plan_id, vms[1], Priority.P1, wait=False)
    polled = srm.poll_tasks([slow, fast], timeout=60, any_done=True)
    assert polled[1].done and not polled[0].done
    srm.wait_tasks([slow], timeout=120)


def test_tasks_together_keeps_a_window_and_raises_failures_at_the_end(srmsim):
    srm = make_client(srmsim, "new-york")
    plan_id, vms = _plan_vms(srm)
    srmsim.fail_task("*", message="nope")
    with pytest.raises(OperationFailed, match="nope"), srm.tasks_together(limit=2):
        started = [srm.set_priority(plan_id, vm, Priority.P5) for vm in vms]  # wait=True: handed to the window
        assert not all(t.done for t in started)  # returned as started, not awaited one by one
    # every task ended by the end of the block, the failing one included
    ended = srm.poll_tasks(started, timeout=1)
    assert all(t.done for t in ended)
    assert [srm.recovery_settings(plan_id, vm).recovery_settings.priority for vm in vms[1:]] == [Priority.P5] * (
        len(vms) - 1
    )


def test_a_windows_pause_follows_how_long_its_tasks_take():
    """The window's looks are capped at a quarter of the median time its tasks took to be seen ended: half-second
    tasks are looked at about every 0.12 s, not after a back-off to seconds; with nothing seen yet, or tasks
    that take long, the usual back-off stands."""
    from srmctl.adapters.dr import Pace
    from srmctl.adapters.dr.models import Task

    pace = Pace()
    assert pace.longest_pause(2.0) == 2.0  # nothing seen yet
    tasks = [Task.model_construct(id=f"t{n}", status=TaskStatus.RUNNING) for n in range(3)]
    for task in tasks:
        pace.started(task)
    time.sleep(0.4)
    pace.seen(tasks)  # still running: nothing learnt
    assert pace.longest_pause(2.0) == 2.0
    pace.seen([t.model_copy(update={"status": TaskStatus.SUCCESS}) for t in tasks])
    assert 0.1 <= pace.longest_pause(2.0) < 0.2
    assert pace.longest_pause(0.05) == 0.05  # never above the usual longest pause
    slow = Task.model_construct(id="slow", status=TaskStatus.RUNNING)
    fast = Pace()
    fast.started(slow)
    fast.seen([slow.model_copy(update={"status": TaskStatus.SUCCESS})])
    assert fast.longest_pause(2.0) == FIRST_PAUSE  # never below the first pause
