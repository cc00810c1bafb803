"""Load a runbook file: YAML with positions → checks → typed :class:`Runbook`, or every problem at once.

Every finding reads ``path:LINE:COL: key.path: message`` with ``path`` exactly as the user gave it, so editors
and CI logs can jump to it. Nothing here talks to the network or reads a secret.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from srmctl.runbook.checks import cross_checks, duration_too_long, literal_secrets, local_checks, without
from srmctl.runbook.models import DURATION_PATTERN, FORMAT_VERSION, PATTERN_HINTS, Runbook
from srmctl.runbook.problems import Anchor, Loc, Problem, did_you_mean
from srmctl.runbook.schema import allowed_keys, schema_at
from srmctl.runbook.source import Document, YamlRejected, format_problem, load_file, reject

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class LoadedRunbook:
    """A valid runbook, the path it was read from (as given) and its warnings, formatted like problems."""

    runbook: Runbook
    path: str
    warnings: tuple[str, ...] = ()


def load_runbook(path: PathLike) -> Runbook:
    """The typed runbook at ``path``; raises :class:`RunbookInvalid` listing every problem."""
    return read_runbook(path).runbook


def read_runbook(path: PathLike) -> LoadedRunbook:
    """Like :func:`load_runbook`, also returning the warnings (unset password variables, missing files)."""
    shown = os.fspath(path)
    doc = _parse_file(shown)
    data = doc.data
    if not isinstance(data, dict):
        reject(shown, doc, [Problem((), f"a runbook must be a mapping of keys, got {describe(data)}")])
    version_problem = _check_version(data)
    if version_problem:
        # Keys of another format version would only produce noise; this is the one thing to fix.
        reject(shown, doc, [version_problem])
    base_dir = Path(shown).parent
    errors, warnings = local_checks(data, base_dir)
    too_long = duration_bounds(data)
    problems = [*doc.problems, *literal_secrets(data), *cross_checks(data), *errors, *too_long]
    runbook = _validate(doc, without(data, [p.loc for p in too_long]), base_dir, problems)
    if problems or runbook is None:
        reject(shown, doc, problems)
    return LoadedRunbook(runbook, shown, tuple(format_problem(shown, doc, w, "warning: ") for w in warnings))


def duration_bounds(data: Any, loc: Loc = ()) -> list[Problem]:
    """Every duration in the runbook (found through the schema) longer than :data:`MAX_DURATION`. The loader
    leaves these values out of model validation, where they would overflow a timedelta."""
    problems = []
    if isinstance(data, Mapping):
        items: Iterable[tuple[str | int, Any]] = ((str(k), v) for k, v in data.items())
    elif isinstance(data, list):
        items = enumerate(data)
    else:
        message = duration_too_long(data)
        node = schema_at(loc) if message else None
        return [Problem(loc, message)] if message and node and node.get("pattern") == DURATION_PATTERN else []
    for key, value in items:
        problems.extend(duration_bounds(value, (*loc, key)))
    return problems


def _check_version(data: dict[str, Any]) -> Problem | None:
    version = data.get("version", FORMAT_VERSION)  # a missing version is reported with the other keys
    if isinstance(version, bool) or not isinstance(version, int):
        return Problem(("version",), f"expected the number {FORMAT_VERSION}, got {describe(version)}")
    if version != FORMAT_VERSION:
        return Problem(
            ("version",), f"unsupported runbook version {version}: this srmctl reads version {FORMAT_VERSION}"
        )
    return None


def _parse_file(shown: str) -> Document:
    """The file's YAML, size- and depth-limited (see docs/runbook.md, "Limits")."""
    try:
        return load_file(shown, "runbook")
    except YamlRejected as rejected:
        reject(shown, Document(None), rejected.problems)


def _validate(doc: Document, data: Any, base_dir: Path, problems: list[Problem]) -> Runbook | None:
    """Validate ``data`` (the document's, less values a check already refused) against the models, adding
    their findings to ``problems`` unless a check already reported the same key (a literal ``password:`` is a
    secret leak first, and an unknown key only second)."""
    context = {"base_dir": base_dir, "skip_cross_checks": True}
    try:
        return Runbook.model_validate(data, context=context)
    except ValidationError as error:
        reported = {p.loc for p in problems}
        found = (translate(e, doc.texts.get(tuple(e["loc"]))) for e in error.errors() if not _explained(e))
        problems.extend(p for p in found if p.loc not in reported)
        return None


def _explained(error: Any) -> bool:
    """A list with enough entries that is "too short" only because its entries failed (``steps: [null, 5]``):
    the entries' own findings say what is wrong, and "must not be empty" would mislead."""
    value, least = error.get("input"), error.get("ctx", {}).get("min_length", 0)
    return bool(error["type"] == "too_short" and isinstance(value, (list, tuple, dict)) and len(value) >= least)


# --- pydantic errors in an operator's words ----------------------------------------------------------------

_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "bool_type": "true or false",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "dict_type": "a mapping",
    "list_type": "a list",
    "tuple_type": "a list",
    "path_type": "a file path",
    "literal_error": "",
}


def translate(error: Any, written: str | None = None) -> Problem:
    """One pydantic error as a :class:`Problem` with a message that says what to write instead; ``written``
    is the scalar as it appears in the file, when it differs from what YAML made of it."""
    loc = tuple(error["loc"])
    if loc and loc[-1] == "[key]":  # a mapping key failed its own check, e.g. an empty site name
        return Problem(loc[:-1], _message(error, loc[:-1], None), "key")
    return Problem(loc, _message(error, loc, written), _anchor(error["type"]))


def _anchor(kind: str) -> Anchor:
    """A missing key is reported at the mapping that lacks it, an unknown key at the key itself."""
    if kind == "missing":
        return "parent"
    return "key" if kind == "extra_forbidden" else "value"


def _message(error: Any, loc: Loc, written: str | None) -> str:
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error["msg"]))
    if kind == "literal_error":
        return _not_one_of(loc, value)
    if kind == "string_pattern_mismatch":
        return PATTERN_HINTS.get(ctx["pattern"], f"must match {ctx['pattern']}") + f", got {value!r}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {describe(value)}" + _quote_hint(kind, value, written)
    return _bounds(kind, ctx) or str(error["msg"])


def _bounds(kind: str, ctx: dict[str, Any]) -> str | None:
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        return "must not be empty" if least == 1 else f"needs at least {least} entries"
    if kind in ("greater_than_equal", "greater_than"):
        return f"must be at least {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"must be at most {ctx.get('le', ctx.get('lt'))}"
    return None


def _unknown_key(loc: Loc) -> str:
    key, allowed = str(loc[-1]), allowed_keys(loc[:-1])
    hint = did_you_mean(key, allowed)
    if not hint and allowed:
        hint = f"; expected one of: {', '.join(allowed)}"
    return f"unknown key {key!r}{hint}"


def _not_one_of(loc: Loc, value: Any) -> str:
    node = schema_at(loc) or {}
    choices = [str(c) for c in node.get("enum", [node.get("const")]) if c is not None]
    hint = did_you_mean(value, choices) if isinstance(value, str) else ""
    if hint:
        return f"unknown {'step' if loc[:1] == ('steps',) else 'value'} {value!r}{hint}"
    return f"expected one of: {', '.join(choices)}, got {describe(value)}"


def _quote_hint(kind: str, value: Any, written: str | None) -> str:
    # YAML turns unquoted 0042, 1.10, yes or 2024-01-01 into numbers, booleans and dates.
    if kind != "string_type" or value is None or isinstance(value, (list, dict)):
        return ""
    shown = f"written {written}; " if written is not None and written != str(value) else ""
    return f" ({shown}put it in quotes to keep it as text)"


def describe(value: Any) -> str:
    """How a YAML value looks to the person who wrote it."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"
