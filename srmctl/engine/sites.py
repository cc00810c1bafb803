"""Which endpoints a run talks to (the runbook's ``sites:`` or a lab's ``lab.yaml``) and connecting to them."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from srmctl.adapters.tls import TlsPolicy
from srmctl.adapters.vcenter.connection import VCenterEndpoint, VCenterSession, connect
from srmctl.errors import ConnectionFailed, SrmctlError, UsageError
from srmctl.lab.config import load_lab
from srmctl.runbook import Endpoint, Runbook


def runbook_endpoints(runbook: Runbook, lab_dir: Path | None = None) -> dict[str, VCenterEndpoint]:
    """vCenter endpoints of the two sites the failback involves, with their passwords loaded."""
    names = (runbook.source_site_name, runbook.target_site_name)
    if lab_dir is not None:
        lab = load_lab(lab_dir)
        missing = [n for n in names if n not in lab.sites]
        if missing:
            raise UsageError(f"runbook {runbook.name} names site(s) {', '.join(missing)} that the lab in "
                             f"{lab_dir} does not have (lab sites: {', '.join(sorted(lab.sites))})")
        return {name: lab.vcenter_endpoint(name) for name in names}
    return {name: _endpoint(name, runbook.site(name).vcenter) for name in names}


def _endpoint(site: str, endpoint: Endpoint) -> VCenterEndpoint:
    assert endpoint.user is not None  # VCenterEndpoint requires it
    return VCenterEndpoint(
        host=endpoint.host, port=endpoint.port, user=endpoint.user, password=password_of(site, endpoint),
        tls=tls_of(endpoint))


def tls_of(endpoint: Endpoint) -> TlsPolicy:
    return TlsPolicy(thumbprint=endpoint.thumbprint, ca_file=str(endpoint.ca_file) if endpoint.ca_file else None,
                     insecure=endpoint.insecure)


def password_of(site: str, endpoint: Endpoint, service: str = "vcenter") -> str:
    """The password from the endpoint's ``password_env`` or ``password_file`` (mode checked)."""
    if endpoint.password_env is not None:
        value = os.environ.get(endpoint.password_env)
        if not value:
            raise UsageError(f"sites.{site}.{service}: environment variable {endpoint.password_env} is not set")
        return value
    if endpoint.password_file is not None:
        path = Path(endpoint.password_file)
        try:
            mode = path.stat().st_mode
        except OSError as error:
            raise UsageError(f"sites.{site}.{service}.password_file: cannot read {path}: {error}") from error
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise UsageError(f"sites.{site}.{service}.password_file: {path} is readable by group or others "
                             f"(mode {stat.S_IMODE(mode):o}); chmod 600 it")
        return path.read_text().splitlines()[0].strip() if path.read_text() else ""
    raise UsageError(f"sites.{site}.{service}: no password source (set password_env or password_file)")


@contextmanager
def connected(endpoints: Mapping[str, VCenterEndpoint]) -> Iterator[dict[str, VCenterSession]]:
    """Sessions to every endpoint, connected in parallel. Every endpoint is tried; when any fails, one
    ConnectionFailed names each failure (not just the first) and the sessions that did open are closed."""
    with ThreadPoolExecutor(max_workers=max(1, len(endpoints))) as pool:
        futures = {name: pool.submit(connect, ep) for name, ep in endpoints.items()}
    sessions: dict[str, VCenterSession] = {}
    failures: list[SrmctlError] = []
    for name, future in futures.items():
        try:
            sessions[name] = future.result()
        except SrmctlError as error:
            failures.append(error)
    try:
        if failures:
            if len(failures) == 1:
                raise failures[0]
            combined = ConnectionFailed("\n".join(f.message for f in failures))
            combined.exit_code = failures[0].exit_code
            raise combined
        yield sessions
    finally:
        for session in sessions.values():
            session.close()
