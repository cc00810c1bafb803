"""Evidence packs without a lab: a pack of a journaled run holds every file and verifies; flipping one byte of
any member, removing or adding a member, editing a journal line, or re-signing with another key makes
``srmctl verify`` fail naming the file (and line); it never touches the network."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import srmctl
from srmctl.cli.main import cli
from srmctl.engine.events import Event
from srmctl.engine.journal import REPORT, Journal
from srmctl.engine.pack import write_pack
from srmctl.evidence import chain, signing
from srmctl.evidence.pack_format import MANIFEST, SIGNATURE, SUMS, sha256
from srmctl.evidence.verify import PackInvalid, verify_pack

RUNBOOK = Path(srmctl.__file__).parent.parent / "playbooks" / "lab.yaml"
RUN_ID = "20261125T100000Z-pack-0001"
T = "2026-11-25T10:00:{:02d}.000+00:00"
HISTORY = {
    "plan_name": "VR Failover",
    "username": "admin@corp",
    "operation_type": "TEST",
    "start_time_ms": 1,
    "human_friendly_duration": "2s",
    "duration_ms": 2000,
    "result_state": "SUCCESS",
    "error_count": 0,
    "warning_count": 0,
    "run_key": 42,
    "errors_list": [],
    "warnings_list": [],
}
FILES = [
    "report.html",
    "report.json",
    "events.jsonl",
    "meta.json",
    "runbook.yaml",
    "plan.json",
    "metadata-snapshot.yaml",
    "metadata-snapshot-after.yaml",
    "srm-history/01-plan.test-TEST.json",
]


def _run(home: Path) -> Path:
    raw = RUNBOOK.read_bytes()
    journal = Journal.create(
        home,
        RUN_ID,
        runbook_bytes=raw,
        meta={
            "run_id": RUN_ID,
            "runbook": "lab-failback",
            "runbook_path": str(RUNBOOK),
            "runbook_sha256": hashlib.sha256(raw).hexdigest(),
            "steps": ["plan.test"],
            "started": T.format(0),
        },
    )
    journal.write_json("plan.json", {"steps": []})
    for name in ("metadata-snapshot.yaml", "metadata-snapshot-after.yaml"):
        journal.write_text(name, "plan: {name: VR Failover}\n")
    journal.append(Event("run_started", None, at=T.format(0)))
    journal.append(Event("step_started", "plan.test", at=T.format(1)))
    journal.append(
        Event(
            "record",
            "plan.test",
            {
                "record": "srm_history",
                "plan": "VR Failover",
                "plan_id": "p-1",
                "site": "new-jersey",
                "operation_type": "TEST",
                "task": "t-1",
                "report_id": "42",
                "report": HISTORY,
            },
            at=T.format(3),
        )
    )
    journal.append(Event("step_verified", "plan.test", {"summary": "TEST_COMPLETE"}, at=T.format(4)))
    journal.write_json(REPORT, {"outcome": "succeeded", "steps": []})
    journal.append(Event("run_finished", None, {"outcome": "succeeded"}, at=T.format(5)))
    return home


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    found = {}
    for name in ("ours", "theirs"):
        key = Ed25519PrivateKey.generate()
        private = tmp_path / f"{name}.pem"
        private.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        private.chmod(0o600)
        public = tmp_path / f"{name}.pub"
        public.write_bytes(
            key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        )
        found[name], found[f"{name}.pub"] = private, public
    return found


@pytest.fixture
def pack(tmp_path: Path, keys: dict[str, Path]) -> Path:
    target = tmp_path / "pack.zip"
    write_pack(_run(tmp_path / "home"), RUN_ID, target, key_file=keys["ours"])
    return target


def _rewrite(pack: Path, change: Callable[[dict[str, bytes]], None]) -> None:
    with zipfile.ZipFile(pack) as archive:
        members = {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}
    change(members)
    with zipfile.ZipFile(pack, "w") as archive:
        for name, data in members.items():
            archive.writestr(f"{RUN_ID}/{name}", data)


def _fails(pack: Path, message: str, key: Path | None = None) -> None:
    with pytest.raises(PackInvalid) as failed:
        verify_pack(pack, key)
    assert message in failed.value.message, failed.value.message


def test_the_pack_holds_every_file_and_verifies(pack: Path, keys: dict[str, Path]) -> None:
    with zipfile.ZipFile(pack) as archive:
        names = [name.split("/", 1)[1] for name in archive.namelist()]
        manifest = json.loads(archive.read(f"{RUN_ID}/{MANIFEST}"))
        history = json.loads(archive.read(f"{RUN_ID}/srm-history/01-plan.test-TEST.json"))
        report = json.loads(archive.read(f"{RUN_ID}/report.json"))
    assert names == [*FILES, MANIFEST, SUMS, SIGNATURE]
    assert [f["path"] for f in manifest["files"]] == FILES and manifest["missing"] == []
    assert history["step"] == "plan.test" and history["report"] == HISTORY
    assert report["outcome"] == "succeeded"
    assert manifest["journal"]["chain"] == chain.CHAINED and manifest["journal"]["lines"] == 5
    assert pack.stat().st_mode & 0o777 == 0o600
    checked = verify_pack(pack, keys["ours.pub"])
    assert checked.run_id == RUN_ID and checked.files == len(FILES) and checked.key_checked
    assert checked.signed_by == signing.fingerprint(signing.load_public_key(keys["ours.pub"]))
    assert checked.signed_by.startswith("SHA256:")


@pytest.mark.parametrize("member", [*FILES, MANIFEST, SUMS, SIGNATURE])
def test_flipping_one_byte_of_any_member_fails_naming_it(pack: Path, member: str, keys: dict[str, Path]) -> None:
    def flip(members: dict[str, bytes]) -> None:
        data = bytearray(members[member])
        data[len(data) // 2] ^= 0x01
        members[member] = bytes(data)

    _rewrite(pack, flip)
    with pytest.raises(PackInvalid) as failed:
        verify_pack(pack, keys["ours.pub"])
    named = {MANIFEST: (MANIFEST, SUMS, SIGNATURE)}.get(member, (member,))  # a manifest may no longer parse
    assert failed.value.message.startswith(named), failed.value.message


def test_a_pack_zipped_again_with_folder_entries_still_verifies(pack: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.zip"
    with zipfile.ZipFile(pack) as source, zipfile.ZipFile(again, "w") as target:
        target.writestr(f"{RUN_ID}/", b"")
        target.writestr(f"{RUN_ID}/srm-history/", b"")
        for name in source.namelist():
            target.writestr(name, source.read(name))
    assert verify_pack(again).files == len(FILES)


def test_a_removed_or_added_member_fails_naming_it(pack: Path) -> None:
    _rewrite(pack, lambda members: members.pop("metadata-snapshot-after.yaml"))
    _fails(pack, "metadata-snapshot-after.yaml: listed in the manifest but missing from the pack")
    _rewrite(pack, lambda members: members.update({"metadata-snapshot-after.yaml": b"x", "notes.txt": b"hi"}))
    _fails(pack, "notes.txt: in the pack but not in the manifest")


def _reseal(members: dict[str, bytes], key: Path | None = None) -> None:
    """What someone covering their tracks does: the manifest and SHA256SUMS recomputed (and signed again)."""
    manifest = json.loads(members[MANIFEST])
    for entry in manifest["files"]:
        entry["sha256"], entry["bytes"] = sha256(members[entry["path"]]), len(members[entry["path"]])
    raw = (json.dumps(manifest, indent=2) + "\n").encode()
    members[MANIFEST] = raw
    members[SUMS] = "".join(f"{f['sha256']}  {f['path']}\n" for f in manifest["files"]).encode() + (
        f"{sha256(raw)}  {MANIFEST}\n".encode()
    )
    if key is not None:
        private = signing.load_private_key(key)
        sig = json.loads(members[SIGNATURE])
        sig["public_key"] = base64.b64encode(signing.raw_public(private.public_key())).decode()
        sig["signature"] = base64.b64encode(signing.sign(private, raw)).decode()
        members[SIGNATURE] = json.dumps(sig).encode()


def test_an_edited_journal_line_fails_naming_the_line_even_with_the_manifest_recomputed(
    pack: Path, keys: dict[str, Path]
) -> None:
    def edit(members: dict[str, bytes]) -> None:  # even by someone holding the signing key
        lines = members["events.jsonl"].splitlines()
        lines[1] = lines[1].replace(b"plan.test", b"plan.tset")
        members["events.jsonl"] = b"\n".join(lines) + b"\n"
        _reseal(members, keys["ours"])

    _rewrite(pack, edit)
    _fails(pack, "events.jsonl line 3: does not follow the line before it")


def test_a_last_line_edited_with_the_manifest_recomputed_fails_on_the_signature(
    pack: Path, keys: dict[str, Path]
) -> None:
    def edit(members: dict[str, bytes]) -> None:
        members["events.jsonl"] = members["events.jsonl"].replace(b'"outcome":"succeeded"', b'"outcome":"failed!"')
        _reseal(members, keys["ours"])

    _rewrite(pack, edit)
    _fails(pack, "events.jsonl: its last line's hash")  # the manifest's last hash no longer matches

    # ... and a manifest that records the new last hash is no longer the one that was signed
    def record_new_head(members: dict[str, bytes]) -> None:
        old = json.loads(members[MANIFEST])["journal"]["last_hash"]
        members[MANIFEST] = members[MANIFEST].replace(
            old.encode(), chain.check(members["events.jsonl"], RUN_ID).head.encode()
        )
        _reseal(members)  # without the key

    _rewrite(pack, record_new_head)
    _fails(pack, "manifest.sig: the signature does not match manifest.json", keys["ours.pub"])


def test_re_signing_with_another_key_fails_against_the_trusted_key(pack: Path, keys: dict[str, Path]) -> None:
    def forge(members: dict[str, bytes]) -> None:
        members["report.json"] = members["report.json"].replace(b"succeeded", b"succeeded, all fine")
        _reseal(members, keys["theirs"])

    _rewrite(pack, forge)
    theirs = signing.fingerprint(signing.load_public_key(keys["theirs.pub"]))
    _fails(pack, f"manifest.sig: signed by {theirs}, not by the given key", keys["ours.pub"])
    assert verify_pack(pack).signed_by == theirs  # without --key it verifies, and says whose key it was


def test_an_unsigned_pack_verifies_but_not_against_a_key(tmp_path: Path, keys: dict[str, Path]) -> None:
    target = tmp_path / "unsigned.zip"
    write_pack(_run(tmp_path / "home"), RUN_ID, target)
    assert "unsigned" in verify_pack(target).summary()
    _fails(target, "manifest.sig: missing: the pack is not signed, but --key was given", keys["ours.pub"])


def test_the_commands_exit_codes_and_messages(
    tmp_path: Path, keys: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _run(tmp_path / "home")
    monkeypatch.setenv("SRMCTL_HOME", str(home))
    target = tmp_path / "cli.zip"
    made = CliRunner().invoke(cli, ["report", RUN_ID, "--pack", str(target), "--sign", str(keys["ours"])])
    assert made.exit_code == 0, made.output
    fingerprint = signing.fingerprint(signing.load_public_key(keys["ours.pub"]))
    assert f"signed by Ed25519 key {fingerprint}" in made.output
    again = CliRunner().invoke(cli, ["report", RUN_ID, "--pack", str(target)])
    assert again.exit_code == 2 and "exists" in again.output  # never replaced without --force
    os.chmod(keys["theirs"], 0o644)
    loose = CliRunner().invoke(
        cli, ["report", RUN_ID, "--pack", str(tmp_path / "x.zip"), "--sign", str(keys["theirs"])]
    )
    assert loose.exit_code == 2 and "accessible by others" in loose.output and not (tmp_path / "x.zip").exists()

    # verify needs no network: every socket refuses to connect
    def no_network(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("verify touched the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    ok = CliRunner().invoke(cli, ["verify", str(target), "--key", str(keys["ours.pub"])])
    assert ok.exit_code == 0 and ok.output.count("\n") == 1 and ": OK: run " in ok.output, ok.output
    _rewrite(target, lambda members: members.update({"plan.json": members["plan.json"] + b" "}))
    bad = CliRunner().invoke(cli, ["verify", str(target), "-o", "json"])
    assert bad.exit_code == 1 and json.loads(bad.output)["error"]["code"] == "pack_invalid"
    assert "plan.json: SHA-256 differs from the manifest" in json.loads(bad.output)["error"]["message"]
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    refused = CliRunner().invoke(cli, ["verify", str(junk)])
    assert refused.exit_code == 1 and "not an srmctl evidence pack" in refused.output


def test_verify_loads_no_api_client(pack: Path, tmp_path: Path) -> None:
    """Run as its own process: nothing that talks to vCenter, SRM or VR is even imported."""
    record = tmp_path / "modules.json"
    child = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: json.dump(sorted(sys.modules), open({str(record)!r}, 'w')))\n"
        f"sys.argv = ['srmctl', 'verify', {str(pack)!r}]\n"
        "from srmctl.cli.main import main\nmain()\n"
    )
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(record.read_text())
    assert "srmctl.evidence.verify" in loaded
    assert [m for m in loaded if m.startswith(("httpx", "pyVmomi", "srmctl.engine", "srmctl.adapters"))] == []


def test_the_fingerprint_is_the_one_ssh_keygen_prints(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    public = tmp_path / "fixed.pub"
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    )
    # `ssh-keygen -lf fixed.pub` prints: 256 SHA256:lbmsoA0yIEcEiVDRnMWuzm+nV+3ZEEpVIURqFoeSspg no comment (ED25519)
    assert signing.fingerprint(signing.load_public_key(public)) == "SHA256:lbmsoA0yIEcEiVDRnMWuzm+nV+3ZEEpVIURqFoeSspg"
