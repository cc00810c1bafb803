"""Starting and stopping the lab's simulator processes (vcsim and srmsim).

A pid alone does not say which process it is: once the lab's process has exited, the kernel may give the
same pid to anyone's. So ``lab up`` records each process's identity (its command line and its start time
from ``/proc/<pid>/stat``), and ``lab down`` signals a pid only while both still match. That needs Linux's
``/proc``; elsewhere the lab refuses to start rather than record pids it could not check later.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from srmctl.errors import LabError
from srmctl.lab.vcsim_install import find_vcsim
from srmctl.labkit.processes import stop_process

READY_PREFIX = "export GOVC_URL="
PROC = Path("/proc")
PID_LIMIT = 1 << 22  # Linux's largest pid_max


@dataclass(frozen=True)
class ProcessIdentity:
    """Which process a pid was: its start time (clock ticks after boot) and its command line."""

    pid: int
    start_time: int
    cmdline: tuple[str, ...]

    def __post_init__(self) -> None:
        # lab.yaml can be edited: a pid Linux never gives (pid_max is at most 2**22) would make
        # os.pidfd_open fail; loading the lab file says so instead.
        if not 1 <= self.pid <= PID_LIMIT:
            raise ValueError(f"pid {self.pid} is not a process id")


def require_proc() -> None:
    if not (PROC / "self" / "stat").is_file():
        raise LabError(
            f"the lab needs Linux /proc to tell its own processes from others ({sys.platform} has "
            "none), so that 'lab down' never signals a process it did not start"
        )


def identity(pid: int) -> ProcessIdentity | None:
    """The identity of the process now holding ``pid``, or None when no process (or a zombie) holds it."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) is in parentheses and may itself hold spaces or ")": fields after it are
    # counted from the last ")". State is field 3, starttime field 22.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    cmdline = tuple(arg.decode(errors="replace") for arg in raw.split(b"\0")[:-1])
    return ProcessIdentity(pid=pid, start_time=int(fields[19]), cmdline=cmdline)


def started_identity(pid: int, timeout: float = 5.0) -> ProcessIdentity:
    """The identity of a child just started (not yet reaped, so its pid cannot have been reused).

    Right after exec the kernel may show an empty command line for a moment (the parent of a vfork
    resumes before the new program's arguments are in place), so wait until it has one.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = identity(pid)
        if found is None:
            raise LabError(f"process {pid} exited right after it started")
        if found.cmdline or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


def stranger(recorded: ProcessIdentity) -> str | None:
    """None when ``recorded`` is still the process holding its pid (or nothing holds it); else what does."""
    current = identity(recorded.pid)
    if current is None or current == recorded:
        return None
    return (
        f"pid {recorded.pid} is now {' '.join(current.cmdline)[:120]!r} (started at tick "
        f"{current.start_time}), not the {Path(recorded.cmdline[0]).name if recorded.cmdline else '?'} "
        f"'lab up' started (tick {recorded.start_time}); left alone"
    )


def not_the_labs(recorded: ProcessIdentity, ports: set[int], lab_dir: Path) -> str | None:
    """None when the process holding ``recorded.pid`` is the lab's own simulator; else why it is not.

    lab.yaml can be edited, so its pid, start time and command line prove nothing alone (they can be copied
    from any process). The lab's own simulator also listens on one of ``ports`` (the lab's endpoints) and
    was started with files of ``lab_dir`` (its certificate, its config): a process that does both is one
    'lab up' started."""
    lab_dir = lab_dir.resolve()
    if not any(_under(arg, lab_dir) for arg in recorded.cmdline):
        return f"pid {recorded.pid}'s command line names no file of {lab_dir}: not the lab's process; left alone"
    listening = listening_ports(recorded.pid)
    if not listening & ports:
        return (
            f"pid {recorded.pid} does not listen on the lab's port(s) {', '.join(map(str, sorted(ports)))}: "
            "not the lab's process; left alone"
        )
    return None


def _under(arg: str, directory: Path) -> bool:
    return arg.startswith("/") and Path(arg).resolve().is_relative_to(directory)


def listening_ports(pid: int) -> set[int]:
    """The TCP ports process ``pid`` listens on (from /proc: its socket inodes, matched in /proc/net/tcp*);
    empty when its sockets cannot be read (another user's process)."""
    try:
        inodes = {
            os.readlink(fd)[8:-1] for fd in (PROC / str(pid) / "fd").iterdir() if os.readlink(fd).startswith("socket:[")
        }
    except OSError:
        return set()
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / str(pid) / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def stop_recorded(recorded: ProcessIdentity, timeout: float = 10.0) -> bool:
    """Stop the process ``lab up`` started, only if ``recorded`` still matches it. False if not running.

    A pidfd pins the process between the check and the signal, so a pid reused in between is never hit.
    """
    try:
        pidfd = os.pidfd_open(recorded.pid)
    except ProcessLookupError:
        return False
    try:
        if identity(recorded.pid) != recorded:
            return False
        signal.pidfd_send_signal(pidfd, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if identity(recorded.pid) != recorded:
                return True
            time.sleep(0.05)
        if identity(recorded.pid) == recorded:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return True
    finally:
        os.close(pidfd)


def private_log(path: Path, mode: str = "ab") -> Any:
    """Open a log file that only the owner can read (simulator output may name users and endpoints)."""
    fd = os.open(
        path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_APPEND if "a" in mode else os.O_TRUNC), 0o600
    )  # O_NOFOLLOW: never through a symlink planted in a reused lab folder
    os.fchmod(fd, 0o600)  # also when it existed with a wider mode
    return os.fdopen(fd, mode)


@dataclass(frozen=True)
class VcsimProcess:
    pid: int
    port: int
    log: Path
    identity: ProcessIdentity


def start_vcsim(
    workdir: Path,
    *,
    user: str,
    password_file: Path,
    cert: Path,
    key: Path,
    clusters: int,
    hosts: int,
    timeout: float = 20.0,
) -> VcsimProcess:
    """Start vcsim detached (it outlives ``lab up``) on a free loopback port and wait for readiness.

    vcsim prints ``export GOVC_URL=...`` only once its listener serves, so reading that line is a
    race-free readiness check; the port comes from that line (we ask for port 0).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    out, log = workdir / "vcsim.out", workdir / "vcsim.log"
    args = [
        str(find_vcsim()),
        "-l",
        "127.0.0.1:0",
        "-username",
        user,
        "-password",
        str(password_file),
        "-tlscert",
        str(cert),
        "-tlskey",
        str(key),
        "-dc",
        "1",
        "-cluster",
        str(clusters),
        "-host",
        str(hosts),
        "-standalone-host",
        "0",
        "-ds",
        "0",
        "-vm",
        "0",
        "-pg",
        "0",
    ]
    require_proc()
    with private_log(out, "wb") as stdout, private_log(log) as stderr:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
            env={**os.environ, "TMPDIR": str(workdir)},
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = out.read_text().splitlines()[:1]
        if line and line[0].startswith(READY_PREFIX):
            url = urllib.parse.urlsplit(line[0].split()[1].split("=", 1)[1])
            assert url.port is not None
            return VcsimProcess(pid=proc.pid, port=url.port, log=log, identity=started_identity(proc.pid))
        if proc.poll() is not None:
            raise LabError(f"vcsim exited with status {proc.returncode} during start; see {log}")
        time.sleep(0.05)
    stop_process(proc.pid)
    raise LabError(f"vcsim did not become ready within {timeout:.0f}s; see {log}")
