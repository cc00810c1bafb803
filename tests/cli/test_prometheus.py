"""``check --prometheus`` tells the truth: every run rewrites the file, and a check that fails or cannot
run says ``srmctl_ready 0`` with an error metric (a stale "ready" file would keep monitoring green)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import yaml
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from srmctl.cli.main import cli
from srmctl.lab.config import LabConfig
from srmctl.srmsim.app import READY
from srmctl.srmsim.launcher import SrmsimHandle

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _metrics(path: Path) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(path.read_text())
        for s in family.samples
    }


def _runbook(tmp_path: Path, sites: dict[str, object], snapshot: Path | None = None) -> Path:
    doc = {
        "version": 1,
        "name": "nightly",
        "scenario": "planned-migration",
        "sites": sites,
        "failback": {"from": "new-jersey", "to": "new-york"},
        "vms": [{"name": "mail04"}, {"name": "db01"}],
        "replication": {"rpo": "30m"},
        "protection_group": {"name": "VR mail"},
        "recovery_plan": {"name": "VR Failover", **({"metadata": str(snapshot)} if snapshot else {})},
    }
    path = tmp_path / "nightly.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _lab_sites() -> dict[str, object]:
    site = {
        "vcenter": {"host": "vc.invalid", "user": "u", "password_env": "UNUSED_WITH_LAB"},
        "srm": {"host": "srm.invalid"},
        "vr": {"host": "vr.invalid"},
    }
    return {"new-york": site, "new-jersey": site}


def _stale_ready_file(path: Path) -> None:
    """What a previous, successful run left behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('# TYPE srmctl_ready gauge\nsrmctl_ready{runbook="nightly"} 1\n')


def _srmsim(lab: LabConfig) -> SrmsimHandle:
    first = (Path(lab.directory) / "srmsim" / "srmsim.out").read_text().splitlines()[0]
    return SrmsimHandle(None, json.loads(first[len(READY) :]))


def _error_reasons(metrics: Samples) -> set[str]:
    return {
        dict(labels)["reason"]
        for (name, labels), value in metrics.items()
        if name == "srmctl_check_error" and value == 1
    }


def test_srm_refusing_plans_rewrites_the_file_as_not_ready(fresh_lab: LabConfig, tmp_path: Path) -> None:
    runner = CliRunner()
    snapshot, prom = tmp_path / "snap.yaml", tmp_path / "textfile" / "srmctl.prom"
    exported = runner.invoke(
        cli, ["snapshot", "export", "--lab", fresh_lab.directory, "--plan", "VR Failover", "-f", str(snapshot)]
    )
    assert exported.exit_code == 0, exported.output
    runbook = str(_runbook(tmp_path, _lab_sites(), snapshot))
    ready = runner.invoke(cli, ["check", runbook, "--lab", fresh_lab.directory, "--prometheus", str(prom)])
    assert ready.exit_code == 0, ready.output
    assert _metrics(prom)[("srmctl_ready", (("runbook", "nightly"),))] == 1
    assert not _error_reasons(_metrics(prom))

    _srmsim(fresh_lab).fail_http("/pairings/*/recovery-management/plans*", status=403, count=100, api="srm")
    failed = runner.invoke(cli, ["check", runbook, "--lab", fresh_lab.directory, "--prometheus", str(prom)])
    assert failed.exit_code != 0
    metrics = _metrics(prom)
    assert metrics[("srmctl_ready", (("runbook", "nightly"),))] == 0
    assert _error_reasons(metrics)  # a short code, whichever the 403 maps to
    assert not [p for p in prom.parent.iterdir() if p != prom]  # no temp file left beside it


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_endpoints_rewrite_the_file_as_not_ready(tmp_path: Path) -> None:
    password = tmp_path / "pw"
    password.write_text("secret")
    password.chmod(0o600)
    port = _closed_port()

    def site() -> dict[str, object]:
        dr = {"host": "127.0.0.1", "port": port}
        return {
            "vcenter": {"host": "127.0.0.1", "port": port, "user": "u", "password_file": str(password)},
            "srm": dr,
            "vr": dr,
        }

    prom = tmp_path / "srmctl.prom"
    _stale_ready_file(prom)
    env = {k: v for k, v in os.environ.items() if k != "SRMCTL_LAB"}
    result = CliRunner(env=env).invoke(
        cli, ["check", str(_runbook(tmp_path, {"new-york": site(), "new-jersey": site()})), "--prometheus", str(prom)]
    )
    assert result.exit_code == 5, result.output
    metrics = _metrics(prom)
    assert metrics[("srmctl_ready", (("runbook", "nightly"),))] == 0
    assert _error_reasons(metrics) == {"unreachable"}


def test_a_runbook_that_does_not_load_rewrites_the_file(tmp_path: Path) -> None:
    prom = tmp_path / "srmctl.prom"
    _stale_ready_file(prom)
    runbook = tmp_path / "nightly.yaml"
    runbook.write_text("version: 1\nname: [\n")
    result = CliRunner().invoke(cli, ["check", str(runbook), "--prometheus", str(prom)])
    assert result.exit_code == 3
    metrics = _metrics(prom)
    assert metrics[("srmctl_ready", (("runbook", "nightly"),))] == 0
    assert _error_reasons(metrics) == {"runbook_invalid"}
