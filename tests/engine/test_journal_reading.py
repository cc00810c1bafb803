"""Reading a damaged ``events.jsonl`` (issue #13): a torn or garbage line never crashes a reader; the events
before it stand."""

from __future__ import annotations

from pathlib import Path

import pytest

from srmctl.engine.events import Event
from srmctl.engine.journal import EVENTS, Journal, read_events

GOOD = b'{"kind":"record","step":"a"}\n{"kind":"action_done","step":"a"}\n'


@pytest.mark.parametrize(
    "tail",
    [
        b'{"kind": "action_do',  # torn write
        b"\xff\xfe\x00garbage\n",  # not UTF-8
        b"[" * 100_000 + b"\n",  # nested beyond the JSON parser's recursion limit
        b"5\n",  # JSON, but not an event
        b"null\n",
        b'["kind"]\n',
        b"\x00" * 64,
    ],
)
def test_damaged_line_ends_the_readable_events(tmp_path: Path, tail: bytes) -> None:
    (tmp_path / EVENTS).write_bytes(GOOD + tail + b'{"kind":"after"}\n')
    assert [e["kind"] for e in read_events(tmp_path)] == ["record", "action_done"]


def test_blank_lines_are_not_the_end(tmp_path: Path) -> None:
    (tmp_path / EVENTS).write_bytes(b'{"kind":"a"}\n\n{"kind":"b"}\n')
    assert [e["kind"] for e in read_events(tmp_path)] == ["a", "b"]


def test_missing_events_file_is_no_events(tmp_path: Path) -> None:
    assert read_events(tmp_path) == []


def test_appended_events_read_back(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append(Event("record", "s", {"text": "caf\u00e9 \u2028 line"}))
    assert read_events(tmp_path)[0]["text"] == "caf\u00e9 \u2028 line"
