"""The lab from a plain install (issue 12, part 5): the wheel, installed into a fresh virtualenv with its
dependencies from the package index, runs ``srmctl lab up`` and a dry run from a folder outside the repository.

vcsim comes from the wheel's own ``srmctl lab install-vcsim`` when Go is installed (into a temporary
SRMCTL_DATA_DIR, found there by ``lab up``), else through SRMCTL_VCSIM from this environment's build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# What the lab needs beyond the Python modules: the default topology, vcsim's Go sources, srmsim's entry point.
LAB_FILES = (
    "srmctl/labkit/default-topology.yaml",
    "srmctl/lab/vcsim_go/go.mod",
    "srmctl/lab/vcsim_go/go.sum",
    "srmctl/lab/vcsim_go/main.go",
    "srmctl/srmsim/__main__.py",
    "srmctl/labkit/certs.py",
    "srmctl/py.typed",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
        timeout=600,
    )
    [built] = out.glob("srmctl-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtualenv (no system packages) holding the wheel and its dependencies; yields its bin folder."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)], check=True, timeout=900
    )
    yield env_dir / "bin"


def _env(bin_dir: Path, tmp: Path, **extra: str) -> dict[str, str]:
    # Nothing of the repository's environment: PATH has the new virtualenv, Go (if any) and the system.
    go = shutil.which("go")
    path = [str(bin_dir), *([str(Path(go).parent)] if go else []), "/usr/bin", "/bin"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SRMCTL_", "VIRTUAL_ENV", "PYTHON", "COLUMNS"))}
    return {
        **env,
        **_go_caches(go),
        "PATH": os.pathsep.join(path),
        "HOME": str(tmp / "home"),
        "SRMCTL_HOME": str(tmp / "state"),
        "SRMCTL_DATA_DIR": str(tmp / "data"),
        **extra,
    }


def _go_caches(go: str | None) -> dict[str, str]:
    """This machine's Go build and module caches (HOME is a new folder, whose empty caches would make the wheel's
    install-vcsim compile govmomi from nothing: minutes, for what the repository's set-up already compiled).
    The build still runs from the wheel's own sources; the caches only hold compiled packages and modules."""
    if go is None:
        return {}
    found = subprocess.run([go, "env", "GOCACHE", "GOMODCACHE"], capture_output=True, text=True, check=False)
    caches = found.stdout.split("\n")[:2] if found.returncode == 0 else []
    return {name: value for name, value in zip(("GOCACHE", "GOMODCACHE"), caches, strict=False) if value}


def _srmctl(bin_dir: Path, cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "srmctl"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_wheel_holds_what_the_lab_needs(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [f for f in LAB_FILES if f not in names] == []
    assert not [n for n in names if n.startswith(("tests/", "bench/"))]


@pytest.mark.lab
def test_lab_from_a_fresh_virtualenv(installed: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"  # outside the repository: nothing can come from the checkout
    work.mkdir()
    (tmp_path / "home").mkdir()
    env = _env(installed, tmp_path)
    assert not str(work).startswith(str(ROOT))

    # No vcsim anywhere yet: 'lab up' says how to get one, and creates nothing.
    missing = _srmctl(installed, work, env, "lab", "up", "--dir", "lab")
    assert missing.returncode == 1, missing.stderr
    assert "srmctl lab install-vcsim" in missing.stderr and "SRMCTL_VCSIM" in missing.stderr
    assert "Traceback" not in missing.stderr and not (work / "lab").exists()

    if shutil.which("go"):
        built = _srmctl(installed, work, env, "lab", "install-vcsim")
        assert built.returncode == 0, built.stderr
        assert (tmp_path / "data" / "bin" / "vcsim").is_file(), built.stdout
    else:  # the wheel cannot build it here; the repository's build stands in
        env["SRMCTL_VCSIM"] = str(ROOT / ".venv" / "bin" / "vcsim")

    shutil.copy(ROOT / "playbooks" / "lab.yaml", work / "lab.yaml")
    up = _srmctl(installed, work, env, "lab", "up", "--dir", "lab", "--scenario", "planned-migration")
    try:
        assert up.returncode == 0, up.stderr
        status = _srmctl(installed, work, env, "lab", "status", "--dir", "lab", "-o", "json")
        assert status.returncode == 0 and '"running": true' in status.stdout, status.stdout
        plan = _srmctl(installed, work, env, "plan", "lab.yaml", "--lab", "lab")
        assert plan.returncode == 0, plan.stdout + plan.stderr
        assert "plan.migrate" in plan.stdout and "mail04" in plan.stdout, plan.stdout
    finally:
        down = _srmctl(installed, work, env, "lab", "down", "--dir", "lab")
    assert down.returncode == 0, down.stderr
    assert "stopped 3 process(es)" in down.stdout
