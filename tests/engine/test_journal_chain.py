"""The journal's hash chain (evidence/chain.py): each line carries the hash of the one before it; resume and
the report refuse an edited journal (exit 2, naming the line); a journal written before the chain existed
still loads and is reported as unchained, and a resumed one is chained from its first new line.

No lab: every refusal here happens before srmctl connects to anything."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import srmctl
from srmctl.cli.main import cli
from srmctl.engine import pending_run, run_summary
from srmctl.engine.events import Event
from srmctl.engine.journal import EVENTS, Journal, RunDamaged
from srmctl.engine.stored_runs import load_run
from srmctl.evidence import chain

RUNBOOK = Path(srmctl.__file__).parent.parent / "playbooks" / "lab.yaml"
RUN_ID = "20261125T100000Z-chain-0001"
T = "2026-11-25T10:00:{:02d}.000+00:00"


def _run(home: Path) -> Path:
    raw = RUNBOOK.read_bytes()
    journal = Journal.create(
        home,
        RUN_ID,
        runbook_bytes=raw,
        meta={
            "run_id": RUN_ID,
            "runbook": "lab-failback",
            "runbook_path": str(home / "gone.yaml"),
            "runbook_sha256": hashlib.sha256(raw).hexdigest(),
            "steps": ["orphans.unregister", "groups.delete"],
            "started": T.format(0),
        },
    )
    for n, (kind, step) in enumerate(
        [
            ("run_started", None),
            ("step_started", "orphans.unregister"),
            ("step_verified", "orphans.unregister"),
            ("step_started", "groups.delete"),
        ]
    ):
        journal.append(Event(kind, step, {"n": n}, at=T.format(n)))
    return journal.directory / EVENTS


def test_each_line_links_to_the_one_before_and_a_reopened_journal_continues_the_chain(tmp_path: Path) -> None:
    events = _run(tmp_path)
    Journal.open(tmp_path, RUN_ID).append(Event("run_resumed", None))
    lines = events.read_bytes().splitlines()
    links = [json.loads(line)[chain.PREV] for line in lines]
    assert links[0] == chain.genesis(RUN_ID)
    assert links[1:] == [hashlib.sha256(line).hexdigest() for line in lines[:-1]]
    stored = load_run(tmp_path, RUN_ID)
    assert stored.damage is None and stored.chain is not None and stored.chain.state == chain.CHAINED
    assert stored.chain.head == hashlib.sha256(lines[-1]).hexdigest()


@pytest.mark.parametrize(
    ("edit", "line"),
    [
        (lambda lines: [lines[0], lines[1].replace(b'"n":1', b'"n":7'), *lines[2:]], 3),  # a value changed
        (lambda lines: [lines[0], *lines[2:]], 2),  # a line removed
        (lambda lines: [*lines[:2], lines[1], *lines[2:]], 3),  # a line repeated
        (
            lambda lines: [
                *lines[:3],
                json.dumps(
                    {k: v for k, v in json.loads(lines[3]).items() if k != "prev"}, separators=(",", ":")
                ).encode(),
            ],
            4,
        ),  # its hash taken out
    ],
)
def test_resume_and_report_refuse_an_edited_journal_naming_the_line(
    tmp_path: Path, edit, line: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = _run(tmp_path)
    events.write_bytes(b"\n".join(edit(events.read_bytes().splitlines())) + b"\n")
    with pytest.raises(RunDamaged, match=f"line {line}: "):
        pending_run(tmp_path, RUN_ID)
    with pytest.raises(RunDamaged, match=f"line {line}: "):
        Journal.open(tmp_path, RUN_ID).append(Event("run_resumed", None))  # nothing vouches for the edit
    monkeypatch.setenv("SRMCTL_HOME", str(tmp_path))
    for args in (["resume", RUN_ID, "--yes"], ["runs", RUN_ID, "--report"], ["report", RUN_ID]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, (args, result.output)
        assert f"events.jsonl line {line}: " in result.output and "Traceback" not in result.output
    assert run_summary(tmp_path, RUN_ID).outcome == "damaged"


def test_an_old_unchained_journal_loads_resumes_and_is_chained_from_its_first_new_line(tmp_path: Path) -> None:
    events = _run(tmp_path)
    old = [
        json.dumps({k: v for k, v in json.loads(line).items() if k != chain.PREV}, separators=(",", ":"))
        for line in events.read_text().splitlines()
    ]
    events.write_text("\n".join(old) + "\n")
    stored = load_run(tmp_path, RUN_ID)
    assert stored.damage is None and stored.chain is not None and stored.chain.state == chain.UNCHAINED
    assert "unchained" in (run_summary(tmp_path, RUN_ID).journal_chain or "")
    assert pending_run(tmp_path, RUN_ID).steps == ("groups.delete",)
    Journal.open(tmp_path, RUN_ID).append(Event("run_resumed", None))
    resumed = load_run(tmp_path, RUN_ID)
    assert resumed.damage is None and resumed.chain is not None
    assert resumed.chain.state == chain.PARTLY and resumed.chain.first_chained == 5
    # an edit of the unchained part before the chained line is still seen: the first chained line vouches for it
    lines = events.read_bytes().splitlines()
    events.write_bytes(b"\n".join([*lines[:3], lines[3].replace(b'"n":3', b'"n":4'), lines[4]]) + b"\n")
    assert "line 5: " in (load_run(tmp_path, RUN_ID).damage or "")


def test_a_torn_last_line_is_not_an_edit(tmp_path: Path) -> None:
    events = _run(tmp_path)
    with events.open("ab") as handle:
        handle.write(b'{"at":"2026-11-25T10:00:09.000+00:00","kind":"action_do')
    assert load_run(tmp_path, RUN_ID).damage is None
    Journal.open(tmp_path, RUN_ID).append(Event("run_resumed", None))
    stored = load_run(tmp_path, RUN_ID)
    assert stored.damage is None and stored.chain is not None and stored.chain.state == chain.CHAINED
    assert (events.parent / f"{EVENTS}.torn-1").is_file()


def test_a_password_that_looks_like_hex_never_edits_a_link(tmp_path: Path) -> None:
    """Secrets are redacted from every line; a link is a hash, and a hex-looking password inside it stays."""
    secrets = [format(n, "x") * 4 for n in range(16)]  # "0000", "1111", ... "ffff"
    journal = Journal.create(tmp_path, RUN_ID, runbook_bytes=None, meta={"run_id": RUN_ID}, secrets=secrets)
    for n in range(200):  # fixed times: the same links every time, and some hold one of those secrets
        journal.append(Event("record", None, {"n": n}, at=f"2026-11-25T10:00:00.{n:03d}+00:00"))
    lines = [json.loads(line) for line in (journal.directory / EVENTS).read_text().splitlines()]
    assert any(secret in line[chain.PREV] for line in lines for secret in secrets)
    assert not any("<redacted>" in line[chain.PREV] for line in lines)
    assert load_run(tmp_path, RUN_ID).damage is None
