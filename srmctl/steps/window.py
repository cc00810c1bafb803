"""Bounded concurrency for a step's per-VM SRM/VR work: a window of tasks started one after another and
awaited together (see docs/architecture.md, "Concurrency and batching").

Starting a task is a quick call; the waiting is what takes time. So instead of a thread per task, a step
starts up to ``runbook.concurrency`` tasks, awaits them with one poll loop
(:meth:`~srmctl.adapters.dr.DrClient.poll_tasks`), and starts the next as others end. Each item's end is
journaled (``done``) only once its task has ended, and its start is preceded by the ``before_call`` pause
point the crash tests use, so a kill with several tasks in flight leaves a journal that says exactly which
actions finished: a resume plans the rest again from live state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from srmctl.adapters.dr import DrClient, Pace
from srmctl.adapters.dr.models import Task
from srmctl.errors import SrmctlError
from srmctl.steps.context import StepContext, joined_failure

T = TypeVar("T")

#: What a step waits for a single SRM/VR change at most (a plan run has its own, longer, limit).
TASK_TIMEOUT = 3600.0


def run_tasks(
    ctx: StepContext,
    client: DrClient,
    items: Iterable[T],
    start: Callable[[T], Task | None],
    done: Callable[[T, Task], None],
    *,
    limit: int | None = None,
    timeout: float = TASK_TIMEOUT,
) -> None:
    """For each item, ``start(item)`` starts its task (or returns None when there is nothing to wait for, having
    journaled the item itself); at most ``limit`` (default ``runbook.concurrency``) tasks are in flight, and
    ``done(item, task)`` runs as each ends successfully. Every item is attempted; failures (a start refused, a
    task ending in ERROR, a ``done`` that raises) are raised together at the end, as :meth:`StepContext.each`
    does."""
    window = max(1, limit if limit is not None else ctx.runbook.concurrency)
    pending: list[tuple[T, Task]] = []
    errors: list[SrmctlError] = []

    polled_before = False  # after the first round, the window's other tasks were read a moment ago
    pace = Pace()

    def settle(keep: int) -> None:
        nonlocal polled_before
        while len(pending) > keep:
            polled = client.poll_tasks(
                [task for _, task in pending],
                timeout=timeout,
                any_done=keep > 0,
                look_at_once=not polled_before,
                pace=pace,
            )
            polled_before = True
            still = []
            for (item, _), task in zip(pending, polled, strict=True):
                if not task.done:
                    still.append((item, task))
                    continue
                try:
                    failure = client.failure(task)
                    if failure is not None:
                        raise failure
                    done(item, task)
                except SrmctlError as error:
                    errors.append(error)
            pending[:] = still

    for item in items:
        try:
            task = start(item)
        except SrmctlError as error:
            errors.append(error)
            continue
        if task is not None:
            pace.started(task)
            pending.append((item, task))
            settle(window - 1)
    settle(0)
    if errors:
        raise joined_failure(errors)


def await_tasks(
    ctx: StepContext,
    client: DrClient,
    started: Iterable[tuple[T, Task]],
    done: Callable[[T, Task], None],
    *,
    timeout: float = TASK_TIMEOUT,
) -> None:
    """Tasks already started (e.g. by one batched request) awaited together, ``done`` as each ends."""
    pairs = list(started)
    tasks = dict(pairs)
    run_tasks(ctx, client, [item for item, _ in pairs], tasks.__getitem__, done, limit=len(pairs) or 1, timeout=timeout)
