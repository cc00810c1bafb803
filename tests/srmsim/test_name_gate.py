"""srmsim's name gate: a name lookup in vcsim never overlaps a VM creation there (vcsim wedges when FindChild
meets a VM created but not yet named), while calls of one kind still run side by side."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from srmctl.srmsim.name_gate import NameGate


class Overlaps:
    """Records, for each kind, how many calls of each kind were inside the gate at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.inside = {"creating": 0, "finding": 0}
        self.mixed = 0  # times a call found the other kind inside
        self.most = {"creating": 0, "finding": 0}

    def visit(self, kind: str, other: str, hold: float) -> None:
        with self.lock:
            self.inside[kind] += 1
            self.most[kind] = max(self.most[kind], self.inside[kind])
            self.mixed += self.inside[other] > 0
        time.sleep(hold)
        with self.lock:
            self.inside[kind] -= 1


def _run(threads: list[Callable[[], None]]) -> None:
    started = [threading.Thread(target=t) for t in threads]
    for t in started:
        t.start()
    for t in started:
        t.join(timeout=30)
        assert not t.is_alive(), "a thread never got through the gate"


def test_lookups_and_creations_never_overlap_but_each_kind_runs_together() -> None:
    gate, seen = NameGate(), Overlaps()

    def creator() -> None:
        for _ in range(20):
            with gate.creating():
                seen.visit("creating", "finding", 0.002)

    def finder() -> None:
        for _ in range(20):
            with gate.finding():
                seen.visit("finding", "creating", 0.002)

    _run([creator] * 4 + [finder] * 4)
    assert seen.mixed == 0
    assert seen.most["creating"] >= 2 and seen.most["finding"] >= 2


def test_a_waiting_lookup_is_not_starved_by_a_stream_of_creations() -> None:
    gate, done = NameGate(), threading.Event()
    found_at: list[float] = []

    def creator() -> None:  # creations that overlap each other without a gap, until the lookup got through
        while not done.is_set():
            with gate.creating():
                time.sleep(0.01)

    def finder() -> None:
        time.sleep(0.05)
        started = time.monotonic()
        with gate.finding():
            found_at.append(time.monotonic() - started)
        done.set()

    _run([creator] * 3 + [finder])
    assert found_at and found_at[0] < 5.0
