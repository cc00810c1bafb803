"""The run journal (see docs/architecture.md): ``runs/<run-id>/`` under srmctl's home.

- ``runbook.yaml``: a copy of the runbook as it was when the run started;
- ``meta.json``: how the run was started (runbook path, lab, step selection) so ``resume`` can continue it;
- ``plan.json`` (and ``plan-resume-N.json``): the planned actions per step;
- ``events.jsonl``: append-only, one event a line, each line flushed and fsync'd before the run goes on, each
  carrying the hash of the line before it (evidence/chain.py); a torn last line (a crash mid-write) is cut off
  before the next run appends, and kept in ``events.jsonl.torn-<n>``;
- ``report.json``: the outcome, written when the run ends (absent after a crash).

Everything is written 0600 in a 0700 directory, and secrets are redacted: key names that look secret, and
any string containing a password the run loaded.

Reading never raises a raw JSON or OS error: a run whose files cannot be read is loaded with its ``damage``
said in words (listed as damaged, refused by resume and the report) and the other runs are unaffected.
"""

from __future__ import annotations

import json
import os
import re
import secrets as _secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from srmctl.adapters import testhooks
from srmctl.engine.events import RECORD, Event
from srmctl.errors import NotFound, UsageError
from srmctl.evidence import chain
from srmctl.runbook.files import fsync_dir, write_atomically

RUNS = "runs"
EVENTS = "events.jsonl"
META = "meta.json"
PLAN = "plan.json"
REPORT = "report.json"
REPORT_HTML = "report.html"
RUNBOOK_COPY = "runbook.yaml"
REDACTED = "<redacted>"
_SECRET_KEY = re.compile(r"pass(word)?|secret|token|credential", re.IGNORECASE)
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
TORN = f"{EVENTS}.torn-"  # + n: a cut-off torn tail, kept for forensics
TAIL_CUT = "journal_tail_cut"  # journal record: a torn tail was cut before this run appended
# meta.json and report.json are a few kB; a bigger one is not ours (and must not exhaust memory).
MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_EVENTS_BYTES = 512 * 1024 * 1024


class RunDamaged(UsageError):
    """A run's files cannot be read as a journal (corrupt, truncated by hand, not ours): the run cannot be
    resumed or reported. Exit 2, like any other run that cannot be resumed as asked."""

    code = "run_damaged"


def new_run_id(runbook_name: str) -> str:
    """``20240611T101500Z-mail-back-3f9a``: sortable by start time, says which runbook, unique."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{runbook_name}-{_secrets.token_hex(2)}"


def runs_dir(home: Path) -> Path:
    return home / RUNS


def redact(value: Any, secrets: frozenset[str]) -> Any:
    """``value`` with secret-looking keys and every known secret value replaced."""
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if _SECRET_KEY.search(str(k)) and v not in (None, "") else redact(v, secrets)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(v, secrets) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    return value


def write_private(path: Path, text: str | bytes) -> None:
    """Atomically replace ``path`` with ``text``, mode 0600, durable before returning."""
    write_atomically(path, text)  # never through a symlink planted at a temporary name


class Journal:
    """One run's directory. Appends are serialised by the caller (the event bus delivers one at a time)."""

    def __init__(self, directory: Path, secrets: Iterable[str] = ()) -> None:
        self.directory = directory
        self.run_id = directory.name
        # Very short "secrets" would redact innocent text everywhere; real passwords are longer.
        self._secrets = frozenset(s for s in secrets if len(s) >= 4)
        self._tail_checked = False
        self._prev = ""  # the last line's hash, read from the file before the first append

    @classmethod
    def create(
        cls,
        home: Path,
        run_id: str,
        *,
        runbook_bytes: bytes | None,
        meta: Mapping[str, Any],
        secrets: Iterable[str] = (),
    ) -> Journal:
        """A new run folder. ``runbook_bytes`` (the file byte for byte, so that its sha256 in ``meta`` matches
        the copy whatever its line endings); None: a site failback, whose plans' runs keep their runbooks."""
        root = runs_dir(home)
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        directory = root / run_id
        directory.mkdir(mode=0o700)
        journal = cls(directory, secrets)
        if runbook_bytes is not None:
            write_private(directory / RUNBOOK_COPY, runbook_bytes)
        journal.write_json(META, meta)
        return journal

    @classmethod
    def open(cls, home: Path, run_id: str, secrets: Iterable[str] = ()) -> Journal:
        return cls(run_directory(home, run_id), secrets)

    def write_json(self, name: str, data: Any) -> Path:
        path = self.directory / name
        write_private(path, json.dumps(redact(data, self._secrets), indent=2) + "\n")
        return path

    def write_text(self, name: str, text: str) -> Path:
        path = self.directory / name
        write_private(path, redact(text, self._secrets))
        return path

    def append(self, event: Event) -> None:
        """One JSON line per event, flushed and fsync'd before returning: after a crash the journal holds
        every event whose emit returned.

        Before the first append, a torn tail is cut off (and journaled): a line appended after a fragment
        would be glued to it and never read. This happens here, not when the journal is opened, because
        only a run that holds the lock appends; a reader (``runs --report``) opening a live run's journal
        must never cut a line another process is writing."""
        if not self._tail_checked:
            cut = cut_torn_tail(self.directory)
            self._prev = self._chain_head()
            self._tail_checked = True
            if cut is not None:
                self._write_line(Event(RECORD, None, {"record": TAIL_CUT, **cut}))
        self._write_line(event)

    def _chain_head(self) -> str:
        """The hash the next line links to (evidence/chain.py). An edited journal is refused: a line appended
        to it would vouch for the edit."""
        path = self.directory / EVENTS
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raw = b""
        except OSError as error:
            raise RunDamaged(f"{path} cannot be read: {error.strerror or error}") from None
        found = chain.check(raw, self.run_id)
        if not found.intact:
            raise RunDamaged(f"{path} {found.describe()}")
        return found.head

    def _write_line(self, event: Event) -> None:
        # The link is added after redaction: a short password that happens to be hex must not edit a hash.
        data = {**redact(event.to_dict(), self._secrets), chain.PREV: self._prev}
        line = json.dumps(data, separators=(",", ":")).encode()
        fd = os.open(self.directory / EVENTS, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        self._prev = chain.line_hash(line)
        testhooks.event_appended(event.kind)  # the crash matrix's SIGKILL point (SRMCTL_TEST_KILL_AT_EVENT)

    def events(self) -> list[dict[str, Any]]:
        return read_events(self.directory)

    def read_json(self, name: str) -> Any:
        """The file's JSON value, None when it does not exist; :class:`RunDamaged` when it cannot be read."""
        return read_json(self.directory / name)


def read_json(path: Path) -> Any:
    """``path``'s JSON value, or None when there is no such file. Anything else that keeps it from being read
    (not a regular file, unreadable, too big, not UTF-8, not JSON, nested too deep) raises :class:`RunDamaged`
    naming the file."""
    try:
        if not path.is_file():
            if path.exists() or path.is_symlink():
                raise RunDamaged(f"{path} is not a regular file")
            return None
        with path.open("rb") as handle:
            raw = handle.read(MAX_JSON_BYTES + 1)
    except OSError as error:
        raise RunDamaged(f"{path} cannot be read: {error.strerror or error}") from None
    if len(raw) > MAX_JSON_BYTES:
        raise RunDamaged(f"{path} is larger than {MAX_JSON_BYTES} bytes: not a file srmctl wrote")
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as error:  # not UTF-8, not JSON, or nested beyond the parser
        raise RunDamaged(f"{path} is not valid JSON ({_short(error)})") from None


def _short(error: BaseException) -> str:
    text = str(error)
    return text if len(text) <= 120 else text[:117] + "..."


def run_directory(home: Path, run_id: str) -> Path:
    if not RUN_ID_PATTERN.match(run_id):
        raise UsageError(f"{run_id!r} is not a run id")
    directory = runs_dir(home) / run_id
    if not (directory / META).is_file():
        raise NotFound(f"no run {run_id} in {runs_dir(home)} (list runs with 'srmctl runs')")
    return directory


def read_events(directory: Path) -> list[dict[str, Any]]:
    """The journal's events, up to the first line that is not one: a torn last line after a crash (the write
    never returned) or garbage. Everything before it stands; nothing in the file makes this raise."""
    try:
        raw = (directory / EVENTS).read_bytes()
    except OSError:  # none yet; or unreadable, which load_run reports as damage
        return []
    return scan_events(raw).events


@dataclass(frozen=True)
class EventScan:
    events: list[dict[str, Any]]
    bad_line: int | None = None  # 1-based number of the first line that is not an event
    bad_offset: int = 0  # where that line starts
    bad_is_last: bool = False  # nothing but blank lines after it


def _parse_line(line: bytes) -> dict[str, Any] | None:
    try:
        event = json.loads(line.decode("utf-8"))
    except (ValueError, RecursionError):  # torn, not UTF-8, not JSON, or nested beyond the parser
        return None
    return event if isinstance(event, dict) else None  # JSON, but not an event: readers index events by key


def scan_events(raw: bytes) -> EventScan:
    events: list[dict[str, Any]] = []
    offset = 0
    for number, line in enumerate(raw.split(b"\n"), 1):
        start, offset = offset, offset + len(line) + 1
        if not line.strip():
            continue
        event = _parse_line(line)
        if event is None:
            return EventScan(events, number, start, not raw[offset:].strip())
        events.append(event)
    return EventScan(events)


def cut_torn_tail(directory: Path) -> dict[str, Any] | None:
    """Cut a torn last line off ``events.jsonl``: an unterminated fragment, or a last line that is not a JSON
    object. The cut bytes go to ``events.jsonl.torn-<n>`` (0600, durable) before the journal is truncated to
    the end of its last complete line. Returns what was done (for the journal record), None when the tail was
    whole. Garbage before the last line is not a torn write: that raises :class:`RunDamaged` and nothing is
    cut. The caller holds the run's lock: no other process appends meanwhile."""
    path = directory / EVENTS
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise RunDamaged(f"{path} cannot be read: {error.strerror or error}") from None
    scan = scan_events(raw)
    if scan.bad_line is not None and not scan.bad_is_last:
        raise RunDamaged(f"{path} line {scan.bad_line} is not a journal event, and events follow it")
    keep = scan.bad_offset if scan.bad_line is not None else raw.rfind(b"\n") + 1
    if keep == len(raw):
        return None
    side = _free_side_file(directory)
    fd = os.open(side, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, raw[keep:])
        os.fsync(fd)
    finally:
        os.close(fd)
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, keep)
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(directory)
    line = raw.count(b"\n", 0, keep) + 1
    return {"line": line, "bytes_cut": len(raw) - keep, "kept_in": side.name}


def _free_side_file(directory: Path) -> Path:
    taken = {p.name for p in directory.glob(f"{TORN}*")}
    return directory / next(f"{TORN}{n}" for n in range(1, len(taken) + 2) if f"{TORN}{n}" not in taken)
