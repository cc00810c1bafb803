"""Issue 22: operating-system errors (disk full, a read-only or plain-file SRMCTL_HOME, a read-only target
folder) end as one clear line with exit 1 and error code ``local_io``, never a traceback; a run stopped by a
full disk says how to resume it, and resumes.

Full and read-only file systems are real: a small tmpfs mounted in a mount namespace the test creates
(``unshare``), so the kernel itself answers ENOSPC and EROFS."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from labstate import RunbookSpec, inventory, make_failover, write_runbook

from srmctl.cli.main import cli
from srmctl.lab.config import LabConfig

SRMCTL = f"{shlex.quote(sys.executable)} -c 'from srmctl.cli.main import main; main()'"


def _in_namespace(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (sh) in a new user and mount namespace, where it may mount file systems."""
    return subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", f"set -u\n{script}"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def test_a_full_disk_mid_run_stops_with_a_resumable_named_error(fresh_lab: LabConfig, tmp_path: Path) -> None:
    make_failover(fresh_lab, ["mail04", "db01"])
    rb = write_runbook(tmp_path / "rb.yaml", RunbookSpec(vms=("mail04", "db01"), concurrency=1))
    home = tmp_path / "home"
    home.mkdir()
    q = shlex.quote
    script = f"""
mount -t tmpfs -o size=512k tmpfs {q(str(home))}
SRMCTL_HOME={q(str(home))} SRMCTL_TEST_PAUSE=after_action=2 {SRMCTL} failback {q(str(rb))} \\
    --lab {q(fresh_lab.directory)} --yes >failed.out 2>failed.err &
pid=$!
until grep -qs action_done {q(str(home))}/runs/*/events.jsonl; do sleep 0.05; done
dd if=/dev/zero of={q(str(home))}/fill bs=4k 2>/dev/null
wait $pid; echo $? >failed.rc
rm {q(str(home))}/fill
run=$(ls {q(str(home))}/runs)
SRMCTL_HOME={q(str(home))} {SRMCTL} resume "$run" --yes -o json >resumed.out 2>resumed.err; echo $? >resumed.rc
"""
    done = _in_namespace(script, tmp_path)
    assert done.returncode == 0, done.stderr
    err = (tmp_path / "failed.err").read_text()
    assert (tmp_path / "failed.rc").read_text().strip() == "1", err
    started, stopped = err.strip().splitlines()  # "run ID started", then the one-line error
    assert "Traceback" not in err and stopped.startswith("srmctl: error: run ")
    assert "No space left on device" in stopped and f"srmctl resume {started.split()[1]}" in stopped
    assert (tmp_path / "resumed.rc").read_text().strip() == "0", (tmp_path / "resumed.err").read_text()
    assert json.loads((tmp_path / "resumed.out").read_text())["result"]["outcome"] == "succeeded"
    assert not {"mail04", "db01"} & {v.name for v in inventory(fresh_lab, "new-york").vms}


def test_a_read_only_home_or_target_folder_is_one_line(shared_lab: LabConfig, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    rb = write_runbook(tmp_path / "rb.yaml", RunbookSpec(steps=("preflight.check",)))
    q = shlex.quote
    script = f"""
mount -t tmpfs -o ro tmpfs {q(str(ro))}
SRMCTL_HOME={q(str(ro))} {SRMCTL} failback {q(str(rb))} --lab {q(shared_lab.directory)} --yes >home.out 2>&1
echo $? >home.rc
{SRMCTL} init --plan 'VR Failover' --lab {q(shared_lab.directory)} -f {q(str(ro / "rb.yaml"))} -o json \\
    >init.out 2>init.err
echo $? >init.rc
"""
    done = _in_namespace(script, tmp_path)
    assert done.returncode == 0, done.stderr
    home_out = (tmp_path / "home.out").read_text()
    assert (tmp_path / "home.rc").read_text().strip() == "1", home_out
    assert home_out.startswith("srmctl: error: ") and "Read-only file system" in home_out
    assert "Traceback" not in home_out and len(home_out.strip().splitlines()) == 1
    assert (tmp_path / "init.rc").read_text().strip() == "1"
    error = json.loads((tmp_path / "init.out").read_text())["error"]
    assert error["code"] == "local_io" and "Read-only file system" in error["message"]
    assert (tmp_path / "init.err").read_text() == ""


def test_a_home_that_is_a_plain_file_is_one_line(shared_lab: LabConfig, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("not a folder\n")
    rb = write_runbook(tmp_path / "rb.yaml", RunbookSpec(steps=("preflight.check",)))
    result = CliRunner().invoke(
        cli, ["failback", str(rb), "--lab", shared_lab.directory, "--yes", "-o", "json"], env={"SRMCTL_HOME": str(home)}
    )
    assert result.exit_code == 1, result.output
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "local_io" and str(home) in error["message"]
    assert home.read_text() == "not a folder\n"
