"""Rendering of result values: the versioned JSON envelope and small rich helpers.

Results are plain values (dataclasses, dicts); this module turns them into text. Nothing here decides
what happened, it only shows it.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from srmctl.errors import SrmctlError, exit_code_for

ENVELOPE_VERSION = 1

# Control characters other than newline and tab (C0, DEL, C1) and the bidirectional overrides that reorder
# what a terminal shows: in a name from vCenter/SRM they could move the cursor, recolour the screen or
# disguise text, so they are shown as escapes instead.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def neutralise(text: str) -> str:
    """``text`` with control characters replaced by visible escapes (ESC becomes ``\\x1b``)."""
    return _CONTROL.sub(_visible, text)


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def to_jsonable(value: Any) -> Any:
    """Convert result values (dataclasses, enums, paths, pydantic models) into JSON-able data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "model_dump"):
        return to_jsonable(value.model_dump(mode="json"))
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def envelope(command: str, result: Any) -> str:
    return json.dumps(
        {"srmctl": ENVELOPE_VERSION, "command": command, "ok": True, "result": to_jsonable(result)},
        indent=2,
        sort_keys=False,
    )


def error_envelope(command: str, error: BaseException) -> str:
    if isinstance(error, SrmctlError):
        err: dict[str, Any] = {"code": error.code, "message": error.message, **error.details()}
    else:
        err = {"code": "internal", "message": f"{type(error).__name__}: {error}"}
    err["exit_code"] = int(exit_code_for(error))
    return json.dumps({"srmctl": ENVELOPE_VERSION, "command": command, "ok": False, "error": err}, indent=2)
