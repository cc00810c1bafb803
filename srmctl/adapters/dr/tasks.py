"""Tasks, which SRM and VR offer identically: read one, read many in one listing, and await many together.

Awaiting is one poll loop over every task a caller waits for (see docs/architecture.md, "Concurrency and
batching"): it looks at once (a fast task is often done by the time its start call returns), then backs off,
and each round reads every pending task with ``GET /tasks?filter_property=id&filter=a&filter=b…`` (one request
per page of :data:`TASK_PAGE` ids), instead of one ``GET /tasks/{id}`` per task and round."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from srmctl.adapters.dr.models import Task, TaskStatus, text
from srmctl.adapters.dr.transport import Transport
from srmctl.adapters.dr.values import Params, ProgressCallback, TaskTimeout
from srmctl.adapters.guard import changed
from srmctl.errors import OperationFailed

#: Ids per ``GET /tasks`` request: the APIs' default page (``defaultResponsePageSize``) is 100 items, and 100
#: ids keep the query string well under common URL limits.
TASK_PAGE = 100
#: The first pause after a round that found tasks still running; doubled each round up to the client's
#: ``poll_interval`` (at least 2 s: appliances rate-limit the API gateway).
FIRST_PAUSE = 0.05


class Tasks:
    """Task starts, reads and waits of one SRM or VR client, over its transport."""

    def __init__(self, http: Transport) -> None:
        self.http = http
        self._window: _Window | None = None  # set inside tasks_together

    def task(self, method: str, template: str, *, body: Any = None, params: Params | None = None, **path: str) -> Task:
        """A call answering with a Task (202)."""
        response = self.http.request(
            method, template, body=body, params=params, expect=(200, 202), **cast(dict[str, Any], path)
        )
        return self.http.parse(Task, response.json(), template)

    def tasks(self, method: str, template: str, *, body: Any = None, **path: str) -> list[Task]:
        """Calls answering with ``TaskDrResponseList`` (one task per item, e.g. VR configure)."""
        response = self.http.request(method, template, body=body, expect=(200, 202), **cast(dict[str, Any], path))
        return [self.http.parse(Task, item, template) for item in (response.json().get("list") or [])]

    def get_task(self, task_id: str) -> Task:
        task_path = self.http.api.task_path
        name = task_path.split("{")[1].rstrip("}")
        return self.http.get_model(Task, task_path, **cast(dict[str, Any], {name: task_id}))

    def tasks_now(self, task_ids: Sequence[str]) -> dict[str, Task]:
        """The current state of many tasks, by id: one filtered ``GET /tasks`` per page of ids. A task the
        listing no longer shows (it lists *recent* tasks) is read on its own."""
        if len(task_ids) == 1:
            return {task_ids[0]: self.get_task(task_ids[0])}
        found: dict[str, Task] = {}
        for start in range(0, len(task_ids), TASK_PAGE):
            page = list(task_ids[start : start + TASK_PAGE])
            params: Params = {"filter_property": "id", "filter": page, "limit": TASK_PAGE}
            found.update((t.id, t) for t in self.http.get_list(Task, "/tasks", params=params) if t.id in page)
        for task_id in task_ids:
            if task_id not in found:
                found[task_id] = self.get_task(task_id)
        return found

    def failure(self, task: Task) -> OperationFailed | None:
        """The error of a task that ended other than SUCCESS (None while it runs or when it succeeded)."""
        if not task.done or task.status == TaskStatus.SUCCESS:
            return None
        message = task.error.message if task.error and task.error.message else "no error message"
        return OperationFailed(
            f"{self.http.endpoint}: task {task.id} ({task.description or '?'}) ended {text(task.status)}: {message}"
        )

    def poll_tasks(
        self,
        tasks: Sequence[Task],
        *,
        timeout: float = 3600.0,
        any_done: bool = False,
        on_progress: ProgressCallback | None = None,
        look_at_once: bool = True,
        pace: Pace | None = None,
    ) -> list[Task]:
        """The tasks (same order) once all have ended, or with ``any_done`` once at least one has; failed
        tasks are returned, not raised (see :meth:`failure`). Raises :class:`TaskTimeout` after ``timeout``.

        ``look_at_once=False``: the first look waits :data:`FIRST_PAUSE`, for a window whose other tasks were
        read a moment ago (a look right after starting one more task would read them again for nothing).
        ``pace``: a window's record of how long its tasks took, which caps the pauses (see :class:`Pace`)."""
        current = {t.id: t for t in tasks}
        deadline = time.monotonic() + timeout
        pause = min(FIRST_PAUSE, self.http.poll_interval)
        longest = max(self.http.poll_interval, 2.0)
        if pace is not None:
            longest = pace.longest_pause(longest)
        progress = {t.id: t.progress for t in tasks}
        looked = not look_at_once  # the first round looks at once: a fast task is often done already
        while True:
            pending = [i for i, t in current.items() if not t.done]
            if not pending or (any_done and len(pending) < len(current)):
                return [current[t.id] for t in tasks]
            if time.monotonic() > deadline:
                first = current[pending[0]]
                raise TaskTimeout(
                    f"{self.http.endpoint}: {len(pending)} task(s) still running after {timeout:.0f}s, "
                    f"e.g. {first.id} ({first.description or '?'}) {first.status}"
                )
            if looked:
                time.sleep(pause)
                pause = min(pause * 2, longest)
            looked = True
            current.update(self.tasks_now(pending))
            if any(current[task_id].done for task_id in pending):
                # A task that ended changed the site (a recovery registers VMs): what was read while it
                # ran is older than its change (see srmctl.adapters.guard.generation).
                changed()
                self.http.invalidate()
            if pace is not None:
                pace.seen([current[task_id] for task_id in pending])
            if on_progress is not None:
                for task_id in pending:
                    if current[task_id].progress != progress.get(task_id):
                        progress[task_id] = current[task_id].progress
                        on_progress(current[task_id])

    def wait_task(self, task: Task, *, timeout: float = 3600.0, on_progress: ProgressCallback | None = None) -> Task:
        """Poll until the task ends; ERROR and CANCELLED raise :class:`OperationFailed`. The default timeout
        is for steps, which start a change and wait for it separately (a plan run can take an hour)."""
        return self.wait_tasks([task], timeout=timeout, on_progress=on_progress)[0]

    def wait_tasks(
        self, tasks: Sequence[Task], *, timeout: float = 3600.0, on_progress: ProgressCallback | None = None
    ) -> list[Task]:
        """Await many tasks together (one poll loop); every failure is raised once all have ended, as one
        :class:`OperationFailed` (the task's own error when only one failed)."""
        ended = self.poll_tasks(tasks, timeout=timeout, on_progress=on_progress)
        raise_together([error for task in ended if (error := self.failure(task)) is not None])
        return ended

    def run(self, task: Task, wait: bool, on_progress: ProgressCallback | None = None, timeout: float = 900.0) -> Task:
        """A started task awaited (``wait``) or returned as it is; inside :meth:`tasks_together`, handed to
        the window instead of awaited alone."""
        window = self._window
        if wait and window is not None:
            window.add(task)
            return task
        return self.wait_task(task, on_progress=on_progress, timeout=timeout) if wait else task

    @contextmanager
    def tasks_together(self, limit: int, timeout: float = 3600.0) -> Iterator[None]:
        """Inside the block, calls that would await their task (``wait=True``) only start it: at most
        ``limit`` tasks are in flight, awaited together, and all have ended when the block ends; failures are
        raised then, together. For code written one call at a time (the metadata restore) whose calls are
        independent of each other's outcome."""
        if self._window is not None:
            raise RuntimeError("tasks_together does not nest")
        window = _Window(self, max(1, limit), timeout)
        self._window = window
        try:
            yield
            window.drain(0)
        finally:
            self._window = None
        raise_together(window.failures)


def raise_together(failures: Sequence[OperationFailed]) -> None:
    """Raise the failures of tasks awaited together: a lone one as it is, several as one joined error."""
    if len(failures) == 1:
        raise failures[0]
    if failures:
        raise OperationFailed("; ".join(f.message for f in failures))


class Pace:
    """How long a window's tasks take, as its own looks saw them, so that the window looks about as often as
    its tasks end: the pauses between looks are capped at a quarter of the median time from a task's start to
    the look that saw it ended (never below :data:`FIRST_PAUSE`). Without it, a window of half-second tasks
    (SRM's recovery-settings updates) backed off to a look every 0.4 s and more, and each refill waited on it:
    a quarter of a 200-VM metadata restore. Long tasks keep the usual back-off, so no more calls are made
    for them; short ones cost about the same calls, looked at when they end."""

    SAMPLES = 16

    def __init__(self) -> None:
        self._started: dict[str, float] = {}
        self._took: list[float] = []

    def started(self, task: Task) -> None:
        self._started.setdefault(task.id, time.monotonic())

    def seen(self, tasks: Sequence[Task]) -> None:
        now = time.monotonic()
        for task in tasks:
            began = self._started.pop(task.id, None) if task.done else None
            if began is not None:
                self._took = [*self._took, now - began][-self.SAMPLES :]

    def longest_pause(self, usual: float) -> float:
        if not self._took:
            return usual
        return min(usual, max(FIRST_PAUSE, statistics.median(self._took) / 4))


class _Window:
    """The tasks started inside :meth:`Tasks.tasks_together` and not yet seen to end."""

    def __init__(self, client: Tasks, limit: int, timeout: float) -> None:
        self.client, self.limit, self.timeout = client, limit, timeout
        self.pending: list[Task] = []
        self.failures: list[OperationFailed] = []
        self.polled = False  # the pending tasks were read before: the next round need not look at once
        self.pace = Pace()

    def add(self, task: Task) -> None:
        self.pace.started(task)
        self.pending.append(task)
        self.drain(self.limit - 1)

    def drain(self, keep: int) -> None:
        """Await until at most ``keep`` tasks are still running."""
        while len(self.pending) > keep:
            polled = self.client.poll_tasks(
                self.pending, timeout=self.timeout, any_done=keep > 0, look_at_once=not self.polled, pace=self.pace
            )
            self.polled = True
            self.failures += [e for t in polled if (e := self.client.failure(t)) is not None]
            self.pending = [t for t in polled if not t.done]
