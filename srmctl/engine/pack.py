"""The evidence pack of a run (see docs/architecture.md, "Evidence"): one zip an auditor can open anywhere,
holding everything that shows what the run did, and a manifest that makes any later change visible.

Inside ``<run-id>/``: ``report.html`` (regenerated from the journal), ``report.json``, the journal
(``events.jsonl`` as on disk: a torn last line, which the chain leaves out, stays, and so do its cut-off
``events.jsonl.torn-N``), ``meta.json``, the runbook as run, the dry-run plan (``plan.json``;
``plan-resume-N.json`` for each resume), the plan's metadata before (``metadata-snapshot.yaml``) and after
(``metadata-snapshot-after.yaml``), SRM's history report of every plan run under ``srm-history/``
(each linked from ``report.json``'s ``srm_history`` to the step that ran it), then ``manifest.json`` (every
file's SHA-256 and size, the journal's chain state and last hash), ``SHA256SUMS`` (``sha256sum -c`` format,
the manifest included) and, when signed, ``manifest.sig`` (Ed25519 over the manifest's bytes).

Zip rather than tar: Windows and macOS open it with a double click, which is how auditors receive evidence.
"""

from __future__ import annotations

import base64
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from srmctl.engine import events as ev
from srmctl.engine.journal import EVENTS, META, PLAN, REPORT, REPORT_HTML, RUNBOOK_COPY, TORN
from srmctl.engine.srm_history import history_file, history_links
from srmctl.engine.stored_runs import StoredRun, html_report, reportable, run_report
from srmctl.errors import UsageError
from srmctl.evidence import chain, signing
from srmctl.evidence.pack_format import MANIFEST, PACK_FORMAT, SIGNATURE, SUMS, sha256
from srmctl.steps.metadata import AFTER_FILE, SNAPSHOT_FILE

#: Files every pack should hold; one the run folder lacks is listed in the manifest as missing, with why.
EXPECTED = {
    RUNBOOK_COPY: "the runbook as run",
    PLAN: "the dry-run plan",
    SNAPSHOT_FILE: "the plan's metadata before the run (metadata.snapshot)",
    AFTER_FILE: "the plan's metadata after the run (metadata.restore's verification)",
}


@dataclass(frozen=True)
class PackResult:
    path: str
    run_id: str
    files: int  # members the manifest lists
    bytes: int  # the pack's size
    journal_chain: str  # chained | unchained | partly chained
    last_hash: str
    missing: tuple[str, ...]
    signed_by: str | None  # the signing key's fingerprint


def write_pack(
    home: Path, run_id: str, target: Path, *, key_file: Path | None = None, force: bool = False
) -> PackResult:
    """Write ``run_id``'s evidence pack to ``target`` (mode 0600; an existing file only with ``force``)."""
    key = signing.load_private_key(key_file) if key_file is not None else None  # before anything is written
    if target.is_dir():
        raise UsageError(f"{target} is a directory; give the pack's file name (e.g. {run_id}.zip)")
    if target.exists() and not force:
        raise UsageError(f"{target} exists; choose another name or pass --force to replace it")
    if not target.parent.is_dir():
        raise UsageError(f"{target.parent} is not a directory")
    html_report(home, run_id)  # from the journal, so it shows the run as journaled now
    stored = reportable(home, run_id, "pack")
    members, missing = _members(stored)
    raw_events = dict(members).get(EVENTS, b"")
    found = chain.check(raw_events, run_id)
    manifest = {
        "srmctl_evidence_pack": PACK_FORMAT,
        "run_id": run_id,
        "runbook": stored.meta.get("runbook"),
        "outcome": run_report(stored).get("outcome"),
        "created": ev.now(),
        "files": [{"path": name, "sha256": sha256(data), "bytes": len(data)} for name, data in members],
        "journal": {"path": EVENTS, "chain": found.state, "lines": found.lines, "last_hash": found.head},
        "missing": [{"path": name, "why": why} for name, why in missing],
    }
    manifest_bytes = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
    sums = "".join(f"{sha256(data)}  {name}\n" for name, data in [*members, (MANIFEST, manifest_bytes)])
    extra = [(MANIFEST, manifest_bytes), (SUMS, sums.encode())]
    signed_by = None
    if key is not None:
        public = key.public_key()
        signed_by = signing.fingerprint(public)
        extra.append(
            (
                SIGNATURE,
                (
                    json.dumps(
                        {
                            "algorithm": signing.ALGORITHM,
                            "signed": MANIFEST,
                            "fingerprint": signed_by,
                            "public_key": _b64(signing.raw_public(public)),
                            "signature": _b64(signing.sign(key, manifest_bytes)),
                        },
                        indent=2,
                    )
                    + "\n"
                ).encode(),
            )
        )
    _write_zip(target, run_id, [*members, *extra], _stamp(stored.meta.get("started")), force)
    return PackResult(
        str(target),
        run_id,
        len(members),
        target.stat().st_size,
        found.state,
        found.head,
        tuple(name for name, _ in missing),
        signed_by,
    )


def _members(stored: StoredRun) -> tuple[list[tuple[str, bytes]], list[tuple[str, str]]]:
    """(name, bytes) of every file the pack holds, in a fixed order, and the expected ones missing."""
    directory = stored.directory
    names = [
        REPORT_HTML,
        REPORT,
        EVENTS,
        META,
        RUNBOOK_COPY,
        PLAN,
        *sorted(p.name for p in directory.glob("plan-resume-*.json")),
        SNAPSHOT_FILE,
        AFTER_FILE,
        *sorted(p.name for p in directory.glob(f"{TORN}*")),
    ]
    members: list[tuple[str, bytes]] = []
    missing: list[tuple[str, str]] = []
    for name in names:
        path = directory / name
        if name == REPORT and stored.report is None:  # crashed or running: the report from its journal
            members.append((name, _json(run_report(stored))))
        elif path.is_file():
            members.append((name, path.read_bytes()))
        elif name in EXPECTED:
            missing.append((name, f"{EXPECTED[name]}: not in the run folder"))
    events = list(stored.events)
    for link in history_links(events):
        if "file" in link:
            members.append((link["file"], _json(history_file(events[link["journal_line"] - 1]))))
    return members, missing


def _json(value: Mapping[str, Any] | Sequence[Any]) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _stamp(started: Any) -> tuple[int, int, int, int, int, int]:
    """Every member's time: the run's start (a zip cannot say 1970; a pack of the same journal is the same)."""
    try:
        when = datetime.fromisoformat(str(started)).astimezone(timezone.utc)
    except ValueError:
        when = datetime(1980, 1, 1, tzinfo=timezone.utc)
    return (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)


def _write_zip(
    target: Path,
    run_id: str,
    members: Sequence[tuple[str, bytes]],
    stamp: tuple[int, int, int, int, int, int],
    force: bool,
) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members:
                info = zipfile.ZipInfo(f"{run_id}/{name}", stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o600 << 16
                archive.writestr(info, data)
            handle.flush()
            os.fsync(handle.fileno())
        if force:
            tmp.replace(target)
        else:
            os.link(tmp, target)  # never replaces a file that appeared meanwhile
            tmp.unlink()
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
