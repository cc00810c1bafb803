"""Issue 22: nothing is written through a symlink someone planted beside a file srmctl writes (the old fixed
temporary name ``.NAME.tmp`` followed symlinks), nor through one at the target itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from srmctl.cli.main import cli
from srmctl.lab.config import LabConfig
from srmctl.lab.processes import private_log
from srmctl.labkit.certs import write_private
from srmctl.metadata.snapshot import read_snapshot
from srmctl.runbook.files import write_atomically


def test_snapshot_export_never_writes_through_a_planted_temporary_symlink(
    shared_lab: LabConfig, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    target = tmp_path / "snap.yaml"
    (tmp_path / ".snap.yaml.tmp").symlink_to(victim)
    result = CliRunner().invoke(
        cli, ["snapshot", "export", "--lab", shared_lab.directory, "--plan", "VR Failover", "-f", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "precious\n"
    assert not target.is_symlink() and read_snapshot(target).plan.name == "VR Failover"


@pytest.mark.parametrize("planted", [".file.tmp", "file"], ids=["temporary-name", "target"])
def test_atomic_writes_replace_symlinks_instead_of_following_them(tmp_path: Path, planted: str) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / planted).symlink_to(victim)
    write_atomically(tmp_path / "file", "new\n")
    assert victim.read_text() == "precious\n"
    assert (tmp_path / "file").read_text() == "new\n" and not (tmp_path / "file").is_symlink()
    assert (tmp_path / "file").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "write",
    [lambda p: write_private(p, b"secret"), lambda p: private_log(p).close()],
    ids=["password-file", "simulator-log"],
)
def test_lab_files_are_never_written_through_a_planted_symlink(tmp_path: Path, write: Any) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / "vcenter.password").symlink_to(victim)
    with pytest.raises(OSError):
        write(tmp_path / "vcenter.password")
    assert victim.read_text() == "precious\n"
