"""What a validation finding is: a key path, a message and where in the file to point."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

#: A key path into the runbook data, as pydantic reports it: mapping keys and list indexes.
Loc = tuple[str | int, ...]

#: Which YAML node a finding points at: the key token, its value, or (for missing keys) the mapping that
#: should have held the key.
Anchor = Literal["key", "value", "parent"]


@dataclass(frozen=True)
class Mark:
    """A 1-based position in the runbook file."""

    line: int
    column: int


@dataclass(frozen=True)
class Problem:
    loc: Loc
    message: str
    anchor: Anchor = "value"
    mark: Mark | None = None  # set when the position is known without a key path (YAML syntax errors)

    @property
    def keypath(self) -> str:
        return format_keypath(self.loc)


def format_keypath(loc: Loc) -> str:
    """``("vms", 2, "name")`` → ``vms[2].name``; the document itself is ``(root)``. Keys that would make
    the path ambiguous (empty, or holding '.', '[' or spaces) are quoted: ``sites["new york"].srm``; so are
    keys with control or other unprintable characters, escaped, so a finding never drives the terminal."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not part or any(c in part for c in ".[] ") or not part.isprintable():
            text += f"[{json.dumps(part)}]"
        else:
            text += f".{part}" if text else part
    return text or "(root)"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'rpo'?)`` when a close match exists, else an empty string."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""
