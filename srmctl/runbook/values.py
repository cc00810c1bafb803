"""Value types shared by the runbook models: durations, patterns, pinned thumbprints, paths relative to the
runbook, and the strict frozen base model."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    ValidationInfo,
    WithJsonSchema,
)

# --- durations ---------------------------------------------------------------------------------------------

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
DURATION_PATTERN = r"^(?=\d)(\d+d)?(\d+h)?(\d+m)?(\d+s)?$"
_DURATION_RE = re.compile(DURATION_PATTERN)
_DURATION_HINT = "expected a duration such as 300s, 15m, 1h, 1d or 1h30m"


def parse_duration(value: object) -> timedelta:
    """``"1h30m"`` → ``timedelta(minutes=90)``. Bare numbers are refused: ``rpo: 15`` could mean seconds or
    minutes, and guessing wrong changes data-loss exposure."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"{_DURATION_HINT}; a bare number has no unit")
    text = value.strip()
    if not _DURATION_RE.match(text):
        raise ValueError(f"{_DURATION_HINT}, got {value!r}")
    seconds = sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)([dhms])", text))
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest spelling :func:`parse_duration` reads back: ``timedelta(minutes=90)`` → ``"1h30m"``."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in _UNITS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "examples": ["15m", "1h", "1d"]}),
]


def duration_between(low: str, high: str) -> Any:
    """A validator keeping a duration in ``[low, high]``, naming the bounds as the user writes them."""
    lo, hi = parse_duration(low), parse_duration(high)

    def check(value: timedelta) -> timedelta:
        if not lo <= value <= hi:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return check


# --- small value types -------------------------------------------------------------------------------------

THUMBPRINT_PATTERN = r"^sha256:([0-9a-fA-F]{64}|([0-9a-fA-F]{2}:){31}[0-9a-fA-F]{2})$"
_THUMBPRINT_RE = re.compile(THUMBPRINT_PATTERN)
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
#: What each pattern means, so errors say it in words rather than as a regular expression.
PATTERN_HINTS: dict[str, str] = {
    ENV_NAME_PATTERN: "must be an environment variable name (letters, digits, '_'; no leading digit)",
    NAME_PATTERN: "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
    UUID_PATTERN: "must be a UUID such as 5003c1b2-1a2b-3c4d-5e6f-0123456789ab",
}


def _normalise_thumbprint(value: object) -> object:
    """Accept ``sha256:`` + 64 hex digits, also in openssl's colon-separated form; store lower-case without
    colons, so that comparing with the presented certificate is plain string equality."""
    if not isinstance(value, str):
        return value  # the str type check reports it
    if not _THUMBPRINT_RE.match(value):
        raise ValueError("must be 'sha256:' followed by 64 hex digits (colon-separated pairs are accepted)")
    return "sha256:" + value[len("sha256:") :].replace(":", "").lower()


Thumbprint = Annotated[
    str,
    BeforeValidator(_normalise_thumbprint),
    WithJsonSchema({"type": "string", "pattern": THUMBPRINT_PATTERN}),
]
NonEmpty = Annotated[str, Field(min_length=1)]
# Paths come from YAML as strings; strict mode would otherwise insist on a Path object.
FilePath = Annotated[Path, Strict(False)]

# Sequences are tuples (the runbook is immutable) that YAML writes as lists; Strict(False) lets the list in
# while the items stay strictly typed.
Names = Annotated[tuple[NonEmpty, ...], Strict(False)]


def resolve_relative(value: Path, info: ValidationInfo) -> Path:
    """Relative paths are relative to the runbook's directory (passed by the loader as ``base_dir``), so a
    runbook means the same thing whatever directory cron starts srmctl in."""
    base = (info.context or {}).get("base_dir")
    if base is not None and not value.is_absolute():
        return Path(base) / value
    return value


class Model(BaseModel):
    # strict: YAML already types scalars; coercing "8" to 8 or 1 to "1" would hide mistakes such as an
    # unquoted VM name 001 silently becoming "1".
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)
