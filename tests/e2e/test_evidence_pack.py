"""The evidence pack of a real lab failback (both scenarios): every listed file is in it, SRM's history report
of every plan run the failback made is in it, tied to the step that ran it, and ``srmctl verify`` passes. An
old journal without hashes still resumes. See docs/architecture.md, "Evidence"."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from edge import dr_sites, start

from srmctl.cli.main import cli
from srmctl.evidence import chain
from srmctl.srmsim.seed import SEED_USER

sys.path.insert(0, str(Path(__file__).parent))
from test_failback_e2e import AWAY, DISASTER, HOME, PLANNED, failback_runbook, scenario_lab  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.lab]

LISTED = [
    "report.html",
    "report.json",
    "events.jsonl",
    "meta.json",
    "runbook.yaml",
    "plan.json",
    "metadata-snapshot.yaml",
    "metadata-snapshot-after.yaml",
]
PLAN_RUNS = [("plan.test", "TEST"), ("plan.cleanup", "CLEANUP"), ("plan.migrate", "FAILOVER")]


def _keys(directory: Path) -> tuple[Path, Path]:
    key = Ed25519PrivateKey.generate()
    private, public = directory / "pack-key.pem", directory / "pack-key.pub"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    private.chmod(0o600)
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public


@pytest.mark.parametrize("scenario", [PLANNED, DISASTER])
@pytest.mark.timeout(600)
def test_the_pack_of_a_lab_failback_holds_the_evidence_and_verifies(
    tmp_path: Path, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("SRMCTL_HOME", str(home))
    private, public = _keys(tmp_path)
    with scenario_lab(tmp_path / "lab", scenario) as config:
        report = start(
            failback_runbook(tmp_path / "rb.yaml", scenario), config.directory, home, confirm=lambda _plan: True
        )
        assert report.outcome == "succeeded", report.error
        with dr_sites(config.directory, [HOME, AWAY]) as dr:  # what SRM itself holds, at each server
            at_srm = {
                (site, str(r.run_key)): r
                for site, d in dr.items()
                for r in d.srm.all_history_reports()
                if r.username != SEED_USER
            }
        pack = tmp_path / f"{scenario}.zip"
        made = CliRunner().invoke(cli, ["report", report.run_id, "--pack", str(pack), "--sign", str(private)])
        assert made.exit_code == 0, made.output
        assert "signed by Ed25519 key SHA256:" in made.output

        # The old-journal case on the same run: hashes taken out, the run resumes (it plans nothing) and its
        # journal is chained from the first line the resume appended.
        events = home / "runs" / report.run_id / "events.jsonl"
        old = [
            json.dumps({k: v for k, v in json.loads(line).items() if k != chain.PREV})
            for line in events.read_text().splitlines()
        ]
        events.write_text("\n".join(old) + "\n")
        resumed = CliRunner().invoke(cli, ["resume", report.run_id, "--yes"])
        assert resumed.exit_code == 0, resumed.output
        assert chain.check(events.read_bytes(), report.run_id).state == chain.PARTLY
    with zipfile.ZipFile(pack) as archive:
        members = {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}
    history = sorted(name for name in members if name.startswith("srm-history/"))
    assert list(members) == [*LISTED, *history, "manifest.json", "SHA256SUMS", "manifest.sig"]
    manifest = json.loads(members["manifest.json"])
    assert manifest["missing"] == [] and manifest["journal"]["chain"] == chain.CHAINED

    # One history report per plan run, each tied to the step that ran it and to its file, and the very reports
    # the SRM servers that ran them hold.
    links = json.loads(members["report.json"])["srm_history"]
    assert [(link["step"], link["operation_type"], link["result_state"]) for link in links] == [
        (step, operation, "SUCCESS") for step, operation in PLAN_RUNS
    ]
    assert [link["file"] for link in links] == history
    for link in links:
        record = json.loads(members[link["file"]])
        assert record["step"] == link["step"] and record["report_id"] == link["report_id"]
        assert record["report"] == at_srm.pop((link["site"], link["report_id"])).model_dump(mode="json")
        assert json.loads(members["events.jsonl"].splitlines()[link["journal_line"] - 1])["record"] == "srm_history"
    assert at_srm == {}, f"plan runs SRM recorded that the pack lacks: {at_srm}"

    checked = CliRunner().invoke(cli, ["verify", str(pack), "--key", str(public)])
    assert checked.exit_code == 0, checked.output
    assert (
        f"run {report.run_id}, {len(LISTED) + len(history)} files match the manifest, journal chained" in checked.output
    )
