"""Waiting for vCenter tasks with WaitForUpdatesEx (no sleep loops), with progress callbacks."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from pyVmomi import vim, vmodl

from srmctl.adapters.vcenter.connection import VCenterSession
from srmctl.errors import OperationFailed

ProgressCallback = Callable[[str, int], None]  # (task moref, percent)


def wait_for_tasks(session: VCenterSession, tasks: Sequence[Any], *, what: str = "task",
                   progress: ProgressCallback | None = None, timeout: float = 600.0) -> list[Any]:
    """Wait until every task has finished; return their results in order.

    Uses a private PropertyCollector so that concurrent waits from several threads do not see each
    other's updates. Raises OperationFailed naming ``what`` and the vCenter fault if any task fails.
    """
    if not tasks:
        return []
    collector = session.content.propertyCollector.CreatePropertyCollector()
    pc = vmodl.query.PropertyCollector
    collector.CreateFilter(pc.FilterSpec(
        objectSet=[pc.ObjectSpec(obj=t) for t in tasks],
        propSet=[pc.PropertySpec(type=vim.Task, pathSet=["info.state", "info.progress", "info.error",
                                                          "info.result"])],
    ), partialUpdates=False)
    states: dict[str, dict[str, Any]] = {t._moId: {} for t in tasks}
    deadline = time.monotonic() + timeout
    version = ""
    try:
        while not all(s.get("info.state") in ("success", "error") for s in states.values()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise OperationFailed(f"{what}: timed out after {timeout:.0f}s waiting for vCenter")
            update = collector.WaitForUpdatesEx(version, pc.WaitOptions(maxWaitSeconds=max(1, int(min(remaining, 30)))))
            if update is None:
                continue
            version = update.version
            for filter_set in update.filterSet:
                for obj in filter_set.objectSet:
                    state = states[obj.obj._moId]
                    for change in obj.changeSet:
                        state[change.name] = change.val
                    if progress is not None and state.get("info.progress") is not None:
                        progress(obj.obj._moId, int(state["info.progress"]))
    finally:
        collector.Destroy()
    failures = [s["info.error"] for s in states.values() if s.get("info.state") == "error"]
    if failures:
        fault = failures[0]
        raise OperationFailed(f"{what} failed: {type(fault).__name__}: {getattr(fault, 'msg', '') or fault}")
    return [states[t._moId].get("info.result") for t in tasks]


def wait_for_task(session: VCenterSession, task: Any, *, what: str = "task",
                  progress: ProgressCallback | None = None, timeout: float = 600.0) -> Any:
    return wait_for_tasks(session, [task], what=what, progress=progress, timeout=timeout)[0]
