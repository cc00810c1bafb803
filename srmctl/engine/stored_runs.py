"""Reading a run folder back: the stored run (meta, events, report) and what is damaged in it, and the list of
runs. Never raises raw JSON or OS errors: damage is reported, naming the file (see docs/architecture.md,
"Journal, resume, locks")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from srmctl.engine.journal import (
    _RUN_ID,
    EVENTS,
    MAX_EVENTS_BYTES,
    META,
    REPORT,
    RunDamaged,
    _scan,
    read_json,
    run_directory,
    runs_dir,
)


@dataclass(frozen=True)
class StoredRun:
    run_id: str
    directory: Path
    meta: Mapping[str, Any]
    events: tuple[Mapping[str, Any], ...]
    report: Mapping[str, Any] | None
    damage: str | None = None  # why the run's files cannot be trusted, naming the file; None when intact

    def intact(self, doing: str, needs: tuple[str, ...] = ()) -> StoredRun:
        """This run, when nothing is damaged and meta.json holds ``needs``; else :class:`RunDamaged`."""
        missing = [key for key in needs if key not in self.meta]
        damage = self.damage or (f"{self.directory / META} lacks {', '.join(missing)}" if missing else None)
        if damage:
            raise RunDamaged(f"cannot {doing} run {self.run_id}: {damage}")
        return self


def load_run(home: Path, run_id: str) -> StoredRun:
    """The run's journal. Raises only for a run id that is malformed or not there; damaged files are
    reported in ``damage`` with whatever could be read (unreadable parts empty)."""
    directory = run_directory(home, run_id)
    problems: list[str] = []
    meta = _load_object(directory / META, problems) or {}
    report = _load_object(directory / REPORT, problems)
    events = _load_events(directory / EVENTS, problems)
    wrong = _wrong_meta_keys(meta)
    if wrong:  # dropped, so readers see a key of the right type or none
        problems.append(f"{directory / META}: wrong type for {', '.join(wrong)}")
        meta = {key: value for key, value in meta.items() if key not in wrong}
    return StoredRun(run_id, directory, meta, tuple(events), report, "; ".join(problems) or None)


def _load_object(path: Path, problems: list[str]) -> dict[str, Any] | None:
    try:
        value = read_json(path)
    except RunDamaged as error:
        problems.append(error.message)
        return None
    if value is not None and not isinstance(value, dict):
        problems.append(f"{path} holds a JSON {type(value).__name__}, not an object")
        return None
    return value


# Types of the meta.json keys readers use; a key may be absent (runs written by older srmctl), not wrong.
_META_TYPES: dict[str, tuple[type, ...]] = {
    "run_id": (str,), "runbook": (str,), "runbook_path": (str,), "runbook_sha256": (str,), "started": (str,),
    "lab_dir": (str, type(None)), "steps": (list,),
}


def _wrong_meta_keys(meta: Mapping[str, Any]) -> list[str]:
    wrong = [key for key, types in _META_TYPES.items() if key in meta and not isinstance(meta[key], types)]
    if isinstance(meta.get("steps"), list) and not all(isinstance(s, str) for s in meta["steps"]):
        wrong.append("steps")
    return wrong


def _load_events(path: Path, problems: list[str]) -> list[dict[str, Any]]:
    """The readable events; a torn last line is not damage (resume cuts it off), anything else is."""
    try:
        size = path.stat().st_size
        if size > MAX_EVENTS_BYTES:
            problems.append(f"{path} is larger than {MAX_EVENTS_BYTES} bytes: not a file srmctl wrote")
            return []
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as error:
        problems.append(f"{path} cannot be read: {error.strerror or error}")
        return []
    scan = _scan(raw)
    if scan.bad_line is not None and not scan.bad_is_last:
        problems.append(f"{path} line {scan.bad_line} is not a journal event, and events follow it")
    for number, event in enumerate(scan.events, 1):
        problem = _event_problem(event)
        if problem:
            problems.append(f"{path}: event {number} {problem}")
            return scan.events[:number - 1]
    return scan.events


def _event_problem(event: Mapping[str, Any]) -> str | None:
    """What makes ``event`` unusable for readers (they order by ``at`` and group by ``kind`` and ``step``)."""
    if not isinstance(event.get("kind"), str):
        return "has no kind"
    if event.get("step") is not None and not isinstance(event["step"], str):
        return "has a step that is not a name"
    try:
        datetime.fromisoformat(event["at"])
    except (KeyError, TypeError, ValueError):
        return "has no valid time ('at')"
    return None


def list_run_ids(home: Path) -> list[str]:
    """Run ids under ``home``, oldest first. Folders that are not runs (no meta.json, a name that is not a run
    id) are skipped; a runs folder that cannot be read raises :class:`RunDamaged`."""
    root = runs_dir(home)
    try:
        if not root.is_dir():
            return []
        return sorted(p.name for p in root.iterdir() if _RUN_ID.match(p.name) and (p / META).is_file())
    except OSError as error:
        raise RunDamaged(f"{root} cannot be read: {error.strerror or error}") from None
