"""Where the lab finds vcsim, and ``srmctl lab install-vcsim``: building it with Go into the user's data folder.

The lab needs srmctl's own build of govmomi's simulator (the Go wrapper shipped in ``srmctl/lab/vcsim_go``,
govmomi pinned in its ``go.mod``; see docs/architecture.md, "The lab and srmsim"): stock vcsim gives every
process the same ``about.instanceUuid`` and has no fault endpoint. An installed srmctl (pip, pipx) has no
repository checkout, so the Go sources travel inside the package and are built from there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from srmctl.errors import LabError

VCSIM = "vcsim"
GO_SOURCES = ("go.mod", "go.sum", "main.go")
GO_NEEDED = "Go >= 1.25"  # tracks the 'go' line of vcsim_go/go.mod
INSTALL_HINT = (
    "run 'srmctl lab install-vcsim' (builds it with Go into the user's data folder), "
    "or set SRMCTL_VCSIM to a vcsim binary"
)


def data_dir() -> Path:
    """srmctl's per-user data folder: $SRMCTL_DATA_DIR, else $XDG_DATA_HOME/srmctl, else ~/.local/share/srmctl."""
    explicit = os.environ.get("SRMCTL_DATA_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_DATA_HOME")
    # The XDG base directory spec: a relative value is invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "srmctl"


def installed_vcsim() -> Path:
    """Where ``install-vcsim`` puts the binary."""
    return data_dir() / "bin" / VCSIM


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_vcsim() -> Path:
    """The vcsim binary, first found of: $SRMCTL_VCSIM; the one scripts/setup built into this environment
    (``<prefix>/bin``); the one ``install-vcsim`` built into the data folder; ``vcsim`` on PATH. srmctl's own
    builds come before PATH, where a stock vcsim (which the lab cannot use) may also be installed."""
    explicit = os.environ.get("SRMCTL_VCSIM")
    if explicit:
        # Asked for by name: a wrong value is an error, not a reason to quietly use another binary.
        if not _executable(Path(explicit)):
            raise LabError(
                f"SRMCTL_VCSIM={explicit} is not an executable file; point it at a vcsim binary, "
                "or unset it and run 'srmctl lab install-vcsim'"
            )
        return Path(explicit)
    on_path = shutil.which(VCSIM)
    for candidate in (Path(sys.prefix) / "bin" / VCSIM, installed_vcsim(), Path(on_path) if on_path else None):
        if candidate is not None and _executable(candidate):
            return candidate
    raise LabError(
        f"vcsim not found (looked in {Path(sys.prefix) / 'bin'}, {installed_vcsim().parent} and PATH): {INSTALL_HINT}"
    )


@dataclass(frozen=True)
class Installed:
    path: Path
    go: str  # the Go toolchain's version line
    sources: str  # where the Go sources were built from (inside the installed package)


def install_vcsim(destination: Path | None = None, progress: Callable[[str], None] | None = None) -> Installed:
    """Build the packaged vcsim wrapper with Go (modules as pinned by its go.mod and go.sum) into
    ``destination`` (default: :func:`installed_vcsim`). The binary is replaced only once the build succeeded."""
    go = shutil.which("go")
    if go is None:
        raise LabError(
            f"Go is not installed (no 'go' on PATH): install {GO_NEEDED} (your distribution's "
            "golang package or Go's own release), then run 'srmctl lab install-vcsim' again; or "
            "set SRMCTL_VCSIM to a vcsim built elsewhere"
        )
    target = destination or installed_vcsim()
    target.parent.mkdir(parents=True, exist_ok=True)
    version = subprocess.run([go, "version"], capture_output=True, text=True, check=False).stdout.strip()
    if progress:
        progress(f"building vcsim with {version or go} into {target} (a first build downloads govmomi)")
    package = resources.files("srmctl.lab").joinpath("vcsim_go")
    # Built from a private copy: the installed package may be read-only, and Go wants to own its module folder.
    with tempfile.TemporaryDirectory(prefix="srmctl-vcsim-") as work:
        for name in GO_SOURCES:
            Path(work, name).write_bytes(package.joinpath(name).read_bytes())
        partial = target.with_name(f".{target.name}.partial")
        # -mod=readonly: the build uses exactly the go.sum shipped with srmctl, never updates it.
        result = subprocess.run(
            [go, "build", "-trimpath", "-mod=readonly", "-o", str(partial), "."],
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "GOFLAGS": "-buildvcs=false"},
        )
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            output = (result.stderr or result.stdout).strip()
            raise LabError(
                f"building vcsim with {version or go} failed (exit {result.returncode}); Go said:\n{output[-2000:]}"
            )
        partial.replace(target)
    return Installed(path=target, go=version, sources=str(package))
