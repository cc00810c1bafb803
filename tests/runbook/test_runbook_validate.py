"""``srmctl validate`` on real files: every bad runbook in ``bad/`` fails with exactly the findings its
``# expect:`` header lines list (``LINE:COL: key.path: message``), in order, and exit code 3."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from srmctl.cli.main import cli

HERE = Path(__file__).parent
BAD = sorted((HERE / "bad").glob("*.yaml"))
GOOD = sorted((HERE / "good").glob("*.yaml"))
EXPECT = "# expect: "


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def expectations(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [f"{path}:{line[len(EXPECT) :]}" for line in lines if line.startswith(EXPECT)]


def test_corpus_is_big_enough() -> None:
    assert len(BAD) >= 30
    assert all(expectations(path) for path in BAD), "every bad runbook states what it expects"


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_runbook_is_rejected_with_exact_findings(path: Path) -> None:
    result = run("validate", str(path))
    assert result.exit_code == 3, result.output
    problems = result.stderr.splitlines()[:-1]
    assert problems == expectations(path)
    assert result.stderr.splitlines()[-1].startswith(f"srmctl: error: {path}: runbook is invalid (")
    assert result.stdout == ""


@pytest.mark.parametrize("path", BAD[:5], ids=lambda p: p.stem)
def test_bad_runbook_json_envelope_lists_problems(path: Path) -> None:
    result = run("validate", str(path), "-o", "json")
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["command"] == "validate"
    assert doc["error"]["code"] == "runbook_invalid" and doc["error"]["exit_code"] == 3
    assert doc["error"]["problems"] == expectations(path)


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_good_runbook_is_valid(path: Path) -> None:
    result = run("validate", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{path}: valid: ")


def test_summary_names_direction_and_vms() -> None:
    result = run("validate", str(HERE / "good" / "full.yaml"))
    assert "mail-back-to-new-york (disaster-recovery): new-jersey → new-york, 3 VMs" in result.stdout


def test_json_result_of_a_valid_runbook() -> None:
    result = run("validate", str(HERE / "good" / "minimal.yaml"), "-o", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["ok"] is True
    assert doc["result"]["select"] == {"protection_group": "VR web"}
    assert doc["result"]["from"] == "nj" and doc["result"]["to"] == "ny"


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = run("validate", str(missing))
    assert result.exit_code == 3
    assert result.stderr.splitlines()[0] == f"{missing}:1:1: (root): cannot read runbook: No such file or directory"


def test_directory_is_not_a_runbook(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path))
    assert result.exit_code == 3
    assert result.stderr.splitlines()[0] == f"{tmp_path}:1:1: (root): cannot read runbook: Is a directory"


def test_non_utf8_points_at_the_byte(tmp_path: Path) -> None:
    runbook = tmp_path / "latin1.yaml"
    runbook.write_bytes(b"version: 1\nname: caf\xe9\n")
    result = run("validate", str(runbook))
    assert result.exit_code == 3
    assert result.stderr.splitlines()[0] == f"{runbook}:2:10: (root): not UTF-8 text"


def _with_password_file(tmp_path: Path, mode: int) -> Path:
    runbook = tmp_path / "rb.yaml"
    shutil.copy(HERE / "good" / "minimal.yaml", runbook)
    text = runbook.read_text().replace(
        "{host: vc-nj.lab, user: admin}", "{host: vc-nj.lab, user: admin, password_file: nj.pw}"
    )
    runbook.write_text(text)
    secret = tmp_path / "nj.pw"
    secret.write_text("not-a-real-password\n")
    secret.chmod(mode)
    return runbook


def test_password_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    runbook = _with_password_file(tmp_path, 0o644)
    result = run("validate", str(runbook))
    assert result.exit_code == 3
    assert result.stderr.splitlines()[0] == (
        f"{runbook}:10:60: sites.nj.vcenter.password_file: nj.pw has mode 0644; it must be 0600 (run: chmod 600 nj.pw)"
    )


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_password_file_private_to_owner_is_accepted(tmp_path: Path, mode: int) -> None:
    result = run("validate", str(_with_password_file(tmp_path, mode)))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_password_file_resolves_against_runbook_directory(tmp_path: Path) -> None:
    from srmctl.runbook import load_runbook

    runbook = load_runbook(_with_password_file(tmp_path, 0o600))
    assert runbook.site("nj").vcenter.password_file == tmp_path / "nj.pw"
    # SRM and VR inherit the vCenter's credentials when they name none.
    assert runbook.site("nj").credentials("vr").password_file == tmp_path / "nj.pw"


def test_unset_password_variable_is_a_warning_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SRMCTL_TEST_NY_PASSWORD", raising=False)
    monkeypatch.setenv("SRMCTL_TEST_NJ_SRM", "x")
    path = HERE / "good" / "full.yaml"
    result = run("validate", str(path))
    assert result.exit_code == 0
    warnings = result.stderr.splitlines()
    assert (
        f"{path}:12:21: sites.new-york.vcenter.password_env: warning: environment variable "
        "SRMCTL_TEST_NY_PASSWORD is not set" in warnings
    )
    assert not any("SRMCTL_TEST_NJ_SRM" in w for w in warnings)


def test_alias_expansion_bomb_is_refused_quickly(tmp_path: Path) -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    runbook = tmp_path / "bomb.yaml"
    runbook.write_text("version: 1\nprompts:\n  dismiss:\n" + "".join(f"    - {line}\n" for line in levels))
    result = run("validate", str(runbook))
    assert result.exit_code == 3
    assert "document too large (over 100000 values after aliases)" in result.stderr


def test_ambiguous_site_names_are_quoted_in_key_paths(tmp_path: Path) -> None:
    runbook = tmp_path / "rb.yaml"
    text = (HERE / "good" / "minimal.yaml").read_text().replace("  ny:\n", '  "new york":\n', 1)
    runbook.write_text(text.replace("to: ny}", "to: new york}"))
    result = run("validate", str(runbook))
    assert result.exit_code == 0, result.output
    runbook.write_text(text.replace("vcenter: {host: vc-ny.lab, user: admin}", "vcenter: {host: vc-ny.lab}"))
    result = run("validate", str(runbook))
    assert f'{runbook}:6:14: sites["new york"].vcenter.user: required key is missing' in result.stderr
