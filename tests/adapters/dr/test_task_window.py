"""The step window (srmctl/steps/window.py) on a real srmsim: at most `concurrency` tasks in flight, each
item's `done` only once its task ended, every item attempted and the failures raised together."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from srmsim_fixtures import make_client

from srmctl.adapters.dr.models import Priority, Task
from srmctl.errors import StepFailed
from srmctl.steps.window import run_tasks


def test_window_bounds_tasks_in_flight_and_joins_failures(srmsim: Any) -> None:
    srm = make_client(srmsim, "new-york")
    plan = srm.plan_by_name("VR Failover")
    vms = [vm.id for vm in srm.plan_vms(plan.id)]
    ctx: Any = SimpleNamespace(runbook=SimpleNamespace(concurrency=2))
    in_flight: list[str] = []
    most = [0]
    done: list[str] = []

    def start(vm: str) -> Task:
        task = srm.set_priority(plan.id, vm, Priority.P4, wait=False)
        in_flight.append(task.id)
        most[0] = max(most[0], len(in_flight))
        return task

    def finish(vm: str, task: Task) -> None:
        in_flight.remove(task.id)
        done.append(vm)

    run_tasks(ctx, srm, vms, start, finish)
    assert most[0] == 2  # never more than `concurrency` started and not yet seen to end
    assert sorted(done) == sorted(vms) and not in_flight

    done.clear()
    srmsim.fail_task("*", message="first one fails")
    with pytest.raises(StepFailed, match="first one fails"):
        run_tasks(ctx, srm, vms, start, finish)
    assert sorted(done) == sorted(vms[1:])  # every other VM was still done
