"""The suite's own rules can fail: the fast lane's guard recognises every way a test starts a simulator, an
unmarked test that starts one fails, and the session-end check sees a file the run wrote into a checkout."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from lane_rules import changed_during, checkout_state, starts_simulator


@pytest.mark.parametrize(
    ("args", "starts"),
    [
        (["/x/.venv/bin/vcsim", "-l", "127.0.0.1:0"], True),
        ([sys.executable, "-m", "srmctl.srmsim", "--config", "c.yaml"], True),
        (["srmctl", "lab", "up", "--dir", "lab"], True),
        (["srmctl", "lab", "install-vcsim"], True),
        ("vcsim -l 127.0.0.1:0", True),
        (["srmctl", "lab", "status", "--dir", "lab"], False),
        (["srmctl", "plan", "lab.yaml", "--lab", "lab"], False),
        (["git", "status"], False),
    ],
)
def test_the_guard_knows_simulator_command_lines(args: list[str] | str, starts: bool) -> None:
    assert starts_simulator(args) is starts


def test_an_unmarked_test_that_starts_a_simulator_fails_naming_the_marker(tmp_path: Path) -> None:
    tests = Path(__file__).resolve().parent
    (tmp_path / "conftest.py").write_text((tests / "conftest.py").read_text())
    (tmp_path / "test_sneaky.py").write_text(
        textwrap.dedent("""
        import subprocess, sys

        def test_starts_srmsim_unmarked():
            subprocess.Popen([sys.executable, "-m", "srmctl.srmsim", "--help"]).wait()
        """)
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "-o",
            f"pythonpath={tests / 'fixtures'}",
            "--rootdir",
            str(tmp_path),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "starts a simulator" in run.stdout and "mark it lab" in run.stdout


def test_the_checkout_check_sees_new_and_changed_files(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "tracked.md").write_text("one\n")
    git("add", "tracked.md")
    git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "one")
    before = checkout_state(tmp_path)
    assert before == {}
    (tmp_path / "tracked.md").write_text("two\n")
    (tmp_path / "stray.txt").write_text("left behind\n")
    after = checkout_state(tmp_path)
    assert after is not None
    assert changed_during(before, after) == ["stray.txt", "tracked.md"]
    assert changed_during(after, checkout_state(tmp_path) or {}) == []


def test_outside_a_git_checkout_there_is_nothing_to_compare(tmp_path: Path) -> None:
    assert checkout_state(tmp_path / "no-repo") is None
