"""The test hooks, in one place: read once from the environment at import, unset in normal use (then each hook
costs a dict lookup or an integer test). Product code calls them at two seams only: the read-only guard that every
state-changing call passes (:func:`srmctl.adapters.guard.changing`) and the journal's append
(``srmctl/engine/journal.py``); steps and the rest hold none. See docs/architecture.md, "Test hooks".

- ``SRMCTL_TEST_PAUSE="before_call=30,after_call=5,after_action=1"`` sleeps at those points, so crash tests can
  SIGKILL a real run exactly there. ``before_call``: before each state-changing call (vCenter, SRM or VR) made
  once this process has journalled an event: the lock's marker, set before the run's journal exists, is not a
  point a crash test can resume from. ``after_call`` / ``after_action``: around an action's journal line.
- ``SRMCTL_TEST_KILL_AT_EVENT=N`` SIGKILLs the process right after its Nth journal event is durable; ``KIND``
  after the first event of that kind, ``KIND#N`` after the Nth (a site run's journals, one per plan, repeat the
  same kinds: ``step_verified#12`` lands in its second plan). Not a positive number or unset: no kill.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Mapping

PAUSE_ENV = "SRMCTL_TEST_PAUSE"
KILL_AT_EVENT_ENV = "SRMCTL_TEST_KILL_AT_EVENT"


def parse_pauses(raw: str) -> dict[str, float]:
    """``"a=1,b=2.5"`` as ``{"a": 1.0, "b": 2.5}`` (a point without seconds pauses 0)."""
    points = {}
    for item in filter(None, (p.strip() for p in raw.split(","))):
        name, _, seconds = item.partition("=")
        points[name] = float(seconds or "0")
    return points


class KillAt:
    """When ``SRMCTL_TEST_KILL_AT_EVENT`` says to die: after the Nth event, or the Nth event of one kind."""

    def __init__(self, raw: str) -> None:
        raw = raw.strip()
        self.at = int(raw) if raw.isdigit() else 0
        kind, _, nth = ("" if raw.isdigit() else raw).partition("#")
        self.kind = kind
        self.kind_at = int(nth) if nth.isdigit() and int(nth) > 0 else 1
        self.appended = 0  # events this process appended
        self.appended_of_kind = 0  # of them, events of ``kind``

    def due(self, kind: str) -> bool:
        """Count one appended event; whether it is the one to die after."""
        if not (self.at or self.kind):
            return False
        self.appended += 1
        self.appended_of_kind += kind == self.kind
        return self.appended == self.at or (kind == self.kind and self.appended_of_kind == self.kind_at)


class Hooks:
    """The hooks of one process, from its environment."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.pauses = parse_pauses(environ.get(PAUSE_ENV, ""))
        self.kill_at = KillAt(environ.get(KILL_AT_EVENT_ENV, ""))
        self.journalled = threading.Event()  # this process has appended a journal event

    def pause(self, point: str) -> None:
        seconds = self.pauses.get(point)
        if seconds and (point != "before_call" or self.journalled.is_set()):
            time.sleep(seconds)

    def event_appended(self, kind: str) -> None:
        """Called by the journal once an event is durable (the event bus delivers one at a time)."""
        self.journalled.set()
        if self.kill_at.due(kind):
            os.kill(os.getpid(), signal.SIGKILL)


HOOKS = Hooks(os.environ)


def pause(point: str) -> None:
    """Sleep at ``point`` when ``SRMCTL_TEST_PAUSE`` names it."""
    HOOKS.pause(point)


def event_appended(kind: str) -> None:
    HOOKS.event_appended(kind)
