"""Connecting to the sites' vCenters named by the command's :class:`~srmctl.adapters.endpoints.Endpoints`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from srmctl.adapters.endpoints import ServiceEndpoint
from srmctl.adapters.vcenter.connection import VCenterSession, connect
from srmctl.errors import ConnectionFailed, SrmctlError


@contextmanager
def connected(endpoints: Mapping[str, ServiceEndpoint]) -> Iterator[dict[str, VCenterSession]]:
    """Sessions to every endpoint, connected in parallel. Every endpoint is tried; when any fails, one
    ConnectionFailed names each failure (not just the first) and the sessions that did open are closed."""
    for endpoint in endpoints.values():
        endpoint.secret.reveal()  # an unreadable password is a usage error, reported before any connection
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
