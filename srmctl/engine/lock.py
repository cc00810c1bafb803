"""One run per recovery plan at a time: a local ``flock`` plus a marker other operators can see.

The local lock (``<home>/locks/<plan>.lock``) stops two runs on this machine; the kernel drops it when its
process dies, so it can never go stale. The marker is a vCenter custom attribute on the original site's
datacenter naming the run, host, pid and start time; it stops runs from other machines and survives a crash,
so a marker left behind is reported (with who set it) and only broken with an explicit ``--break-lock``.
A run being resumed takes its own marker back.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from srmctl.adapters.vcenter.facade import VCenterOps
from srmctl.engine.events import now
from srmctl.errors import SrmctlError

MARKER_PREFIX = "srmctl.lock"


class LockHeld(SrmctlError):
    """Another run holds (or a crashed run left) the lock of this recovery plan."""

    code = "lock_held"

    def __init__(self, message: str, holder: LockHolder | None) -> None:
        super().__init__(message)
        self.holder = holder

    def details(self) -> dict[str, object]:
        return {"holder": asdict(self.holder) if self.holder else None}


@dataclass(frozen=True)
class LockHolder:
    run_id: str
    host: str
    pid: int
    since: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def parse(cls, text: str | None) -> LockHolder | None:
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(
                run_id=str(data["run_id"]), host=str(data["host"]), pid=int(data["pid"]), since=str(data["since"])
            )
        except (ValueError, KeyError, TypeError):
            return cls(run_id="?", host="?", pid=0, since=text[:64])  # someone else's value: still a lock

    def describe(self) -> str:
        return f"run {self.run_id} on host {self.host} (pid {self.pid}) since {self.since}"

    def process_gone(self) -> bool:
        """True only when we can tell: the holder ran on this host and its process no longer exists."""
        if self.host != platform.node() or self.pid <= 0:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "plan"


class RunLock:
    def __init__(self, home: Path, plan_name: str, run_id: str, marker_site: VCenterOps | None) -> None:
        self.plan_name = plan_name
        self.path = home / "locks" / f"{_slug(plan_name)}.lock"
        self.field = f"{MARKER_PREFIX}.{plan_name}"
        self.me = LockHolder(run_id=run_id, host=platform.node(), pid=os.getpid(), since=now())
        self._site = marker_site
        self._fd: int | None = None

    def acquire(self, *, break_lock: bool = False) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = LockHolder.parse(os.pread(fd, 4096, 0).decode(errors="replace"))
            os.close(fd)
            who = holder.describe() if holder else "another process"
            raise LockHeld(
                f"recovery plan {self.plan_name!r} is locked by {who} on this machine; wait for it to finish", holder
            ) from None
        self._fd = fd
        try:
            self._take_marker(break_lock)
            os.ftruncate(fd, 0)
            os.pwrite(fd, self.me.to_json().encode(), 0)
        except BaseException:
            self._unlock_local()
            raise

    def _take_marker(self, break_lock: bool) -> None:
        if self._site is None:
            return
        current = LockHolder.parse(self._site.marker(self.field))
        if current is not None and current.run_id != self.me.run_id and not break_lock:
            state = (
                "stale: its process is gone" if current.process_gone() else "it may still be running on another machine"
            )
            raise LockHeld(
                f"recovery plan {self.plan_name!r} is locked at site {self._site.site} by "
                f"{current.describe()} ({state}); if no run is active, pass --break-lock",
                current,
            )
        self._site.set_marker(self.field, self.me.to_json())
        # Read back: of two machines that both saw no marker, the later write wins and the other backs off.
        again = LockHolder.parse(self._site.marker(self.field))
        if again is None or again.run_id != self.me.run_id:
            raise LockHeld(
                f"recovery plan {self.plan_name!r} was locked concurrently by "
                f"{again.describe() if again else 'someone else'}",
                again,
            )

    def release(self) -> None:
        try:
            if self._site is not None and self._fd is not None:
                current = LockHolder.parse(self._site.marker(self.field))
                if current is not None and current.run_id == self.me.run_id:
                    self._site.set_marker(self.field, "")
        finally:
            self._unlock_local()

    def _unlock_local(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
