"""The journal on its own: private files, redaction, torn last lines, run ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from srmctl.engine.events import Event
from srmctl.engine.journal import Journal, new_run_id, redact
from srmctl.engine.stored_runs import load_run
from srmctl.errors import NotFound, UsageError


def test_redacts_secret_keys_and_known_secret_values() -> None:
    data = {
        "password": "hunter2!",
        "user": "admin",
        "nested": [{"api_token": "t0k3n"}],
        "message": "login with hunter2! failed",
        "password_env": None,
    }
    assert redact(data, frozenset({"hunter2!"})) == {
        "password": "<redacted>",
        "user": "admin",
        "nested": [{"api_token": "<redacted>"}],
        "message": "login with <redacted> failed",
        "password_env": None,
    }


def test_events_are_private_appended_and_survive_a_torn_line(tmp_path: Path) -> None:
    run_id = new_run_id("mail-back")
    journal = Journal.create(
        tmp_path, run_id, runbook_bytes=b"version: 1\n", meta={"run_id": run_id}, secrets=["s3cret-pw"]
    )
    journal.append(Event("record", "orphans.unregister", {"note": "pw is s3cret-pw"}))
    journal.append(Event("action_done", "orphans.unregister", {}))
    with (journal.directory / "events.jsonl").open("a") as handle:
        handle.write('{"kind": "action_do')  # a crash in the middle of a write
    stored = load_run(tmp_path, run_id)
    assert [e["kind"] for e in stored.events] == ["record", "action_done"]
    assert stored.events[0]["note"] == "pw is <redacted>"
    assert {p.stat().st_mode & 0o777 for p in journal.directory.iterdir()} == {0o600}


def test_run_ids_are_checked(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        load_run(tmp_path, "../../etc")
    with pytest.raises(NotFound):
        load_run(tmp_path, "20990101T000000Z-x-0000")
