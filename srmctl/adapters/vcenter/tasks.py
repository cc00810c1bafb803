"""Waiting for vCenter tasks with WaitForUpdatesEx (no sleep loops), with progress callbacks.

Many tasks are awaited with one PropertyCollector (:class:`TaskWatcher`): a filter on ``info.state`` (and the
result or error) of every task started, and one WaitForUpdatesEx for all of them, the way govmomi's task
waiting works, instead of one wait per task (see docs/architecture.md, "Concurrency and batching")."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from pyVmomi import vim, vmodl

from srmctl.adapters.vcenter.connection import VCenterSession
from srmctl.errors import OperationFailed

ProgressCallback = Callable[[str, int], None]  # (task moref, percent)
_PATHS = ["info.state", "info.progress", "info.error", "info.result"]
_ENDED = ("success", "error")


class TaskWatcher:
    """One private PropertyCollector watching every task handed to :meth:`watch` (private, so that
    concurrent waits from several threads do not see each other's updates). Use as a context manager."""

    def __init__(self, session: VCenterSession, progress: ProgressCallback | None = None) -> None:
        self.session = session
        self.progress = progress
        self.states: dict[str, dict[str, Any]] = {}
        self._collector: Any = None
        self._version = ""

    def __enter__(self) -> TaskWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def watch(self, tasks: Sequence[Any]) -> None:
        """Start watching ``tasks`` (one CreateFilter for all of them)."""
        new = [t for t in tasks if t._moId not in self.states]
        if not new:
            return
        pc = vmodl.query.PropertyCollector
        if self._collector is None:
            self._collector = self.session.content.propertyCollector.CreatePropertyCollector()
        self._collector.CreateFilter(
            pc.FilterSpec(
                objectSet=[pc.ObjectSpec(obj=t) for t in new], propSet=[pc.PropertySpec(type=vim.Task, pathSet=_PATHS)]
            ),
            partialUpdates=False,
        )
        for task in new:
            self.states[task._moId] = {}

    def ended(self, task: Any) -> bool:
        return self.states.get(task._moId, {}).get("info.state") in _ENDED

    def wait(
        self, tasks: Sequence[Any], *, any_done: bool = False, what: str = "task", timeout: float = 600.0
    ) -> list[Any]:
        """Block until every one of ``tasks`` has ended (or, with ``any_done``, at least one); returns those
        that have ended. They are watched first if they are not yet."""
        self.watch(tasks)
        deadline = time.monotonic() + timeout
        pc = vmodl.query.PropertyCollector
        while True:
            done = [t for t in tasks if self.ended(t)]
            if len(done) == len(tasks) or (any_done and done):
                return done
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise OperationFailed(f"{what}: timed out after {timeout:.0f}s waiting for vCenter")
            update = self._collector.WaitForUpdatesEx(
                self._version, pc.WaitOptions(maxWaitSeconds=max(1, int(min(remaining, 30))))
            )
            if update is None:
                continue
            self._version = update.version
            for filter_set in update.filterSet:
                for obj in filter_set.objectSet:
                    state = self.states.setdefault(obj.obj._moId, {})
                    for change in obj.changeSet:
                        state[change.name] = change.val
                    if self.progress is not None and state.get("info.progress") is not None:
                        self.progress(obj.obj._moId, int(state["info.progress"]))

    def result(self, task: Any, what: str = "task") -> Any:
        """An ended task's result; OperationFailed naming ``what`` and the vCenter fault when it failed."""
        state = self.states[task._moId]
        if state.get("info.state") == "error":
            fault = state.get("info.error")
            raise OperationFailed(f"{what} failed: {type(fault).__name__}: {getattr(fault, 'msg', '') or fault}")
        return state.get("info.result")

    def close(self) -> None:
        if self._collector is not None:
            collector, self._collector = self._collector, None
            collector.Destroy()


def run_windowed(
    session: VCenterSession, starts: Sequence[Callable[[], Any]], *, limit: int, what: Callable[[int], str]
) -> list[Any]:
    """Call each of ``starts`` (each starts one task), keeping at most ``limit`` tasks in flight and awaiting
    them together (one :class:`TaskWatcher`: one CreateFilter per batch started, one WaitForUpdatesEx per
    round); a new task starts as soon as another ends. Returns, in order, each task's result, or the
    OperationFailed it ended with (named by ``what(index)``): the caller decides what a failure means."""
    results: list[Any] = [None] * len(starts)
    queue = list(range(len(starts)))
    pending: dict[str, tuple[int, Any]] = {}  # task MoRef -> (index, task)
    with TaskWatcher(session) as watcher:
        while queue or pending:
            started = []
            while queue and len(pending) < max(1, limit):
                index = queue.pop(0)
                task = starts[index]()
                pending[task._moId] = (index, task)
                started.append(task)
            watcher.watch(started)
            for task in watcher.wait([t for _, t in pending.values()], any_done=True, what=what(-1)):
                index, _ = pending.pop(task._moId)
                try:
                    results[index] = watcher.result(task, what(index))
                except OperationFailed as error:
                    results[index] = error
    return results


def wait_for_tasks(
    session: VCenterSession,
    tasks: Sequence[Any],
    *,
    what: str = "task",
    progress: ProgressCallback | None = None,
    timeout: float = 600.0,
) -> list[Any]:
    """Wait until every task has finished; return their results in order.

    Raises OperationFailed naming ``what`` and the vCenter fault if any task fails."""
    if not tasks:
        return []
    with TaskWatcher(session, progress) as watcher:
        watcher.wait(tasks, what=what, timeout=timeout)
        return [watcher.result(t, what) for t in tasks]


def wait_for_task(
    session: VCenterSession,
    task: Any,
    *,
    what: str = "task",
    progress: ProgressCallback | None = None,
    timeout: float = 600.0,
) -> Any:
    return wait_for_tasks(session, [task], what=what, progress=progress, timeout=timeout)[0]
