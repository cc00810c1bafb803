"""Issue 22: SIGTERM and SIGHUP end a failback as Ctrl-C does: "srmctl: aborted", exit 130, the journal
closed with the run's end, and the plan's lock released (the next failback is not refused)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from labstate import RunbookSpec, make_failover, write_runbook

from srmctl.cli.main import cli
from srmctl.lab.config import LabConfig

pytestmark = pytest.mark.slow


def _events(home: Path) -> list[dict[str, object]]:
    found = sorted((home / "runs").glob("*/events.jsonl")) if (home / "runs").exists() else []
    return [json.loads(line) for line in found[0].read_text().splitlines()] if found else []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_terminated_failback_ends_like_ctrl_c(fresh_lab: LabConfig, tmp_path: Path, signum: int) -> None:
    make_failover(fresh_lab, ["mail04", "db01"])
    rb = write_runbook(tmp_path / "rb.yaml", RunbookSpec(vms=("mail04", "db01"), concurrency=1))
    home = tmp_path / "home"
    env = {**os.environ, "SRMCTL_HOME": str(home), "SRMCTL_TEST_PAUSE": "after_action=30"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from srmctl.cli.main import main; main()",
            "failback",
            str(rb),
            "--lab",
            fresh_lab.directory,
            "--yes",
        ],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not any(e.get("kind") == "action_done" for e in _events(home)):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.05)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "srmctl: aborted" and "Traceback" not in err
    last = _events(home)[-1]
    assert last["kind"] == "run_finished" and last["outcome"] == "aborted"  # type: ignore[comparison-overlap]

    again = CliRunner().invoke(
        cli, ["failback", str(rb), "--lab", fresh_lab.directory, "--yes", "-o", "json"], env={"SRMCTL_HOME": str(home)}
    )
    assert again.exit_code == 0, again.output  # the lock was released: no --break-lock needed
    assert json.loads(again.stdout)["result"]["outcome"] == "succeeded"
