"""The evidence pack's fixed names and format version, shared by its writer (engine/pack.py) and its
verification (evidence/verify.py)."""

from __future__ import annotations

import hashlib

PACK_FORMAT = 1
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
SIGNATURE = "manifest.sig"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
