"""Issue 22: a meta.json without the keys every run has (``{}``) is a damaged run everywhere: ``runs`` lists
it as damaged (it said "incomplete", resumable), ``runs ID --report`` refuses it (it wrote an empty report and
exited 0), and ``resume`` refuses it. No lab: all of this happens before srmctl connects to anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from srmctl.cli.main import cli

RUN_ID = "20261125T100000Z-empty-0001"


@pytest.mark.parametrize(
    "meta",
    [{}, {"run_id": RUN_ID, "runbook": "rb", "started": "2026-11-25T10:00:00+00:00"}],
    ids=["empty", "no-runbook-path"],
)
def test_a_meta_without_the_keys_every_run_has_is_damaged(tmp_path: Path, meta: dict[str, str]) -> None:
    run = tmp_path / "runs" / RUN_ID
    run.mkdir(parents=True)
    (run / "meta.json").write_text(json.dumps(meta))
    env = {"SRMCTL_HOME": str(tmp_path)}
    listed = CliRunner().invoke(cli, ["runs", "-o", "json"], env=env)
    assert listed.exit_code == 0, listed.output
    (summary,) = json.loads(listed.stdout)["result"]["runs"]
    assert summary["outcome"] == "damaged"
    assert "meta.json lacks runbook_path, runbook_sha256, steps" in summary["damage"]
    report = CliRunner().invoke(cli, ["runs", RUN_ID, "--report"], env=env)
    assert report.exit_code == 2 and "meta.json lacks" in report.stderr  # RunDamaged, as for other damage
    assert not (run / "report.html").exists()
    resumed = CliRunner().invoke(cli, ["resume", RUN_ID, "--yes"], env=env)
    assert resumed.exit_code == 2 and "meta.json lacks" in resumed.stderr
