"""srmsim's task runner: long-running operations (plan runs, replication syncs, creations) run as
:class:`~srmctl.srmsim.model.SimTask` workers in threads that sleep outside the world lock, each taking the
time the world's latency profile gives its kind (srmsim/latency.py). :class:`~srmctl.srmsim.world.World`
inherits it; operation modules call ``world.start_task``."""

from __future__ import annotations

import concurrent.futures
import fnmatch
import itertools
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from srmctl.srmsim.latency import LatencyProfile
from srmctl.srmsim.model import SimError, SimTask, TaskFault, now_ms

if TYPE_CHECKING:
    from srmctl.srmsim.world import World

#: How many VMs' effects srmsim applies at once (see VCenterMirror's sessions per site).
PARALLEL = 6


class TaskContext:
    """What an operation running as a task may do: report progress, pause, check cancellation, and take the
    time its latency profile gives it (:mod:`srmctl.srmsim.latency`): the task is due ``duration`` seconds
    after its own start, never queued behind another task."""

    def __init__(self, world: World, task: SimTask, slow: float, duration: float = 0.0) -> None:
        self.world = world
        self.task = task
        self.slow = slow
        self.started = time.monotonic()
        self.duration = duration * slow

    def progress(self, value: int) -> None:
        with self.world.lock:
            self.task.progress = max(self.task.progress, min(99, value))

    def pause(self, ticks: float = 1.0) -> None:
        time.sleep(self.world.tick * ticks * self.slow)

    def extend(self, seconds: float) -> None:
        """The task takes ``seconds`` more than its kind's duration (a sync's bytes, a plan step)."""
        self.duration += seconds * self.slow

    def hold(self) -> None:
        """Stay RUNNING until the task is due, moving its progress with the time that passes."""
        while (left := self.started + self.duration - time.monotonic()) > 0:
            self.progress(int(99 * (1 - left / self.duration)))
            time.sleep(min(left, 0.25))

    def spend(self, seconds: float) -> None:
        """Take ``seconds`` now (a step of a plan run), on top of what the task has taken so far."""
        if seconds > 0:
            self.duration = max(self.duration, time.monotonic() - self.started) + seconds * self.slow
            self.hold()


class Failed(Exception):
    """Raised inside a task worker to end the task in ERROR."""


class TaskRunner:
    """The tasks of both sites' servers, their injected faults, and the workers that run them."""

    lock: threading.RLock
    tick: float
    latency: LatencyProfile
    tasks: dict[str, SimTask]
    task_faults: list[TaskFault]

    def __init__(self) -> None:
        self._ids = itertools.count(1000)
        self._threads: list[threading.Thread] = []
        self._threads_lock = threading.Lock()

    def start_task(
        self,
        site: str,
        api: str,
        description: str,
        entity: str | None,
        entity_name: str | None,
        work: Callable[[TaskContext], Any],
        on_error: Callable[[str], None] | None = None,
        *,
        kind: str = "",
    ) -> SimTask:
        """Run ``work`` as a task in its own thread; it stays RUNNING at least as long as the latency profile
        gives ``kind`` (srmsim/latency.py), counted from its own start."""
        task = SimTask(
            id=f"{api}-task-{next(self._ids)}",
            site=site,
            api=api,
            description=description,
            entity=entity,
            entity_name=entity_name,
        )
        fault = self.take_task_fault(description)
        self.tasks[task.id] = task

        def runner() -> None:
            with self.lock:
                task.status, task.started = "RUNNING", now_ms()
            ctx = TaskContext(
                cast("World", self),
                task,
                fault.factor if fault and fault.kind == "slow" else 1.0,
                self.latency.duration(kind),
            )
            try:
                ctx.pause()
                if fault and fault.kind == "error":
                    raise Failed(fault.message)
                # Effects land when the task is due (a client reading state before the task ends sees none
                # of them); work that takes its own time (a sync's bytes, plan steps) extends the task.
                ctx.hold()
                result = work(ctx)
                ctx.hold()
            except (Failed, SimError) as error:
                with self.lock:  # a cancelled run ends CANCELLED (srmsim/states.py, Cancelled)
                    task.status, task.error = getattr(error, "task_status", "ERROR"), str(error)
                    if on_error:
                        on_error(str(error))
            except Exception as error:  # noqa: BLE001 - a simulator bug must surface as a task error
                with self.lock:
                    task.status, task.error = "ERROR", f"srmsim internal error: {error!r}"
                    if on_error:
                        on_error(str(error))
            else:
                with self.lock:
                    task.status, task.progress, task.result = "SUCCESS", 100, result
            finally:
                with self.lock:
                    task.completed = now_ms()

        thread = threading.Thread(target=runner, name=f"srmsim-{task.id}", daemon=True)
        # Listed once started: wait_idle drops workers that are not alive, and a worker listed before it has
        # started is not alive yet, so a task started by a task (a configure's initial sync) was dropped and
        # never waited for. The starting thread (a task, listed and alive) lists it before it ends.
        thread.start()
        with self._threads_lock:
            self._threads.append(thread)
        return task

    def add_task_fault(self, fault: TaskFault) -> None:
        with self.lock:
            self.task_faults.append(fault)

    def clear_task_faults(self) -> None:
        with self.lock:
            self.task_faults.clear()

    def take_task_fault(self, description: str) -> TaskFault | None:
        for fault in self.task_faults:
            if fault.count > 0 and fnmatch.fnmatch(description, fault.pattern):
                fault.count -= 1
                return fault
        return None

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait for every task worker (scenario seeding, tests)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._threads_lock:  # dead workers leave the list: 1,000 VMs start thousands of tasks
                alive = self._threads = [t for t in self._threads if t.is_alive()]
            if not alive:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(alive)} srmsim tasks still running")
            alive[0].join(0.05)

    def parallel(self, work: Callable[[Any], Any], items: list[Any], workers: int = PARALLEL) -> list[Any]:
        """``work`` on every item side by side (vCenter calls of many VMs overlap, as SRM and VR run them),
        results in order; the first failure is raised once all have ended."""
        if len(items) <= 1:
            return [work(item) for item in items]
        with concurrent.futures.ThreadPoolExecutor(min(workers, len(items)), "srmsim-each") as pool:
            futures = [pool.submit(work, item) for item in items]
        return [future.result() for future in futures]

    def new_id(self) -> int:
        return next(self._ids)
