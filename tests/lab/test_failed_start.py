"""A failed ``lab up`` keeps the simulators' logs and says where they are (issue 12, part 7): before, it
pointed at srmsim.log, which it had just deleted with the rest of the lab folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from srmctl.cli.main import cli
from srmctl.errors import LabError
from srmctl.lab import lab
from srmctl.lab.config import load_lab
from srmctl.labkit.topology import load_topology

pytestmark = pytest.mark.lab

BAD_VCSIM = "#!/bin/sh\necho 'vcsim: listen tcp 127.0.0.1:0: bind: address already in use' >&2\nexit 1\n"


def test_a_vcsim_that_fails_to_start_leaves_its_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vcsim = tmp_path / "vcsim"
    vcsim.write_text(BAD_VCSIM)
    vcsim.chmod(0o755)
    monkeypatch.setenv("SRMCTL_VCSIM", str(vcsim))
    directory = (tmp_path / "lab").resolve()
    kept = directory / "logs" / "new-york" / "vcsim" / "vcsim.log"
    for _attempt in range(2):  # the folder of a failed start is the lab's: 'lab up' takes it again
        result = CliRunner().invoke(cli, ["lab", "up", "--dir", str(directory)])
        assert result.exit_code == 1, result.output
        assert f"vcsim exited with status 1 during start; see {kept}" in result.stderr
        assert f"logs are in {directory / 'logs'}" in result.stderr and "Traceback" not in result.output
        assert "address already in use" in kept.read_text()
        assert sorted(p.name for p in directory.iterdir()) == ["lab-manifest.yaml", "logs"]
    assert CliRunner().invoke(cli, ["lab", "down", "--dir", str(directory)]).exit_code == 0
    assert list(directory.iterdir()) == []


def test_an_srmsim_that_fails_to_start_leaves_every_log(tmp_path: Path) -> None:
    import httpx

    directory = (tmp_path / "lab").resolve()

    def refuse_srmsim(message: str) -> None:
        # Just before srmsim starts, make every vCenter call fail: srmsim cannot adopt the sites and exits.
        if message.startswith("starting SRM"):
            for site in load_lab(directory).sites.values():
                httpx.post(
                    f"https://{site.vcenter.host}:{site.vcenter.port}/srmctl/faults",
                    verify=False,
                    json={"method": "*", "fault": "not_authenticated"},
                    timeout=10,
                ).raise_for_status()

    with pytest.raises(LabError) as caught:
        lab.up(directory, load_topology(), progress=refuse_srmsim)
    kept = directory / "logs" / "srmsim" / "srmsim.log"
    assert f"see {kept}" in caught.value.message, caught.value.message
    assert kept.is_file() and kept.read_text(), "srmsim's log is kept, with what went wrong"
    assert (directory / "logs" / "new-york" / "vcsim" / "vcsim.log").is_file()
    assert (directory / "logs" / "new-jersey" / "vcsim" / "vcsim.out").is_file()
    assert sorted(p.name for p in directory.iterdir()) == ["lab-manifest.yaml", "logs"]
    assert lab.down(directory) == [] and list(directory.iterdir()) == []
