"""Reading a run folder back: the stored run (meta, events, report) and what is damaged in it, the list of
runs and their summaries (a site failback's with its plans). Never raises raw JSON or OS errors: damage is reported,
naming the file (see docs/architecture.md, "Journal, resume, locks")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from srmctl.engine import events as ev
from srmctl.engine.journal import (
    EVENTS,
    MAX_EVENTS_BYTES,
    META,
    REPORT,
    REPORT_HTML,
    RUN_ID_PATTERN,
    Journal,
    RunDamaged,
    read_json,
    run_directory,
    runs_dir,
    scan_events,
)
from srmctl.engine.report_html import render_html
from srmctl.engine.srm_history import history_links
from srmctl.evidence import chain
from srmctl.evidence.chain import Chain

SUCCEEDED, FAILED, ABORTED, INCOMPLETE, DAMAGED = "succeeded", "failed", "aborted", "incomplete", "damaged"
SITE = "site"  # meta.json "kind" of a site failback (several recovery plans in order; docs/architecture.md)


@dataclass(frozen=True)
class StoredRun:
    run_id: str
    directory: Path
    meta: Mapping[str, Any]
    events: tuple[Mapping[str, Any], ...]
    report: Mapping[str, Any] | None
    damage: str | None = None  # why the run's files cannot be trusted, naming the file; None when intact
    chain: Chain | None = None  # the journal's hash chain (None when events.jsonl cannot be read)

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
    events, journal_chain = _load_events(directory / EVENTS, problems)
    wrong = _wrong_meta_keys(meta)
    if wrong:  # dropped, so readers see a key of the right type or none
        problems.append(f"{directory / META}: wrong type for {', '.join(wrong)}")
        meta = {key: value for key, value in meta.items() if key not in wrong}
    return StoredRun(run_id, directory, meta, tuple(events), report, "; ".join(problems) or None, journal_chain)


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


#: What resuming a plan's run needs from its meta.json.
RESUME_NEEDS = ("runbook_path", "runbook_sha256", "steps")
# Types of the meta.json keys readers use; a key may be absent (runs written by older srmctl), not wrong.
_META_TYPES: dict[str, tuple[type, ...]] = {
    "run_id": (str,),
    "runbook": (str,),
    "runbook_path": (str,),
    "runbook_sha256": (str,),
    "started": (str,),
    "lab_dir": (str, type(None)),
    "steps": (list,),
    "kind": (str,),
    "site_run": (str,),
    "plans": (list,),
}


def _wrong_meta_keys(meta: Mapping[str, Any]) -> list[str]:
    wrong = [key for key, types in _META_TYPES.items() if key in meta and not isinstance(meta[key], types)]
    if isinstance(meta.get("steps"), list) and not all(isinstance(s, str) for s in meta["steps"]):
        wrong.append("steps")
    return wrong


def _load_events(path: Path, problems: list[str]) -> tuple[list[dict[str, Any]], Chain | None]:
    """The readable events and their hash chain; a torn last line is not damage (resume cuts it off), a
    broken chain (an edited line) or anything else is."""
    try:
        size = path.stat().st_size
        if size > MAX_EVENTS_BYTES:
            problems.append(f"{path} is larger than {MAX_EVENTS_BYTES} bytes: not a file srmctl wrote")
            return [], None
        raw = path.read_bytes()
    except FileNotFoundError:
        return [], chain.check(b"", path.parent.name)
    except OSError as error:
        problems.append(f"{path} cannot be read: {error.strerror or error}")
        return [], None
    scan = scan_events(raw)
    if scan.bad_line is not None and not scan.bad_is_last:
        problems.append(f"{path} line {scan.bad_line} is not a journal event, and events follow it")
    found = chain.check(raw, path.parent.name)
    if not found.intact:
        problems.append(f"{path} {found.describe()}")
    for number, event in enumerate(scan.events, 1):
        problem = _event_problem(event)
        if problem:
            problems.append(f"{path}: event {number} {problem}")
            return scan.events[: number - 1], found
    return scan.events, found


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
        return sorted(p.name for p in root.iterdir() if RUN_ID_PATTERN.match(p.name) and (p / META).is_file())
    except OSError as error:
        raise RunDamaged(f"{root} cannot be read: {error.strerror or error}") from None


@dataclass(frozen=True)
class StepOutcome:
    step: str
    status: str  # verified | failed | interrupted | not_run
    actions_done: int
    seconds: float | None
    message: str


def step_outcomes(events: Sequence[Mapping[str, Any]], names: Sequence[str]) -> tuple[StepOutcome, ...]:
    """Per step, from the journal: the last attempt's status, actions done over all attempts, its time."""
    from datetime import datetime

    outcomes = []
    for name in names:
        mine = [e for e in events if e.get("step") == name]
        done = sum(1 for e in mine if e.get("kind") == ev.ACTION_DONE)
        starts = [e for e in mine if e.get("kind") == ev.STEP_STARTED]
        ends = [e for e in mine if e.get("kind") in (ev.STEP_VERIFIED, ev.STEP_FAILED)]
        stale = [e for e in mine if e.get("kind") == ev.STEP_STALE]
        if stale and (not starts or stale[-1]["at"] >= starts[-1]["at"]):
            # Found no longer holding by a resume, and not run again since.
            outcomes.append(StepOutcome(name, "not_run", done, None, "no longer held when the run resumed"))
            continue
        if not starts:
            outcomes.append(StepOutcome(name, "not_run", done, None, ""))
            continue
        last_start = starts[-1]
        end = ends[-1] if ends and ends[-1]["at"] >= last_start["at"] else None
        if end is None:
            outcomes.append(StepOutcome(name, "interrupted", done, None, "no outcome journaled (crash?)"))
            continue
        seconds = (datetime.fromisoformat(end["at"]) - datetime.fromisoformat(last_start["at"])).total_seconds()
        status = "verified" if end["kind"] == ev.STEP_VERIFIED else "failed"
        outcomes.append(
            StepOutcome(name, status, done, round(seconds, 3), str(end.get("summary") or end.get("error") or ""))
        )
    return tuple(outcomes)


@dataclass(frozen=True)
class PlanSummary:
    """One recovery plan of a site failback: its runbook, and the run that fails it back (once started)."""

    index: int  # 1-based, in the site failback's order
    runbook: str
    recovery_plan: str
    run_id: str
    outcome: str  # a run's outcome, or not_started
    steps: tuple[StepOutcome, ...]


NOT_STARTED = "not_started"


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    runbook: str
    started: str
    outcome: str  # succeeded | failed | aborted | incomplete (crashed or still running) | damaged
    steps: tuple[StepOutcome, ...]
    journal: str
    damage: str | None = None  # for a damaged run: which file, and what is wrong with it
    plans: tuple[PlanSummary, ...] = ()  # a site failback's plans in order (their steps are there, not in steps)
    site_run: str | None = None  # the site failback this run is one plan of
    position: str | None = None  # where an unfinished run stands: "plan 2/2 tier2, step plan.migrate"
    error: str | None = None  # why a failed or aborted run ended (a preflight refusal while planning has no step)
    journal_chain: str | None = None  # the journal's hash chain in words (evidence/chain.py)


def run_summary(home: Path, run_id: str) -> RunSummary:
    stored = load_run(home, run_id)
    report = stored.report or {}
    if stored.meta.get("kind") == SITE:
        outcome = DAMAGED if stored.damage else str(report.get("outcome") or INCOMPLETE)
        return _site_summary(home, stored, outcome)
    if stored.damage is None and stored.report is None:
        # An unfinished run is listed as resumable ("incomplete") only when resume has what it needs.
        lacking = [key for key in RESUME_NEEDS if key not in stored.meta]
        if lacking:
            stored = replace(stored, damage=f"{stored.directory / META} lacks {', '.join(lacking)}")
    outcome = DAMAGED if stored.damage else str(report.get("outcome") or INCOMPLETE)
    steps = step_outcomes(stored.events, stored.meta.get("steps", []))
    site_run = stored.meta.get("site_run")
    return RunSummary(
        run_id=run_id,
        runbook=str(stored.meta.get("runbook", "")),
        started=str(stored.meta.get("started", "")),
        outcome=outcome,
        steps=steps,
        journal=str(stored.directory),
        damage=stored.damage,
        site_run=site_run if isinstance(site_run, str) else None,
        position=None if outcome == SUCCEEDED else _step_position(steps),
        error=_error(report),
        journal_chain=stored.chain.describe() if stored.chain else None,
    )


def _error(report: Mapping[str, Any]) -> str | None:
    error = report.get("error")
    return error if isinstance(error, str) and error else None


def _step_position(steps: Sequence[StepOutcome]) -> str | None:
    waiting = next((s for s in steps if s.status != "verified"), None)
    return None if waiting is None else f"step {waiting.step} ({waiting.status.replace('_', ' ')})"


def site_plans(meta: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A site failback's plan entries (meta.json ``plans``), the malformed ones left out."""
    plans = meta.get("plans")
    return (
        [
            p
            for p in plans
            if isinstance(p, Mapping) and isinstance(p.get("run_id"), str) and isinstance(p.get("index"), int)
        ]
        if isinstance(plans, list)
        else []
    )


def _site_summary(home: Path, stored: StoredRun, outcome: str) -> RunSummary:
    plans = []
    for entry in site_plans(stored.meta):
        child = None
        if (runs_dir(home) / entry["run_id"] / META).is_file():
            child = run_summary(home, entry["run_id"])
        plans.append(
            PlanSummary(
                index=entry["index"],
                runbook=str(entry.get("runbook", "")),
                recovery_plan=str(entry.get("recovery_plan", "")),
                run_id=entry["run_id"],
                outcome=child.outcome if child else NOT_STARTED,
                steps=child.steps if child else (),
            )
        )
    position = None
    if outcome != SUCCEEDED:
        here = next((p for p in plans if p.outcome != SUCCEEDED), None)
        if here is not None:
            where = _step_position(here.steps) if here.outcome != NOT_STARTED else "not started"
            position = f"plan {here.index}/{len(plans)} {here.runbook} ({here.recovery_plan}): {where}"
    return RunSummary(
        run_id=stored.run_id,
        runbook=" → ".join(p.runbook for p in plans),
        started=str(stored.meta.get("started", "")),
        outcome=outcome,
        steps=(),
        journal=str(stored.directory),
        damage=stored.damage,
        plans=tuple(plans),
        position=position,
    )


def list_runs(home: Path) -> tuple[RunSummary, ...]:
    """Every run, oldest first; a site failback's plans are listed inside it, not again on their own."""
    found = (run_summary(home, run_id) for run_id in list_run_ids(home))
    return tuple(run for run in found if run.site_run is None)


def reportable(home: Path, run_id: str, doing: str = "report") -> StoredRun:
    """A run whose journal is intact and that is not a site failback (each of a site failback's plans has its own)."""
    stored = load_run(home, run_id).intact(doing)
    if stored.meta.get("kind") == SITE:
        runs = ", ".join(p["run_id"] for p in site_plans(stored.meta))
        raise RunDamaged(f"run {run_id} is a site failback; each of its plans has its own report: {runs}")
    stored.intact(doing, needs=("run_id", "steps"))  # a meta.json without them describes no run
    return stored


def run_report(stored: StoredRun) -> Mapping[str, Any]:
    """The run's report.json, or for a run that has none (crashed, or still running) one from its journal."""
    return stored.report or {
        "outcome": INCOMPLETE,
        "journal": str(stored.directory),
        "steps": [asdict(s) for s in step_outcomes(stored.events, stored.meta.get("steps", []))],
        "srm_history": history_links(stored.events),
    }


def html_report(home: Path, run_id: str) -> Path:
    """``report.html`` of a run, (re)generated from its journal so crashed and resumed runs have one too."""
    stored = reportable(home, run_id)
    journal = Journal.open(home, run_id)
    return journal.write_text(REPORT_HTML, render_html(stored.meta, stored.events, run_report(stored)))
