"""Lab safety: 'lab down' stops only the processes 'lab up' started and removes only what it created;
'lab up' refuses folders that are not its own and site names that are not plain folder names; no
password lands anywhere but the 0600 password files."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from srmctl.cli.main import cli
from srmctl.errors import LabError
from srmctl.lab import lab, processes
from srmctl.lab.config import LabConfig, LabEndpoint, LabSite, load_lab, save_lab
from srmctl.lab.processes import ProcessIdentity, identity
from srmctl.labkit.processes import is_running
from srmctl.labkit.topology import Topology, load_topology


@pytest.fixture
def stranger() -> Iterator[subprocess.Popen[bytes]]:
    """A process the lab did not start (think: another user's, holding a pid a stale lab.yaml lists)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def _lab_yaml(
    directory: Path, pid: int, recorded: ProcessIdentity | None, site: str = "new-york", port: int = 1
) -> None:
    endpoint = LabEndpoint(
        host="127.0.0.1",
        port=port,
        user="u",
        password_file=str(directory / "pw"),
        thumbprint="00",
        ca_file=str(directory / "ca.pem"),
    )
    directory.mkdir(parents=True, exist_ok=True)
    save_lab(
        LabConfig(
            directory=str(directory),
            protected_site=site,
            sites={
                site: LabSite(
                    datacenter="dc",
                    vcenter=endpoint,
                    datastores={},
                    pids={"vcsim": pid},
                    identities={"vcsim": recorded} if recorded else {},
                )
            },
        )
    )


def test_down_leaves_a_pid_without_a_recorded_identity_alone(tmp_path: Path, stranger: subprocess.Popen[bytes]) -> None:
    _lab_yaml(tmp_path / "lab", stranger.pid, None)
    result = CliRunner().invoke(cli, ["lab", "down", "--dir", str(tmp_path / "lab")])
    assert result.exit_code == 0, result.output
    assert stranger.poll() is None, "lab down killed a process it cannot prove it started"
    assert "left alone" in result.stderr and str(stranger.pid) not in result.output.split("stopped")[0]


def test_down_leaves_a_reused_pid_alone(tmp_path: Path, stranger: subprocess.Popen[bytes]) -> None:
    now = identity(stranger.pid)
    assert now is not None
    # What 'lab up' recorded: a vcsim that held this pid earlier (so: another command line, an earlier start).
    stale = ProcessIdentity(pid=stranger.pid, start_time=now.start_time - 100, cmdline=("/usr/bin/vcsim", "-l"))
    _lab_yaml(tmp_path / "lab", stranger.pid, stale)
    rows = lab.down(tmp_path / "lab")
    assert stranger.poll() is None
    assert [row.pid for row in rows if row.note] == [stranger.pid]
    assert "left alone" in rows[0].note and "vcsim" in rows[0].note
    # Same command line, other start time: still a stranger.
    _lab_yaml(tmp_path / "lab2", stranger.pid, ProcessIdentity(stranger.pid, now.start_time - 1, now.cmdline))
    assert lab.down(tmp_path / "lab2")[0].note and stranger.poll() is None


_LISTENER = (
    "import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
    "print(s.getsockname()[1], flush=True); time.sleep(120)"
)


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A process like the lab's simulators: started with a file of the lab folder, listening on a port."""
    (tmp_path / "lab").mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", _LISTENER, str(tmp_path / "lab" / "cert.pem")], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    yield proc, port
    proc.kill()
    proc.wait()


def test_down_stops_the_very_process_it_recorded(tmp_path: Path, simulator: tuple[subprocess.Popen[str], int]) -> None:
    proc, port = simulator
    _lab_yaml(tmp_path / "lab", proc.pid, identity(proc.pid), port=port)
    rows = lab.down(tmp_path / "lab")
    assert [(row.pid, row.note) for row in rows] == [(proc.pid, "")]
    assert proc.wait(5) is not None


def test_down_leaves_a_process_whose_identity_was_copied_into_lab_yaml_alone(
    tmp_path: Path, stranger: subprocess.Popen[bytes], simulator: tuple[subprocess.Popen[str], int]
) -> None:
    # Pid, start time and command line copied from another process: it names no file of the lab folder.
    _lab_yaml(tmp_path / "lab", stranger.pid, identity(stranger.pid))
    rows = lab.down(tmp_path / "lab")
    assert stranger.poll() is None and "names no file of" in rows[0].note
    # One that names a lab file but does not serve the lab's port is not the lab's either.
    proc, port = simulator
    _lab_yaml(tmp_path / "lab", proc.pid, identity(proc.pid), port=port + 1 if port < 65535 else port - 1)
    rows = lab.down(tmp_path / "lab")
    assert proc.poll() is None and "does not listen on the lab's port" in rows[0].note


@pytest.mark.parametrize("pid", [-1, 0, 1 << 40])
@pytest.mark.parametrize("command", ["down", "status"])
def test_a_pid_no_process_can_have_is_a_clear_error(tmp_path: Path, pid: int, command: str) -> None:
    _lab_yaml(tmp_path / "lab", 2, None)
    path = tmp_path / "lab" / "lab.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["sites"]["new-york"]["pids"]["vcsim"] = pid
    doc["sites"]["new-york"]["identities"] = {"vcsim": {"pid": pid, "start_time": 1, "cmdline": ["vcsim"]}}
    path.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(cli, ["lab", command, "--dir", str(tmp_path / "lab")])
    assert result.exit_code == 1, result.output
    assert f"{pid}" in result.stderr and "not a valid lab file" in result.stderr
    assert isinstance(result.exception, SystemExit)  # an error said, not an exception


def test_down_removes_only_entries_lab_up_creates(tmp_path: Path) -> None:
    folder = tmp_path / "lab"
    _lab_yaml(folder, 2, None)
    (folder / "notes.txt").write_text("mine")
    (folder / "new-york" / "datastores").mkdir(parents=True)
    (folder / "mine").mkdir()
    (folder / "mine" / "keep.txt").write_text("mine")
    (folder / "lab-manifest.yaml").write_text(
        yaml.safe_dump({"version": 1, "created": ["lab-manifest.yaml", "lab.yaml", "mine", "new-york", "notes.txt"]})
    )
    result = CliRunner().invoke(cli, ["lab", "down", "--dir", str(folder)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == ["mine", "notes.txt"]
    assert "notes.txt: listed in lab-manifest.yaml but not a file 'lab up' creates; left alone" in result.stderr


def _renamed(topology: Topology, old: str, new: str) -> Topology:
    doc = topology.model_dump(mode="json")
    doc["sites"] = {new if name == old else name: site for name, site in doc["sites"].items()}
    text = yaml.safe_dump(doc).replace(f"'{old}'", f"'{new}'").replace(f": {old}\n", f": '{new}'\n")
    return Topology.model_validate(yaml.safe_load(text))


@pytest.mark.parametrize("name", ["../x", "a/b", "..", ".hidden", "srmsim", "lab.yaml"])
def test_up_refuses_a_site_name_that_is_not_a_plain_folder_name(tmp_path: Path, name: str) -> None:
    topology = _renamed(load_topology(), "new-jersey", name)
    with pytest.raises(LabError, match="site name"):
        lab.up(tmp_path / "lab", topology)
    assert not (tmp_path / "x").exists() and not (tmp_path / "lab").exists()


def test_up_refuses_a_datastore_name_that_is_not_a_plain_folder_name(tmp_path: Path) -> None:
    topology = load_topology()
    site = topology.sites["new-jersey"]
    bad = topology.model_copy(
        update={
            "sites": {
                **topology.sites,
                "new-jersey": site.model_copy(update={"datastores": [*site.datastores, "../../escape"]}),
            }
        }
    )
    with pytest.raises(LabError, match="datastore name"):
        lab.up(tmp_path / "lab", bad)


def test_down_never_deletes_a_folder_named_by_a_site_of_lab_yaml(tmp_path: Path) -> None:
    outside = tmp_path / "x"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    _lab_yaml(tmp_path / "lab", processes.PID_LIMIT, None, site="../x")
    lab.down(tmp_path / "lab")
    assert (outside / "precious.txt").read_text() == "keep me"


def test_up_refuses_a_folder_with_files_it_did_not_create(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    (folder / "new-york").mkdir(parents=True)  # named like a site folder, which 'lab down' would remove
    (folder / "new-york" / "notes.txt").write_text("mine")
    (folder / "notes.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["lab", "up", "--dir", str(folder)])
    assert result.exit_code == 1
    assert str(folder) in result.stderr and "notes.txt" in result.stderr and "not empty" in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["new-york", "notes.txt"]
    assert [p.name for p in (folder / "new-york").iterdir()] == ["notes.txt"]
    assert CliRunner().invoke(cli, ["lab", "down", "--dir", str(folder)]).exit_code == 0
    assert (folder / "notes.txt").read_text() == (folder / "new-york" / "notes.txt").read_text() == "mine"


def test_the_lab_refuses_to_start_without_proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes, "PROC", tmp_path / "no-proc")
    with pytest.raises(LabError, match="/proc"):
        lab.up(tmp_path / "lab", load_topology())
    assert not (tmp_path / "lab").exists()


def _contains(path: Path, needle: bytes) -> bool:
    with path.open("rb") as handle:
        tail = b""
        while chunk := handle.read(1 << 20):
            if needle in tail + chunk:
                return True
            tail = chunk[-len(needle) :]
    return False


@pytest.mark.lab
def test_a_lab_cycle_keeps_secrets_and_the_users_files(tmp_path: Path) -> None:
    directory = tmp_path / "lab"
    config = lab.up(directory, load_topology())
    try:
        # Some traffic first (logins to every endpoint), so that every log has had a chance to speak.
        assert CliRunner().invoke(cli, ["status", "--lab", str(directory)]).exit_code == 0
        passwords = {
            name: Path(site.vcenter.password_file).read_text().strip().encode() for name, site in config.sites.items()
        }
        password_files = {Path(site.vcenter.password_file) for site in config.sites.values()}
        files = [p for p in directory.rglob("*") if p.is_file()]
        assert len(files) > 10
        leaks = [
            (str(p.relative_to(directory)), site)
            for p in files
            if p not in password_files
            for site, password in passwords.items()
            if _contains(p, password)
        ]
        assert leaks == []
        for path in password_files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        logs = [p for p in files if p.name in ("vcsim.out", "vcsim.log", "srmsim.out", "srmsim.log")]
        assert len(logs) == 6
        assert {str(p.relative_to(directory)): oct(stat.S_IMODE(p.stat().st_mode)) for p in logs} == {
            str(p.relative_to(directory)): "0o600" for p in logs
        }
        (directory / "notes.txt").write_text("the user's, written while the lab runs")
        pids = config.pids
    finally:
        rows = lab.down(directory)
    assert [row.note for row in rows] == ["", "", ""]
    assert not any(is_running(pid) for pid in pids)
    assert [p.name for p in directory.iterdir()] == ["notes.txt"]
    with pytest.raises(LabError, match="not empty"):  # the folder now holds the user's file only
        lab.up(directory, load_topology())


@pytest.mark.lab
def test_lab_up_latency_is_kept_in_the_lab_and_in_srmsims_config(tmp_path: Path) -> None:
    """``srmctl lab up --latency realistic``: srmsim serves with that profile, and both lab.yaml and srmsim's
    own config file (which srmsim reads again when started from it) record it; the choices are srmsim's."""
    from srmctl.cli.commands.lab import up as up_command
    from srmctl.srmsim.app import READY
    from srmctl.srmsim.latency import PROFILES

    latency_option = next(p for p in up_command.params if p.name == "latency")
    assert set(latency_option.type.choices) == set(PROFILES)  # type: ignore[attr-defined]
    directory = tmp_path / "lab"
    result = CliRunner().invoke(cli, ["lab", "up", "--dir", str(directory), "--latency", "realistic"])
    try:
        assert result.exit_code == 0, result.output
        config = load_lab(directory)
        assert config.srmsim is not None and config.srmsim.latency == "realistic"
        assert yaml.safe_load(Path(config.srmsim.config).read_text())["latency"] == "realistic"
        ready = (directory / "srmsim" / "srmsim.out").read_text().splitlines()[0]
        assert json.loads(ready[len(READY) :])["latency"] == "realistic"
    finally:
        lab.down(directory)
