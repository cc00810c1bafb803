"""A real ``srmctl failback`` process killed with SIGKILL at each kill point, then ``resume``; and the
lock between processes. The test hook SRMCTL_TEST_PAUSE makes the run sleep at a named point."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from labstate import ALL_VMS, RunbookSpec, datastore_files, inventory, make_failover, write_runbook

from srmctl.adapters.vcenter.connection import connect
from srmctl.adapters.vcenter.facade import VCenterOps
from srmctl.cli.main import cli
from srmctl.engine.lock import LockHolder
from srmctl.lab.config import LabConfig

pytestmark = pytest.mark.slow


def _spawn(rb: Path, lab: LabConfig, home: Path, pause: str) -> subprocess.Popen[str]:
    env = {**os.environ, "SRMCTL_HOME": str(home), "SRMCTL_TEST_PAUSE": pause}
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from srmctl.cli.main import main; main()",
            "failback",
            str(rb),
            "--lab",
            lab.directory,
            "--yes",
        ],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _events(home: Path) -> list[dict[str, object]]:
    runs = sorted((home / "runs").glob("*/events.jsonl")) if (home / "runs").exists() else []
    return [json.loads(line) for line in runs[0].read_text().splitlines()] if runs else []


def _wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _run_id(home: Path) -> str:
    return sorted(p.name for p in (home / "runs").iterdir())[0]


@pytest.fixture
def world(fresh_lab: LabConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    make_failover(fresh_lab)
    home = tmp_path / "home"
    monkeypatch.setenv("SRMCTL_HOME", str(home))
    rb = write_runbook(tmp_path / "rb.yaml", RunbookSpec(concurrency=1))
    yield rb, home


def _first_vm_gone(lab: LabConfig) -> bool:
    return "mail04" not in {v.name for v in inventory(lab, "new-york").vms}


def _has(kind: str, home: Path) -> Callable[[], bool]:
    return lambda: any(e.get("kind") == kind for e in _events(home))


KILL_POINTS = {
    # after the files record, before UnregisterVM: the journal says "about to", vCenter has not changed
    "before_call": lambda lab, home: _has("record", home)(),
    # after UnregisterVM, before its journal line: vCenter changed, the journal does not know
    "after_call": lambda lab, home: _has("record", home)() and _first_vm_gone(lab),
    # after the action's journal line
    "after_action": lambda lab, home: _has("action_done", home)(),
}


@pytest.mark.parametrize("point", sorted(KILL_POINTS))
def test_sigkill_then_resume_converges_without_duplicates(
    point: str, fresh_lab: LabConfig, world: tuple[Path, Path]
) -> None:
    rb, home = world
    files_before = datastore_files(fresh_lab, "new-york")
    proc = _spawn(rb, fresh_lab, home, f"{point}=30")
    try:
        _wait_for(lambda: KILL_POINTS[point](fresh_lab, home), proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    if point == "before_call":
        assert not _first_vm_gone(fresh_lab)  # the pause held the run before its first change
    run_id = _run_id(home)
    assert not (home / "runs" / run_id / "report.json").exists()
    listed = CliRunner().invoke(cli, ["runs", run_id, "-o", "json"])
    assert json.loads(listed.output)["result"]["outcome"] == "incomplete"

    result = CliRunner().invoke(cli, ["resume", run_id, "--yes", "-o", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["result"]["outcome"] == "succeeded"
    assert not {v.name for v in inventory(fresh_lab, "new-york").vms} & set(ALL_VMS)
    assert {v.name for v in inventory(fresh_lab, "new-jersey").vms} == set(ALL_VMS)
    assert datastore_files(fresh_lab, "new-york") == files_before
    done = Counter(e["action"]["targets"][0] for e in _events(home) if e["kind"] == "action_done")  # type: ignore[index]
    assert max(done.values()) == 1  # nothing was done twice
    # Only a crash between the call and its journal line leaves an action without its line.
    assert sum(done.values()) == (3 if point == "after_call" else 4)
    kinds = [e["kind"] for e in _events(home)]
    assert kinds.count("run_resumed") == 1 and kinds.count("step_verified") == 2


def test_a_crlf_runbook_resumes_as_unchanged(fresh_lab: LabConfig, world: tuple[Path, Path]) -> None:
    """A runbook saved with Windows line endings is the same file on resume: its hash is of its bytes."""
    rb, home = world
    rb.write_bytes(rb.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    proc = _spawn(rb, fresh_lab, home, "after_action=30")
    try:
        _wait_for(_has("action_done", home), proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    run_id = _run_id(home)
    assert (home / "runs" / run_id / "runbook.yaml").read_bytes() == rb.read_bytes()
    result = CliRunner().invoke(cli, ["resume", run_id, "--yes", "-o", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["result"]["outcome"] == "succeeded"


def test_lock_between_processes_and_stale_lock(fresh_lab: LabConfig, world: tuple[Path, Path]) -> None:
    rb, home = world
    proc = _spawn(rb, fresh_lab, home, "before_call=30")
    try:
        _wait_for(_has("record", home), proc)
        first = _run_id(home)
        busy = CliRunner().invoke(cli, ["failback", str(rb), "--lab", fresh_lab.directory, "--yes"])
        assert busy.exit_code == 1
        assert f"locked by run {first}" in busy.stderr and "wait for it to finish" in busy.stderr
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    # The local lock died with the process; the marker in vCenter stays and is reported as stale.
    stale = CliRunner().invoke(cli, ["failback", str(rb), "--lab", fresh_lab.directory, "--yes"])
    assert stale.exit_code == 1
    assert first in stale.stderr and "stale: its process is gone" in stale.stderr and "--break-lock" in stale.stderr
    assert len(list((home / "runs").iterdir())) == 1  # a refused run leaves no journal

    # The run that left the marker may take it back.
    resumed = CliRunner().invoke(cli, ["resume", first, "--yes"])
    assert resumed.exit_code == 0, resumed.output
    session = connect(fresh_lab.vcenter_endpoint("new-york"))
    try:
        assert VCenterOps(session, "new-york").marker("srmctl.lock.VR Failover") is None
    finally:
        session.close()


def test_marker_of_another_machine_needs_break_lock(fresh_lab: LabConfig, world: tuple[Path, Path]) -> None:
    rb, home = world
    session = connect(fresh_lab.vcenter_endpoint("new-york"))
    try:
        other = LockHolder(run_id="20240101T000000Z-other-0001", host="ops-laptop-7", pid=4242, since="yesterday")
        VCenterOps(session, "new-york").set_marker("srmctl.lock.VR Failover", other.to_json())
    finally:
        session.close()
    refused = CliRunner().invoke(cli, ["failback", str(rb), "--lab", fresh_lab.directory, "--yes"])
    assert refused.exit_code == 1
    assert "ops-laptop-7" in refused.stderr and "may still be running on another machine" in refused.stderr
    assert _first_vm_gone(fresh_lab) is False
    broken = CliRunner().invoke(cli, ["failback", str(rb), "--lab", fresh_lab.directory, "--yes", "--break-lock"])
    assert broken.exit_code == 0, broken.output
    assert _first_vm_gone(fresh_lab)
