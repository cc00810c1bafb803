"""Issue 22: with ``-o json`` every error prints exactly one JSON document on stdout, click's own usage
errors included (they printed click's text and no JSON)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from srmctl.cli.main import cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["snapshot", "diff", "/nonexistent/snap.yaml", "-o", "json"], "does not exist"),
        (["plan", "-o", "json"], "Missing argument"),
        (["nosuch", "-o", "json"], "No such command 'nosuch'"),
        (["--bogus", "-o", "json"], "No such option '--bogus'"),
        (["failback", "rb.yaml", "--bogus", "--output=json"], "No such option '--bogus'"),
        (["-o", "json", "plan"], "No such option '-o'"),
        (["plan", "-ojson", "rb.yaml", "--steps"], "requires an argument"),
        (["runs", "-o", "json", "--report"], "--report"),
    ],
)
def test_click_usage_errors_are_one_json_document(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    document = json.loads(result.stdout)  # exactly one document: json.loads refuses anything after it
    assert document["ok"] is False and document["error"]["code"] == "usage"
    assert message in document["error"]["message"] and document["error"]["exit_code"] == 2


def test_without_json_click_says_usage_errors_as_before() -> None:
    result = CliRunner().invoke(cli, ["plan"])
    assert result.exit_code == 2 and "Usage: " in result.stderr and "Missing argument" in result.stderr
    assert result.stdout == ""
