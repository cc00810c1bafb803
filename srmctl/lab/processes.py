"""Starting the lab's vCenter simulators (vcsim); stopping them by pid is :mod:`srmctl.labkit.processes`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from srmctl.errors import LabError
from srmctl.labkit.processes import stop_process

READY_PREFIX = "export GOVC_URL="


def find_vcsim() -> Path:
    """The vcsim binary: $SRMCTL_VCSIM, the one the set-up command built into this environment, or PATH."""
    candidates = [os.environ.get("SRMCTL_VCSIM"), str(Path(sys.prefix) / "bin" / "vcsim"), shutil.which("vcsim")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise LabError("vcsim not found: run scripts/setup (it builds govmomi's vcsim into the virtualenv) "
                   "or set SRMCTL_VCSIM")


@dataclass(frozen=True)
class VcsimProcess:
    pid: int
    port: int
    log: Path


def start_vcsim(workdir: Path, *, user: str, password_file: Path, cert: Path, key: Path,
                clusters: int, hosts: int, timeout: float = 20.0) -> VcsimProcess:
    """Start vcsim detached (it outlives ``lab up``) on a free loopback port and wait for readiness.

    vcsim prints ``export GOVC_URL=...`` only once its listener serves, so reading that line is a
    race-free readiness check; the port comes from that line (we ask for port 0).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    out, log = workdir / "vcsim.out", workdir / "vcsim.log"
    args = [str(find_vcsim()), "-l", "127.0.0.1:0", "-username", user, "-password", str(password_file),
            "-tlscert", str(cert), "-tlskey", str(key), "-dc", "1", "-cluster", str(clusters),
            "-host", str(hosts), "-standalone-host", "0", "-ds", "0", "-vm", "0", "-pg", "0"]
    with out.open("wb") as stdout, log.open("ab") as stderr:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                start_new_session=True, env={**os.environ, "TMPDIR": str(workdir)})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = out.read_text().splitlines()[:1]
        if line and line[0].startswith(READY_PREFIX):
            url = urllib.parse.urlsplit(line[0].split()[1].split("=", 1)[1])
            assert url.port is not None
            return VcsimProcess(pid=proc.pid, port=url.port, log=log)
        if proc.poll() is not None:
            raise LabError(f"vcsim exited with status {proc.returncode} during start; see {log}")
        time.sleep(0.05)
    stop_process(proc.pid)
    raise LabError(f"vcsim did not become ready within {timeout:.0f}s; see {log}")
