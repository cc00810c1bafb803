"""Where the lab finds vcsim, and ``srmctl lab install-vcsim`` (issue 12, part 5). The full route from a wheel in
a fresh virtualenv is tests/packaging/test_wheel_lab.py."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from srmctl.cli.main import cli
from srmctl.errors import LabError
from srmctl.lab.vcsim_install import data_dir, find_vcsim, install_vcsim, installed_vcsim

GO = shutil.which("go")  # before a test empties PATH


def _executable(path: Path, text: str = "#!/bin/sh\nexit 0\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def bare(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No vcsim anywhere: an empty environment prefix, data folder and PATH."""
    monkeypatch.delenv("SRMCTL_VCSIM", raising=False)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    monkeypatch.setenv("SRMCTL_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "path").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "path"))
    return tmp_path


def test_data_dir_follows_srmctl_then_xdg_then_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SRMCTL_DATA_DIR", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert data_dir() == tmp_path / "home" / ".local" / "share" / "srmctl"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/is/ignored")
    assert data_dir() == tmp_path / "home" / ".local" / "share" / "srmctl"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert installed_vcsim() == tmp_path / "xdg" / "srmctl" / "bin" / "vcsim"
    monkeypatch.setenv("SRMCTL_DATA_DIR", str(tmp_path / "mine"))
    assert installed_vcsim() == tmp_path / "mine" / "bin" / "vcsim"


def test_not_found_names_both_ways_to_get_one(bare: Path) -> None:
    with pytest.raises(LabError) as caught:
        find_vcsim()
    assert "srmctl lab install-vcsim" in caught.value.message and "SRMCTL_VCSIM" in caught.value.message


def test_order_is_explicit_environment_data_folder_path(bare: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path = _executable(bare / "path" / "vcsim")
    assert find_vcsim() == on_path
    installed = _executable(bare / "data" / "bin" / "vcsim")
    assert find_vcsim() == installed  # srmctl's own build before whatever vcsim PATH has
    in_env = _executable(bare / "prefix" / "bin" / "vcsim")
    assert find_vcsim() == in_env
    explicit = _executable(bare / "elsewhere" / "my-vcsim")
    monkeypatch.setenv("SRMCTL_VCSIM", str(explicit))
    assert find_vcsim() == explicit


def test_a_wrong_srmctl_vcsim_is_an_error_not_a_fallback(bare: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _executable(bare / "path" / "vcsim")
    not_executable = bare / "vcsim.txt"
    not_executable.write_text("")
    for value in (str(bare / "missing"), str(not_executable), str(bare)):
        monkeypatch.setenv("SRMCTL_VCSIM", value)
        with pytest.raises(LabError, match=r"^SRMCTL_VCSIM=.* is not an executable file"):
            find_vcsim()


def test_lab_up_without_vcsim_creates_nothing(bare: Path) -> None:
    result = CliRunner().invoke(cli, ["lab", "up", "--dir", str(bare / "lab")])
    assert result.exit_code == 1, result.output
    assert "srmctl lab install-vcsim" in result.stderr and "Traceback" not in result.output
    assert not (bare / "lab").exists()


def test_install_without_go_says_what_to_install(bare: Path) -> None:
    result = CliRunner().invoke(cli, ["lab", "install-vcsim"])
    assert result.exit_code == 1, result.output
    assert "Go is not installed" in result.stderr and "Go >= 1.25" in result.stderr
    assert not (bare / "data").exists()
    as_json = CliRunner().invoke(cli, ["lab", "install-vcsim", "-o", "json"])
    assert as_json.exit_code == 1 and '"ok": false' in as_json.stdout


def test_a_failed_build_keeps_the_installed_binary(bare: Path) -> None:
    # A 'go' that fails the build, as a real one does on a broken module download.
    _executable(
        bare / "path" / "go",
        "#!/bin/sh\n[ \"$1\" = version ] && echo 'go version go0' && exit 0\n"
        "echo 'cannot reach the module proxy' >&2\nexit 1\n",
    )
    before = _executable(bare / "data" / "bin" / "vcsim", "#!/bin/sh\necho old\n")
    with pytest.raises(LabError, match="cannot reach the module proxy"):
        install_vcsim()
    assert before.read_text() == "#!/bin/sh\necho old\n"
    assert sorted(p.name for p in before.parent.iterdir()) == ["vcsim"]  # no partial file left


@pytest.mark.slow
@pytest.mark.skipif(GO is None, reason="Go is not installed")
def test_install_builds_the_pinned_vcsim_that_lab_up_then_finds(bare: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(GO or "").parent), "/usr/bin", "/bin"]))
    result = CliRunner().invoke(cli, ["lab", "install-vcsim", "-o", "json"])
    assert result.exit_code == 0, result.output
    assert find_vcsim() == bare / "data" / "bin" / "vcsim"
    assert os.access(find_vcsim(), os.X_OK)
