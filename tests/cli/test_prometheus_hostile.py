"""Issue 22: ``check --prometheus`` rewrites its file whatever the runbook's file name, and a textfile that
cannot be written is one clear error, never a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from srmctl.cli.main import cli


def _ready(path: Path) -> float:
    return next(
        s.value for f in text_string_to_metric_families(path.read_text()) for s in f.samples if s.name == "srmctl_ready"
    )


def test_a_runbook_name_that_is_not_utf8_still_rewrites_the_file(tmp_path: Path) -> None:
    runbook = Path(os.fsdecode(bytes(tmp_path) + b"/mail-\xff.yaml"))
    runbook.write_text("version: 1\n")  # invalid: the check cannot run
    prom = tmp_path / "srmctl.prom"
    prom.write_text("srmctl_ready 1\n")
    result = CliRunner().invoke(cli, ["check", str(runbook), "--prometheus", str(prom)])
    assert result.exit_code == 3, result.output
    assert _ready(prom) == 0
    assert 'runbook="mail-\ufffd"' in prom.read_text()


@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
def test_a_textfile_under_a_plain_file_is_one_clear_error(tmp_path: Path, json_output: bool) -> None:
    runbook = tmp_path / "rb.yaml"
    runbook.write_text("version: 1\n")
    (tmp_path / "plain").write_text("")
    result = CliRunner().invoke(
        cli,
        [
            "check",
            str(runbook),
            "--prometheus",
            str(tmp_path / "plain" / "x.prom"),
            *(["-o", "json"] if json_output else []),
        ],
    )
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    if json_output:
        error = json.loads(result.stdout)["error"]
        assert error["code"] == "local_io" and str(tmp_path / "plain") in error["message"]
    else:
        assert result.stderr.startswith("srmctl: error: ") and len(result.stderr.splitlines()) == 1
        assert str(tmp_path / "plain") in result.stderr
