"""Damaged run folders (issue #13, defects 4 and 5, and the runbook copy's hash): a torn last line is cut off
before a run appends; a corrupt meta.json, events.jsonl or report.json makes that one run "damaged", never
a crash of every command; resume refuses a runbook copy that is not the one the run started with.

No lab: every refusal here happens before srmctl connects to anything."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import srmctl
from srmctl.cli.main import cli
from srmctl.engine import html_report, list_runs, pending_run, run_summary
from srmctl.engine.events import Event
from srmctl.engine.journal import EVENTS, META, REPORT, TAIL_CUT, Journal, RunDamaged, read_events
from srmctl.engine.pending_run import runbook_of

RUNBOOK = Path(srmctl.__file__).parent.parent / "playbooks" / "lab.yaml"
T = "2026-11-25T10:00:{:02d}.000+00:00"
GOOD_ID, BAD_ID = "20261125T100000Z-good-0001", "20261125T100100Z-bad-0002"


def _make_run(home: Path, run_id: str, *, finished: bool = True, runbook_path: Path | None = None) -> Journal:
    raw = RUNBOOK.read_bytes()
    journal = Journal.create(
        home,
        run_id,
        runbook_bytes=raw,
        meta={
            "run_id": run_id,
            "runbook": "lab-failback",
            "runbook_path": str(runbook_path or home / "gone.yaml"),
            "runbook_sha256": hashlib.sha256(raw).hexdigest(),
            "lab_dir": None,
            "steps": ["orphans.unregister"],
            "started": T.format(0),
        },
    )
    journal.append(Event("run_started", None, at=T.format(0)))
    journal.append(Event("step_started", "orphans.unregister", at=T.format(1)))
    if finished:
        journal.append(Event("step_verified", "orphans.unregister", {"summary": "done"}, at=T.format(2)))
        journal.write_json(REPORT, {"outcome": "succeeded", "steps": []})
    return journal


def _kinds(directory: Path) -> list[str]:
    return [e["kind"] if e["kind"] != "record" else e["record"] for e in read_events(directory)]


# --- defect 4: a torn last line is cut off before anything is appended ------------------------------------


@pytest.mark.parametrize(
    "tail",
    [
        b'{"at":"2026-11-25T10:00:03.000+00:00","kind":"action_do',  # the write a crash interrupted
        b'{"at":"2026-11-25T10:00:03.000+00:00","kind":"action_done","step":"x"}',  # whole, but no newline
        b"\x00" * 40,  # a file system that extended the file but never wrote the data
        b"5\n",  # a last line that is JSON but not an event
    ],
)
def test_torn_tail_is_cut_and_kept_before_the_next_append(tmp_path: Path, tail: bytes) -> None:
    _make_run(tmp_path, GOOD_ID, finished=False)
    events = tmp_path / "runs" / GOOD_ID / EVENTS
    whole = events.read_bytes()
    with events.open("ab") as handle:
        handle.write(tail)
    # resume opens the journal and appends: every event of the resumed run must be readable afterwards
    journal = Journal.open(tmp_path, GOOD_ID)
    journal.append(Event("run_resumed", None))
    journal.append(Event("step_verified", "orphans.unregister", {"summary": "done"}))
    assert _kinds(journal.directory) == ["run_started", "step_started", TAIL_CUT, "run_resumed", "step_verified"]
    assert events.read_bytes().startswith(whole)
    side = journal.directory / f"{EVENTS}.torn-1"
    assert side.read_bytes() == tail
    assert side.stat().st_mode & 0o777 == 0o600
    record = read_events(journal.directory)[2]
    assert record["kept_in"] == side.name and record["bytes_cut"] == len(tail) and record["line"] == 3
    assert run_summary(tmp_path, GOOD_ID).steps[0].status == "verified"


def test_a_second_torn_tail_gets_its_own_side_file(tmp_path: Path) -> None:
    journal = _make_run(tmp_path, GOOD_ID, finished=False)
    for n, fragment in enumerate([b'{"kind": "a', b'{"kind": "b'], 1):
        with (journal.directory / EVENTS).open("ab") as handle:
            handle.write(fragment)
        Journal.open(tmp_path, GOOD_ID).append(Event("run_resumed", None))
        assert (journal.directory / f"{EVENTS}.torn-{n}").read_bytes() == fragment
    assert _kinds(journal.directory)[-4:] == [TAIL_CUT, "run_resumed", TAIL_CUT, "run_resumed"]


def test_a_whole_journal_is_not_touched(tmp_path: Path) -> None:
    journal = _make_run(tmp_path, GOOD_ID, finished=False)
    Journal.open(tmp_path, GOOD_ID).append(Event("run_resumed", None))
    assert _kinds(journal.directory) == ["run_started", "step_started", "run_resumed"]
    assert not list(journal.directory.glob("*.torn-*"))


def test_readers_never_cut_a_tail(tmp_path: Path) -> None:
    """Only a run holding the lock appends; a report of a run another process is writing must not cut the
    line that process is in the middle of."""
    journal = _make_run(tmp_path, GOOD_ID, finished=False)
    with (journal.directory / EVENTS).open("ab") as handle:
        handle.write(b'{"kind": "action_do')
    before = (journal.directory / EVENTS).read_bytes()
    html_report(tmp_path, GOOD_ID)
    run_summary(tmp_path, GOOD_ID)
    assert (journal.directory / EVENTS).read_bytes() == before


def test_garbage_before_the_last_line_is_not_cut_but_refused(tmp_path: Path) -> None:
    journal = _make_run(tmp_path, GOOD_ID, finished=False)
    events = journal.directory / EVENTS
    events.write_bytes(events.read_bytes() + b"garbage\n" + b'{"at":"' + T.format(5).encode() + b'","kind":"x"}\n')
    before = events.read_bytes()
    with pytest.raises(RunDamaged, match="line 3 is not a journal event"):
        Journal.open(tmp_path, GOOD_ID).append(Event("run_resumed", None))
    assert events.read_bytes() == before


# --- defect 5: one damaged run folder is listed as damaged; resume and --report refuse it clearly -------

Damage = Callable[[Path], None]
DAMAGES: dict[str, tuple[Damage, str]] = {
    "meta not json": (lambda d: (d / META).write_text('{"run_id": '), META),
    "meta a list": (lambda d: (d / META).write_text("[1, 2]"), META),
    "meta not utf-8": (lambda d: (d / META).write_bytes(b"\xff\xfe{}"), META),
    "meta nested too deep": (lambda d: (d / META).write_text("[" * 100_000), META),
    "meta wrong types": (lambda d: (d / META).write_text('{"steps": 5, "runbook": [], "lab_dir": 1}'), META),
    "report not json": (lambda d: (d / REPORT).write_text("{"), REPORT),
    "report a string": (lambda d: (d / REPORT).write_text('"succeeded"'), REPORT),
    "report a folder": (lambda d: ((d / REPORT).unlink(), (d / REPORT).mkdir()), REPORT),
    "events garbage mid-file": (
        lambda d: (d / EVENTS).write_bytes(b"\x00garbage\n" + (d / EVENTS).read_bytes()),
        EVENTS,
    ),
    "events without time": (lambda d: (d / EVENTS).write_text('{"kind": "step_started", "step": "x"}\n'), EVENTS),
    "events with a bad step": (
        lambda d: (d / EVENTS).write_text(json.dumps({"at": T.format(1), "kind": "step_started", "step": [1]}) + "\n"),
        EVENTS,
    ),
    "events a folder": (lambda d: ((d / EVENTS).unlink(), (d / EVENTS).mkdir()), EVENTS),
}


@pytest.fixture
def damaged_home(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, str]:
    _make_run(tmp_path, GOOD_ID)
    _make_run(tmp_path, BAD_ID)
    damage, file = DAMAGES[request.param]
    damage(tmp_path / "runs" / BAD_ID)
    return tmp_path, file


@pytest.mark.parametrize("damaged_home", sorted(DAMAGES), indirect=True)
def test_a_damaged_run_is_listed_as_damaged_and_the_others_normally(damaged_home: tuple[Path, str]) -> None:
    home, file = damaged_home
    found = {run.run_id: run for run in list_runs(home)}
    assert found[GOOD_ID].outcome == "succeeded" and found[GOOD_ID].damage is None
    assert found[BAD_ID].outcome == "damaged"
    assert str(home / "runs" / BAD_ID / file) in (found[BAD_ID].damage or "")


@pytest.mark.parametrize("damaged_home", sorted(DAMAGES), indirect=True)
def test_resume_and_report_of_a_damaged_run_refuse_naming_the_file(damaged_home: tuple[Path, str]) -> None:
    home, file = damaged_home
    for attempt in (lambda: html_report(home, BAD_ID), lambda: pending_run(home, BAD_ID)):
        with pytest.raises(RunDamaged, match=f"run {BAD_ID}: .*{file}") as refused:
            attempt()
        assert refused.value.exit_code == 2
    assert html_report(home, GOOD_ID).is_file()


@pytest.mark.parametrize("damaged_home", ["meta not json", "events garbage mid-file", "report a folder"], indirect=True)
def test_cli_lists_damaged_runs_and_refuses_them_with_exit_2(
    damaged_home: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, file = damaged_home
    monkeypatch.setenv("SRMCTL_HOME", str(home))
    listing = CliRunner().invoke(cli, ["runs"], terminal_width=250)
    assert listing.exit_code == 0, listing.output
    assert GOOD_ID in listing.output and "succeeded" in listing.output
    assert f"{BAD_ID} is damaged: " in listing.output and file in listing.output
    as_json = CliRunner().invoke(cli, ["runs", "-o", "json"])
    runs = {r["run_id"]: r for r in json.loads(as_json.output)["result"]["runs"]}
    assert runs[BAD_ID]["outcome"] == "damaged" and file in runs[BAD_ID]["damage"]
    one = CliRunner().invoke(cli, ["runs", BAD_ID], terminal_width=250)
    assert one.exit_code == 0 and "damaged" in one.output and file in one.output
    for args in (["runs", BAD_ID, "--report"], ["resume", BAD_ID, "--yes"]):
        refused = CliRunner().invoke(cli, args, terminal_width=250)
        assert refused.exit_code == 2, refused.output
        assert refused.exception is None or isinstance(refused.exception, SystemExit)
        assert "srmctl: error: cannot" in refused.output and file in refused.output


def test_folders_that_are_not_runs_are_skipped(tmp_path: Path) -> None:
    _make_run(tmp_path, GOOD_ID)
    (tmp_path / "runs" / "not a run id").mkdir()
    (tmp_path / "runs" / "not a run id" / META).write_text("{}")
    (tmp_path / "runs" / "stray-file").write_text("x")
    assert [run.run_id for run in list_runs(tmp_path)] == [GOOD_ID]


def test_resume_refuses_a_meta_without_what_it_needs(tmp_path: Path) -> None:
    journal = _make_run(tmp_path, GOOD_ID, finished=False)
    journal.write_json(META, {"run_id": GOOD_ID})
    with pytest.raises(RunDamaged, match="lacks runbook_path, runbook_sha256, steps"):
        pending_run(tmp_path, GOOD_ID)


# --- the runbook copy kept with a run is checked against its stored hash ----------------------------------


def test_resume_uses_the_copy_only_when_its_hash_matches(tmp_path: Path) -> None:
    journal = _make_run(tmp_path, GOOD_ID, finished=False)
    meta = journal.read_json(META)
    assert runbook_of(journal.directory, meta).name == "lab-failback"  # original gone, copy intact
    copy = journal.directory / "runbook.yaml"
    copy.write_text(copy.read_text().replace("name: mail04", "name: ceo-laptop"))
    with pytest.raises(RunDamaged, match="sha256 differs"):
        runbook_of(journal.directory, meta)
    with pytest.raises(RunDamaged, match="sha256 differs"):
        pending_run(tmp_path, GOOD_ID)
    os.unlink(copy)
    with pytest.raises(RunDamaged, match="sha256 differs"):
        runbook_of(journal.directory, meta)
