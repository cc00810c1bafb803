"""Start and stop srmsim as its own process, and drive its control endpoints (for the lab and tests)."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from srmctl.errors import LabError
from srmctl.labkit.processes import stop_process
from srmctl.srmsim.app import READY


@dataclass(frozen=True)
class SiteEndpoint:
    host: str
    port: int
    thumbprint: str
    cert: str
    user: str
    vc_guid: str


class SrmsimHandle:
    """A running srmsim: endpoints per site, the pairing id, fault injection, and stop()."""

    def __init__(self, process: subprocess.Popen[str] | None, ready: dict[str, Any]) -> None:
        self.process = process  # None when attached to a srmsim started by another process (the lab)
        self.ready = ready
        self.pid: int = ready["pid"]
        # Each server's own pairing id, per site and API; pairing_id and vr_pairing_id are the first site's.
        self.pairings: dict[str, dict[str, str]] = ready.get("pairings", {})
        self.pairing_id: str = ready["pairing_id"]  # the first site's SRM pairing
        self.vr_pairing_id: str = ready.get("vr_pairing_id", "")  # the first site's VR pairing: its own object
        self.sites = {name: SiteEndpoint(**info) for name, info in ready["sites"].items()}

    def pairing(self, site: str, api: str = "srm") -> str:
        """The pairing's id at one site's SRM or VR server."""
        return self.pairings[site][api]

    @property
    def ports(self) -> dict[str, int]:
        return {name: site.port for name, site in self.sites.items()}

    def _control(self, method: str, path: str, body: Any = None, site: str | None = None) -> Any:
        endpoint = self.sites[site] if site else next(iter(self.sites.values()))
        context = ssl.create_default_context(cafile=endpoint.cert)  # srmsim's own self-signed certificate
        url = f"https://{endpoint.host}:{endpoint.port}/srmsim/{path}"
        response = httpx.request(method, url, json=body, verify=context, timeout=10)
        response.raise_for_status()
        return response.json()

    def state(self) -> dict[str, Any]:
        return self._control("GET", "state")

    def task_records(self) -> list[dict[str, Any]]:
        """Every task srmsim started (both sites and APIs) with its queued, started and completed times (ms)."""
        return list(self._control("GET", "tasks"))

    def fail_http(
        self,
        path: str,
        *,
        method: str = "*",
        status: int = 503,
        count: int = 1,
        retry_after: int | None = None,
        site: str | None = None,
        api: str | None = None,
    ) -> None:
        """The next ``count`` calls matching method + path (fnmatch, below the API root) answer ``status``."""
        self._control(
            "POST",
            "faults",
            {
                "path": path,
                "method": method,
                "kind": "status",
                "status": status,
                "count": count,
                "retry_after": retry_after,
                "site": site,
                "api": api,
            },
        )

    def drop_connections(self, path: str, *, method: str = "*", count: int = 1, site: str | None = None) -> None:
        self._control("POST", "faults", {"path": path, "method": method, "kind": "drop", "count": count, "site": site})

    def delay(self, path: str, seconds: float, *, count: int = 1) -> None:
        self._control("POST", "faults", {"path": path, "kind": "delay", "delay": seconds, "count": count})

    def fail_task(self, pattern: str = "*", *, count: int = 1, message: str = "Injected failure") -> None:
        """The next ``count`` tasks whose description matches ``pattern`` end in ERROR."""
        self._control("POST", "task-faults", {"task": pattern, "kind": "error", "count": count, "message": message})

    def slow_tasks(self, pattern: str = "*", *, factor: float = 10.0, count: int = 1) -> None:
        self._control("POST", "task-faults", {"task": pattern, "kind": "slow", "factor": factor, "count": count})

    def slow_sync(self, vm: str, *, minutes: float, seconds: float = 0.0) -> None:
        """Every sync of ``vm``'s replication takes ``minutes`` of simulated time (past its RPO: the
        RPO-violation sync state while it runs) over at least ``seconds`` of real time."""
        self._control("POST", "sync-profiles", {"vm": vm, "minutes": minutes, "seconds": seconds})

    def site_down(self, site: str) -> None:
        other = next(name for name in self.sites if name != site)
        self._control("POST", f"sites/{site}/down", site=other)

    def site_up(self, site: str) -> None:
        other = next(name for name in self.sites if name != site)
        self._control("POST", f"sites/{site}/up", site=other)

    def unregister_vm(self, site: str, name: str) -> list[str]:
        """In-memory srmsim only: unregister a site's VMs of that name (vCenter's UnregisterVM, files kept)."""
        return list(self._control("POST", f"sites/{site}/vms/{name}/unregister")["unregistered"])

    def standby_hosts(self, site: str, on: bool = True) -> None:
        """``site`` has hosts in standby: recoveries to it list "Restore recovery site hosts from standby"."""
        self._control("POST", f"standby-hosts/{site}/{'on' if on else 'off'}")

    def link(self, up: bool, *, during: str | None = None) -> None:
        """Cut the link between the sites (now, or at step ``during`` of the next recovery) or restore it."""
        self._control("POST", "link", {"up": up, **({"during": during} if during else {})})

    def lapse_remote_sessions(self, site: str | None = None, *, status: int | None = None) -> int:
        """End the sessions' remote logins; later calls that need one answer ``status`` (401, 400, 500)."""
        body: dict[str, Any] = {"site": site} if site else {}
        if status is not None:
            body["status"] = status
        return int(self._control("POST", "sessions/lapse-remote", body)["lapsed"])

    def expire_sessions(self, site: str | None = None) -> int:
        return int(self._control("POST", "sessions/expire", {"site": site})["expired"])

    def clear_faults(self) -> None:
        self._control("DELETE", "faults")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None:
            stop_process(self.pid, timeout)
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)


def start_detached(config_path: Path, workdir: Path, *, timeout: float = 60.0) -> SrmsimHandle:
    """Start srmsim in its own session, outliving the caller (``srmctl lab up``); stdout goes to a file
    (a pipe would break once the caller exits), which is polled for the readiness line."""
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "srmsim.out"
    with out.open("w") as stdout, (workdir / "srmsim.log").open("a") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "srmctl.srmsim", "--config", str(config_path), "--workdir", str(workdir)],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=log,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        first = out.read_text().splitlines()[:1]
        if first and first[0].startswith(READY):
            return SrmsimHandle(None, json.loads(first[0][len(READY) :]))
        if process.poll() is not None:
            raise LabError(f"srmsim exited with status {process.returncode} during start; see {workdir / 'srmsim.log'}")
        time.sleep(0.05)
    stop_process(process.pid)
    raise LabError(f"srmsim did not become ready within {timeout:.0f}s; see {workdir / 'srmsim.log'}")


def start_srmsim(config_path: Path, workdir: Path, *, timeout: float = 60.0) -> SrmsimHandle:
    """Start ``python -m srmctl.srmsim`` as a child of this process and wait for its readiness line."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = (workdir / "srmsim.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "srmctl.srmsim", "--config", str(config_path), "--workdir", str(workdir)],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    line: list[str] = []
    reader = threading.Thread(
        target=lambda: line.append(process.stdout.readline() if process.stdout else ""), daemon=True
    )
    reader.start()
    reader.join(timeout)
    if not line or not line[0].startswith(READY):
        process.kill()
        process.wait()
        raise LabError(f"srmsim did not start (see {workdir / 'srmsim.log'}): {line[0] if line else 'timeout'}")
    return SrmsimHandle(process, json.loads(line[0][len(READY) :]))
