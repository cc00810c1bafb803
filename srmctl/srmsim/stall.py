"""Evidence of a stalled start: while srmsim seeds its world, every thread's stack is written to stderr
(``srmsim.log``, which a failed ``lab up`` keeps in ``DIR/logs``) each ``every`` seconds until seeding ends.

A Python thread does the writing, under the GIL, rather than ``faulthandler.dump_traceback_later``, whose
watchdog thread reads the other threads' frames without holding the GIL: a test dumping every 10 ms crashed
srmsim in the middle of a dump.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

HEADER = "srmsim is still starting; the stack of every thread follows"


@contextmanager
def reporting_stalls(every: float, out: TextIO | None = None) -> Iterator[None]:
    done = threading.Event()
    stream = out or sys.stderr

    def report() -> None:
        while not done.wait(every):
            names = {t.ident: t.name for t in threading.enumerate()}
            lines = [f"{HEADER} (most recent call last):"]
            for ident, frame in sys._current_frames().items():
                if ident != threading.get_ident():
                    lines.append(f"Thread {names.get(ident, ident)}:")
                    lines.extend(line.rstrip("\n") for line in traceback.format_stack(frame))
            stream.write("\n".join(lines) + "\n")
            stream.flush()

    reporter = threading.Thread(target=report, name="srmsim-stall-report", daemon=True)
    reporter.start()
    try:
        yield
    finally:
        done.set()
        reporter.join()
