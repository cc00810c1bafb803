"""Stopping the simulator processes (vcsim, srmsim) by pid: shared by the lab and srmsim's launcher."""

from __future__ import annotations

import os
import signal
import time


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child (we started it in this process) counts as stopped.
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        return finished == 0
    except ChildProcessError:
        return True


def stop_process(pid: int, timeout: float = 10.0) -> bool:
    """SIGTERM (vcsim then removes its temp dir), then SIGKILL after ``timeout``. False if not running."""
    if not is_running(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_running(pid):
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True
