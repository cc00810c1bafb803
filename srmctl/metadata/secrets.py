"""Secrets in callout commands (``net use X: \\\\srv\\share /user:svc password=hunter2``) are never written to a
snapshot in clear: the value is replaced by a marker holding a short hash of it, so a snapshot still shows
*that* a secret is there and whether it changed, but not what it is."""

from __future__ import annotations

import hashlib
import re

_SECRET = re.compile(
    r"(?i)(?P<key>(?:--?|/)?(?:password|passwd|pwd|secret|token|api[_-]?key)(?:\s*[=:]\s*|\s+))"
    r"(?P<value>\"[^\"]*\"|'[^']*'|[^\s;&|]+)"
)
_MARKER = re.compile(r"«redacted:[0-9a-f]{8}»")


def _marker(value: str) -> str:
    return f"«redacted:{hashlib.sha256(value.encode()).hexdigest()[:8]}»"


def redact(text: str) -> str:
    """``text`` with every secret-looking value replaced by its marker (idempotent)."""

    def swap(match: re.Match[str]) -> str:
        value = match.group("value")
        return match.group(0) if _MARKER.fullmatch(value) else match.group("key") + _marker(value)

    return _SECRET.sub(swap, text)


def has_redaction(text: str) -> bool:
    return bool(_MARKER.search(text))
