"""The journal's hash chain (see docs/architecture.md, "Evidence"): every event line carries, under
:data:`PREV`, the SHA-256 of the line before it (the first line: of the run's id), so a line edited, removed
or inserted after it was written breaks the chain at the next line.

What the chain proves is bounded: someone who edits a line and recomputes every later hash leaves a
consistent chain, and the last line has no successor to vouch for it. The evidence pack's manifest records
the last line's hash (signed, with ``--sign``), which anchors the whole chain.

Journals written before srmctl chained its events have no :data:`PREV` and are *unchained*; a resumed one
is chained from the first line the new srmctl appended (*partly chained*). A line without a hash after a
chained one is an edit."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

PREV = "prev"  # the key of an event's link: hex SHA-256 of the previous line's bytes (without its newline)
CHAINED, UNCHAINED, PARTLY = "chained", "unchained", "partly chained"


def genesis(run_id: str) -> str:
    """What the first line links to: a journal copied into another run's folder does not check."""
    return line_hash(f"srmctl journal {run_id}".encode())


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


@dataclass(frozen=True)
class Chain:
    """What a journal's chain says: its state, the last line's hash (the head a pack's manifest records),
    and the first line that does not follow the one before it."""

    state: str  # chained | unchained | partly chained
    head: str  # hash of the last complete line; the genesis when there is none
    lines: int  # event lines checked
    first_chained: int | None = None  # 1-based line number of the first line that carries a hash
    bad_line: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.bad_line is None

    def describe(self) -> str:
        if self.bad_line is not None:
            return f"line {self.bad_line}: {self.problem}"
        if self.state == PARTLY:
            return (
                f"partly chained: lines 1-{(self.first_chained or 1) - 1} were written by an older srmctl "
                f"without hashes; chained from line {self.first_chained}"
            )
        if self.state == UNCHAINED:
            return "unchained: written by an older srmctl, without hashes"
        return f"chained, {self.lines} lines, last hash {self.head}"


def check(raw: bytes, run_id: str) -> Chain:
    """The chain of a journal's bytes, up to its first line that is not an event (a torn tail, which resume
    cuts off, is not part of the chain)."""
    expected = genesis(run_id)
    first_chained: int | None = None
    lines = 0
    for number, line in enumerate(raw.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError):
            break
        if not isinstance(event, dict):
            break
        lines += 1
        link = event.get(PREV)
        if link is None and first_chained is not None:
            return _broken(
                first_chained,
                lines,
                number,
                expected,
                "no hash, although the lines before it are chained (a line was edited or inserted here)",
            )
        if link is not None:
            if link != expected:
                return _broken(
                    first_chained or number,
                    lines,
                    number,
                    expected,
                    "does not follow the line before it (hash chain broken: the line before it was "
                    "edited, or a line was removed or inserted here)",
                )
            first_chained = first_chained or number
        expected = line_hash(line)
    state = CHAINED if first_chained == _first_line(raw) else UNCHAINED if first_chained is None else PARTLY
    if lines == 0:
        state = CHAINED
    return Chain(state, expected, lines, first_chained)


def _broken(first_chained: int, lines: int, number: int, head: str, problem: str) -> Chain:
    return Chain(CHAINED, head, lines, first_chained, number, problem)


def _first_line(raw: bytes) -> int | None:
    for number, line in enumerate(raw.split(b"\n"), 1):
        if line.strip():
            return number
    return None
