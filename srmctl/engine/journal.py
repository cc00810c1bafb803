"""The run journal (DESIGN §7): ``runs/<run-id>/`` under srmctl's home.

- ``runbook.yaml``: a copy of the runbook as it was when the run started;
- ``meta.json``: how the run was started (runbook path, lab, step selection) so ``resume`` can continue it;
- ``plan.json`` (and ``plan-resume-N.json``): the planned actions per step;
- ``events.jsonl``: append-only, one event a line, each line flushed and fsync'd before the run goes on;
- ``report.json``: the outcome, written when the run ends (absent after a crash).

Everything is written 0600 in a 0700 directory, and secrets are redacted: key names that look secret, and
any string containing a password the run loaded.
"""

from __future__ import annotations

import json
import os
import re
import secrets as _secrets
import signal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from srmctl.engine.events import Event
from srmctl.errors import NotFound, UsageError

RUNS = "runs"
EVENTS = "events.jsonl"
META = "meta.json"
PLAN = "plan.json"
REPORT = "report.json"
REPORT_HTML = "report.html"
RUNBOOK_COPY = "runbook.yaml"
REDACTED = "<redacted>"
_SECRET_KEY = re.compile(r"pass(word)?|secret|token|credential", re.IGNORECASE)
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

#: Test hook for the crash matrix: SIGKILL this process right after its Nth appended event is durable (read
#: once, at import; see PAUSE_ENV in srmctl/steps/context.py). Unset or not a positive number: no kill.
KILL_AT_EVENT_ENV = "SRMCTL_TEST_KILL_AT_EVENT"
_KILL_AT_RAW = os.environ.get(KILL_AT_EVENT_ENV, "").strip()
_KILL_AT = int(_KILL_AT_RAW) if _KILL_AT_RAW.isdigit() else 0
_appended = 0  # events this process appended (the event bus delivers one at a time: no lock needed)


def new_run_id(runbook_name: str) -> str:
    """``20240611T101500Z-mail-back-3f9a``: sortable by start time, says which runbook, unique."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{runbook_name}-{_secrets.token_hex(2)}"


def runs_dir(home: Path) -> Path:
    return home / RUNS


def redact(value: Any, secrets: frozenset[str]) -> Any:
    """``value`` with secret-looking keys and every known secret value replaced."""
    if isinstance(value, Mapping):
        return {str(k): REDACTED if _SECRET_KEY.search(str(k)) and v not in (None, "") else redact(v, secrets)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, secrets) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    return value


def _write_private(path: Path, text: str) -> None:
    """Atomically replace ``path`` with ``text``, mode 0600, durable before returning."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """One run's directory. Appends are serialised by the caller (the event bus delivers one at a time)."""

    def __init__(self, directory: Path, secrets: Iterable[str] = ()) -> None:
        self.directory = directory
        self.run_id = directory.name
        # Very short "secrets" would redact innocent text everywhere; real passwords are longer.
        self._secrets = frozenset(s for s in secrets if len(s) >= 4)

    @classmethod
    def create(cls, home: Path, run_id: str, *, runbook_text: str, meta: Mapping[str, Any],
               secrets: Iterable[str] = ()) -> Journal:
        root = runs_dir(home)
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        directory = root / run_id
        directory.mkdir(mode=0o700)
        journal = cls(directory, secrets)
        _write_private(directory / RUNBOOK_COPY, runbook_text)
        journal.write_json(META, meta)
        return journal

    @classmethod
    def open(cls, home: Path, run_id: str, secrets: Iterable[str] = ()) -> Journal:
        return cls(run_directory(home, run_id), secrets)

    def write_json(self, name: str, data: Any) -> Path:
        path = self.directory / name
        _write_private(path, json.dumps(redact(data, self._secrets), indent=2) + "\n")
        return path

    def write_text(self, name: str, text: str) -> Path:
        path = self.directory / name
        _write_private(path, redact(text, self._secrets))
        return path

    def append(self, event: Event) -> None:
        """One JSON line per event, flushed and fsync'd before returning: after a crash the journal holds
        every event whose emit returned."""
        line = json.dumps(redact(event.to_dict(), self._secrets), separators=(",", ":")) + "\n"
        fd = os.open(self.directory / EVENTS, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        if _KILL_AT:
            _kill_after_append()

    def events(self) -> list[dict[str, Any]]:
        return read_events(self.directory)

    def read_json(self, name: str) -> Any:
        path = self.directory / name
        return json.loads(path.read_text()) if path.exists() else None


def _kill_after_append() -> None:
    global _appended
    _appended += 1
    if _appended == _KILL_AT:
        os.kill(os.getpid(), signal.SIGKILL)


def run_directory(home: Path, run_id: str) -> Path:
    if not _RUN_ID.match(run_id):
        raise UsageError(f"{run_id!r} is not a run id")
    directory = runs_dir(home) / run_id
    if not (directory / META).is_file():
        raise NotFound(f"no run {run_id} in {runs_dir(home)} (list runs with 'srmctl runs')")
    return directory


def read_events(directory: Path) -> list[dict[str, Any]]:
    path = directory / EVENTS
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a torn last line after a crash (the write never returned): everything before it stands
    return events


@dataclass(frozen=True)
class StoredRun:
    run_id: str
    directory: Path
    meta: Mapping[str, Any]
    events: tuple[Mapping[str, Any], ...]
    report: Mapping[str, Any] | None


def load_run(home: Path, run_id: str) -> StoredRun:
    directory = run_directory(home, run_id)
    journal = Journal(directory)
    return StoredRun(run_id, directory, journal.read_json(META), tuple(journal.events()), journal.read_json(REPORT))


def list_run_ids(home: Path) -> list[str]:
    root = runs_dir(home)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / META).is_file())
