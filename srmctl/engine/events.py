"""Run events: what the executor tells its subscribers (journal, live output). Core code never prints."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

RUN_STARTED = "run_started"
RUN_RESUMED = "run_resumed"
PLANNED = "planned"  # the whole run's plan, before anything is applied
STEP_STARTED = "step_started"
STEP_PLANNED = "step_planned"  # the fresh plan a step is about to apply
ACTION_DONE = "action_done"
RECORD = "record"  # a fact for the journal, e.g. a VM's files before it is unregistered
STEP_VERIFIED = "step_verified"
STEP_FAILED = "step_failed"
# On resume, before anything is planned, each step the journal records as verified is verified again
# (docs/architecture.md, resume): it still holds (skipped), or it no longer holds and it and every later
# step are planned and run again.
STEP_REVERIFIED = "step_reverified"
STEP_STALE = "step_stale"
RUN_FINISHED = "run_finished"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Event:
    kind: str
    step: str | None
    data: Mapping[str, Any] = field(default_factory=dict)
    at: str = field(default_factory=now)

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "kind": self.kind, "step": self.step, **dict(self.data)}


Subscriber = Callable[[Event], None]


class EventBus:
    """Delivers each event to every subscriber, in order, one event at a time (steps emit from worker
    threads; the journal must see whole lines in a single order)."""

    def __init__(self, subscribers: list[Subscriber] | None = None) -> None:
        self._subscribers = list(subscribers or [])
        self._lock = threading.Lock()

    def emit(self, kind: str, step: str | None = None, data: Mapping[str, Any] | None = None) -> Event:
        event = Event(kind, step, dict(data or {}))
        with self._lock:
            for subscriber in self._subscribers:
                subscriber(event)
        return event
