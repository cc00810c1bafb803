"""The base of the SRM and VR clients: the wire (``_transport``) plus pairings and tasks, which both APIs
offer identically."""

from __future__ import annotations

import copy
import time
from typing import Any, TypeVar, cast

from srmctl.adapters.dr._transport import Transport
from srmctl.adapters.dr._values import (
    Credentials,
    DrApiError,
    ProgressCallback,
    TaskTimeout,
    pick_one,
)
from srmctl.adapters.dr.models import Pairing, Task, TaskStatus, text
from srmctl.errors import Ambiguous, NotFound, OperationFailed

D = TypeVar("D", bound="DrClient")

__all__ = ["Credentials", "DrApiError", "DrClient", "ProgressCallback", "TaskTimeout", "pick_one"]


class DrClient(Transport):
    """Base for :class:`SrmClient` and :class:`VrClient`."""

    # -- binding ---------------------------------------------------------------------------------

    def bound(self: D, pairing_id: str) -> D:
        """This client bound to a pairing, sharing its connection, session, lock and call counts."""
        clone = copy.copy(self)
        clone.pairing_id = pairing_id
        return clone

    def read_only_view(self: D) -> D:
        """The same client (connection, lock, pairing), with every mutating method refused."""
        clone = copy.copy(self)
        clone.read_only = True
        return clone

    def invalidate(self) -> None:
        """Nothing is cached: state is read afresh by every call."""

    # -- pairings --------------------------------------------------------------------------------

    def pairings(self) -> list[Pairing]:
        return self.get_list(Pairing, "/pairings")

    def pairing(self) -> Pairing:
        return self.get_model(Pairing, "/pairings/{pairing_id}")

    def find_pairing(self, remote_vc_name: str | None = None) -> Pairing:
        """The pairing with that remote vCenter (by name); without a name, the only pairing there is."""
        pairings = self.pairings()
        if remote_vc_name is None:
            if len(pairings) == 1:
                return pairings[0]
            if not pairings:
                raise NotFound(f"{self.endpoint}: no pairing")
            raise Ambiguous(f"{self.endpoint}: pairing", [p.pairing_id for p in pairings])
        return pick_one(
            pairings, "pairing with remote vCenter", lambda p: p.remote_vc_server.name, remote_vc_name
        )

    # -- tasks -----------------------------------------------------------------------------------

    def get_task(self, task_id: str) -> Task:
        name = self.TASK_PATH.split("{")[1].rstrip("}")
        return self.get_model(Task, self.TASK_PATH, **cast(dict[str, Any], {name: task_id}))

    def wait_task(
        self,
        task: Task,
        *,
        timeout: float = 3600.0,
        on_progress: ProgressCallback | None = None,
    ) -> Task:
        """Poll until the task ends; ERROR and CANCELLED raise :class:`OperationFailed`. The default timeout
        is for steps, which start a change and wait for it separately (a plan run can take an hour)."""
        deadline = time.monotonic() + timeout
        interval = self.poll_interval
        last_progress: int | None = None
        while not task.done:
            if time.monotonic() > deadline:
                raise TaskTimeout(
                    f"{self.endpoint}: task {task.id} ({task.description or '?'}) still "
                    f"{task.status} after {timeout:.0f}s"
                )
            time.sleep(interval)
            # Back off gently on long tasks: appliances rate-limit the API gateway.
            interval = min(interval * 1.5, max(self.poll_interval, 2.0))
            task = self.get_task(task.id)
            if on_progress is not None and task.progress != last_progress:
                on_progress(task)
                last_progress = task.progress
        if task.status != TaskStatus.SUCCESS:
            message = task.error.message if task.error and task.error.message else "no error message"
            raise OperationFailed(
                f"{self.endpoint}: task {task.id} ({task.description or '?'}) ended "
                f"{text(task.status)}: {message}"
            )
        return task

    def run(
        self, task: Task, wait: bool, on_progress: ProgressCallback | None = None, timeout: float = 900.0
    ) -> Task:
        return self.wait_task(task, on_progress=on_progress, timeout=timeout) if wait else task


