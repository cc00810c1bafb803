"""Fault injection in front of the API handlers: HTTP faults that tests register through the control
endpoints (a status such as 503 or 429 with ``Retry-After``, a dropped connection, a delay), and a site that
is down, whose every call is dropped. Task faults (failing or slow tasks) live in the world
(:meth:`~srmctl.srmsim.world.World.add_task_fault`), as they act on task workers, not on HTTP.

A dropped connection must look like a dead appliance to the client: the TCP connection closes without any
HTTP response (httpx raises ``RemoteProtocolError`` or ``ReadError``). ASGI offers no way to do that, so
srmsim serves with a subclass of uvicorn's h11 protocol that registers each live connection by its
(server, client) address pair; :func:`drop` aborts the transport of the calling connection.
"""

from __future__ import annotations

import asyncio
import fnmatch
import socket
import threading
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from srmctl.srmsim.sessions import below_root
from srmctl.srmsim.web import encode, error_body

Address = tuple[Any, ...]


@dataclass
class HttpFault:
    method: str
    path: str  # fnmatch pattern on the path below the API root, e.g. "/pairings/*/replications"
    kind: str  # status | drop | delay
    count: int
    status: int = 503
    retry_after: int | None = None
    delay: float = 0.0
    site: str | None = None
    api: str | None = None


class FaultStore:
    def __init__(self) -> None:
        self._faults: list[HttpFault] = []
        self._lock = threading.Lock()

    def add(self, fault: HttpFault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, site: str, api: str, method: str, path: str) -> HttpFault | None:
        """The first armed fault matching a call, with one use taken from it."""
        with self._lock:
            for fault in self._faults:
                if fault.count <= 0 or (fault.site and fault.site != site) or (fault.api and fault.api != api):
                    continue
                if fault.method in ("*", method) and fnmatch.fnmatchcase(path, fault.path):
                    fault.count -= 1
                    return fault
            return None


class FaultMiddleware:
    """Drops every call to a site that is down, then applies the first matching injected fault."""

    def __init__(self, app: ASGIApp, faults: FaultStore, is_up: Any, site: str, api: str) -> None:
        self.app, self.faults, self.is_up, self.site, self.api = app, faults, is_up, site, api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self.is_up(self.site):
            await drop(scope)
            return
        fault = self.faults.take(self.site, self.api, scope["method"], below_root(scope))
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.kind == "drop":
            await drop(scope)
        elif fault.kind == "delay":
            await asyncio.sleep(fault.delay)
            await self.app(scope, receive, send)
        else:
            body = encode(error_body("INJECTED_FAULT", f"srmsim injected HTTP {fault.status}"))
            headers = [
                (b"x-srmsim-fault", b"1"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
            if fault.retry_after is not None:
                headers.append((b"retry-after", str(fault.retry_after).encode()))
            await send({"type": "http.response.start", "status": fault.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})


# --- dropping a connection --------------------------------------------------------------------------

_live: dict[tuple[Address, Address], Any] = {}  # (server, client) address -> the connection's protocol


def connections(server_port: int) -> list[Any]:
    """The protocols of the live connections accepted on ``server_port`` (their transports, sockets included)."""
    return [protocol for (server, _), protocol in list(_live.items()) if server[1:2] == (server_port,)]


async def drop(scope: Scope) -> None:
    """Close the calling connection without a response, and wait until the server has seen it closed (so
    that uvicorn does not try to answer a request whose app returned without one)."""
    key = (tuple(scope["server"]), tuple(scope["client"]))
    protocol = _live.get(key)
    if protocol is None:  # not served by :func:`droppable_protocol`'s class: nothing to abort
        raise ConnectionAbortedError("srmsim cannot drop a connection it does not track")
    protocol.transport.abort()
    await protocol.closed.wait()


def no_delay(transport: asyncio.BaseTransport) -> None:
    """Send each write at once (TCP_NODELAY) on an accepted connection.

    uvicorn writes a response's head and body in separate writes. With Nagle's algorithm on, the body waits
    for the client's ACK of the head, which the client delays by up to 40 ms: a 40 ms floor under every call.
    asyncio sets TCP_NODELAY itself only on sockets whose ``proto`` is ``IPPROTO_TCP``, which accepted sockets
    of a listener made with ``proto=0`` are not, so it is set here, for every connection (docs/architecture.md,
    section 7, "Latency floor").
    """
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def droppable_protocol() -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, registering each connection so that :func:`drop` can abort it.

    uvicorn is imported here, not at module level: its package imports click (for its own command line),
    and srmsim's modules must import without click (see tests/test_boundaries.py).
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class DroppableH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            no_delay(transport)
            super().connection_made(transport)
            self.closed = asyncio.Event()
            _live[(tuple(self.server or ()), tuple(self.client or ()))] = self

        def connection_lost(self, exc: Exception | None) -> None:
            super().connection_lost(exc)
            _live.pop((tuple(self.server or ()), tuple(self.client or ())), None)
            self.closed.set()

    return DroppableH11Protocol
