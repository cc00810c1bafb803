"""``srmctl verify``: check an evidence pack (engine/pack.py) offline. In order: the archive, the manifest's
signature (against ``--key`` when given), ``SHA256SUMS`` against the manifest, that the members are exactly the
files the manifest lists, every file's SHA-256, and the journal's hash chain and its last hash. The first thing
that does not match ends the check, named by file (and line, for the journal). Nothing here touches the
network."""

from __future__ import annotations

import base64
import binascii
import json
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from srmctl.errors import SrmctlError
from srmctl.evidence import chain, signing
from srmctl.evidence.pack_format import MANIFEST, PACK_FORMAT, SIGNATURE, SUMS, sha256

MAX_MEMBER_BYTES = 1024 * 1024 * 1024  # a pack's journal of 1,000 VMs is a few MB


class PackInvalid(SrmctlError):
    """The pack does not verify: a file changed, missing or added, a journal line edited, a bad signature."""

    code = "pack_invalid"


@dataclass(frozen=True)
class PackCheck:
    path: str
    run_id: str
    files: int
    journal_chain: str  # chained | unchained | partly chained
    last_hash: str
    signed_by: str | None  # the fingerprint of the key that signed the manifest
    key_checked: bool  # the signature was checked against the key the caller gave (not just the pack's own)

    def summary(self) -> str:
        signed = (
            "unsigned"
            if self.signed_by is None
            else f"signed by {self.signed_by}"
            + ("" if self.key_checked else " (not checked against a trusted key: pass --key)")
        )
        return (
            f"{self.path}: OK: run {self.run_id}, {self.files} files match the manifest, journal "
            f"{self.journal_chain} (last hash {self.last_hash[:16]}…), {signed}"
        )


def verify_pack(path: Path, key_file: Path | None = None) -> PackCheck:
    trusted = signing.load_public_key(key_file) if key_file is not None else None
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise PackInvalid(f"{path}: not an srmctl evidence pack (not a readable zip archive: {error})") from None
    with archive:
        return _verify(path, archive, trusted)


def _verify(path: Path, archive: zipfile.ZipFile, trusted: Any) -> PackCheck:
    # Folder entries hold no data (a pack unzipped and zipped again by another tool has them).
    names = [name for name in archive.namelist() if not name.endswith("/")]
    twice = [name for name, n in Counter(names).items() if n > 1]
    if twice:
        raise PackInvalid(f"{twice[0]}: in the pack more than once")
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) != 1 or not all("/" in name for name in names):
        raise PackInvalid(f"{path}: not an srmctl evidence pack (its files are not in one run folder)")
    top = tops.pop()

    def read(name: str) -> bytes:
        info = archive.getinfo(f"{top}/{name}")
        if info.file_size > MAX_MEMBER_BYTES:
            raise PackInvalid(f"{name}: larger than {MAX_MEMBER_BYTES} bytes")
        try:
            return archive.read(info)
        except (zipfile.BadZipFile, OSError, EOFError) as error:  # a CRC or compression error: damaged bytes
            raise PackInvalid(f"{name}: cannot be read from the archive ({error})") from None

    present = {name[len(top) + 1 :] for name in names}
    if MANIFEST not in present:
        raise PackInvalid(f"{MANIFEST}: missing: not an srmctl evidence pack")
    manifest_bytes = read(MANIFEST)
    # The manifest's own integrity first (its signature, then SHA256SUMS), so that a changed manifest is
    # named as such and not as the file whose hash it no longer matches.
    signed_by = None
    if SIGNATURE in present:
        signed_by = _check_signature(read(SIGNATURE), manifest_bytes, trusted)
    elif trusted is not None:
        raise PackInvalid(f"{SIGNATURE}: missing: the pack is not signed, but --key was given")
    manifest = _manifest(manifest_bytes)
    _check_sums(read(SUMS) if SUMS in present else None, manifest, manifest_bytes)
    listed = [entry["path"] for entry in manifest["files"]]
    for name in listed:
        if name not in present:
            raise PackInvalid(f"{name}: listed in the manifest but missing from the pack")
    extra = sorted(present - set(listed) - {MANIFEST, SUMS, SIGNATURE})
    if extra:
        raise PackInvalid(f"{extra[0]}: in the pack but not in the manifest (added after the pack was made)")
    for entry in manifest["files"]:
        data = read(entry["path"])
        if sha256(data) != entry["sha256"] or len(data) != entry["bytes"]:
            raise PackInvalid(f"{entry['path']}: SHA-256 differs from the manifest (changed after the pack was made)")
    journal = manifest["journal"]
    found = chain.check(read(journal["path"]) if journal["path"] in present else b"", str(manifest["run_id"]))
    if not found.intact:
        raise PackInvalid(f"{journal['path']} {found.describe()}")
    if found.head != journal["last_hash"] or found.state != journal["chain"]:
        raise PackInvalid(
            f"{journal['path']}: its last line's hash {found.head[:16]}… ({found.state}) is not the "
            f"manifest's {str(journal['last_hash'])[:16]}… (lines edited, added or removed at its end)"
        )
    return PackCheck(
        str(path), str(manifest["run_id"]), len(listed), found.state, found.head, signed_by, trusted is not None
    )


def _manifest(raw: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(raw.decode("utf-8"))
        files = manifest["files"]
        ok = (
            manifest.get("srmctl_evidence_pack") == PACK_FORMAT
            and isinstance(manifest.get("run_id"), str)
            and isinstance(files, list)
            and isinstance(manifest.get("journal"), dict)
            and all(
                isinstance(f, dict)
                and isinstance(f.get("path"), str)
                and isinstance(f.get("sha256"), str)
                and isinstance(f.get("bytes"), int)
                for f in files
            )
            and all(isinstance(manifest["journal"].get(k), str) for k in ("path", "chain", "last_hash"))
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        ok = False
    if not ok:
        raise PackInvalid(f"{MANIFEST}: not a manifest of evidence pack format {PACK_FORMAT}")
    return dict(manifest)


def _check_sums(raw: bytes | None, manifest: dict[str, Any], manifest_bytes: bytes) -> None:
    """``SHA256SUMS`` says what the manifest says, and holds the manifest's own hash."""
    if raw is None:
        raise PackInvalid(f"{SUMS}: missing from the pack")
    wanted = [f"{f['sha256']}  {f['path']}" for f in manifest["files"]] + [f"{sha256(manifest_bytes)}  {MANIFEST}"]
    lines = raw.decode("utf-8", "replace").splitlines()
    for number, (line, expected) in enumerate(zip(lines, wanted, strict=False), 1):  # lengths: below
        if line != expected:
            name = expected.split("  ", 1)[1]
            raise PackInvalid(
                f"{SUMS} line {number}: does not match {name}"
                + (" (one of them was changed after the pack was made)" if name == MANIFEST else "")
            )
    if len(lines) != len(wanted):
        raise PackInvalid(f"{SUMS}: {len(lines)} lines, the manifest lists {len(wanted)} files")


def _check_signature(raw: bytes, manifest_bytes: bytes, trusted: Any) -> str:
    try:
        sig = json.loads(raw.decode("utf-8"))
        public = signing.public_from_raw(base64.b64decode(sig["public_key"], validate=True))
        signature = base64.b64decode(sig["signature"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise PackInvalid(f"{SIGNATURE}: not a signature srmctl wrote") from None
    signed_by = signing.fingerprint(public)
    if trusted is not None and signing.raw_public(trusted) != signing.raw_public(public):
        raise PackInvalid(f"{SIGNATURE}: signed by {signed_by}, not by the given key {signing.fingerprint(trusted)}")
    if not signing.verifies(public, signature, manifest_bytes):
        raise PackInvalid(f"{SIGNATURE}: the signature does not match {MANIFEST} (changed after it was signed)")
    return signed_by
