"""Sessions as the appliances keep them: ``POST /session`` with Basic credentials returns an ``x-dr-session``
token per site and API, with a sliding expiry; a session remembers the pairings whose remote site it has
logged in to (``POST /pairings/{pairing_id}/remote-session``), each with its own expiry: the remote session
lives on the paired server and is kept alive only by the calls that use it (the operations the specs'
``x-dr-remote-site-connectivity-contract`` marks, :mod:`srmctl.srmsim.remote`), so it can lapse while the
local one stays alive.

:class:`SessionMiddleware` authenticates every API call but the login itself, so no handler checks a
session; the login, logout and remote-login handlers are in :mod:`srmctl.srmsim.routes.sessions`.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from dataclasses import dataclass, field

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from srmctl.srmsim.model import SimError

SESSION = "srmsim.session"  # the ASGI scope key where the middleware leaves the caller's session


@dataclass
class SimSession:
    user: str
    expires: float
    remote: dict[str, float] = field(default_factory=dict)  # pairing id -> expiry of the remote login


class SessionStore:
    """Credentials per site, and the open sessions per (site, API)."""

    def __init__(self, credentials: dict[str, tuple[str, str]], ttl: float, remote_ttl: float | None = None) -> None:
        self.credentials = credentials  # site -> (user, password)
        self.ttl = ttl
        self.remote_ttl = ttl if remote_ttl is None else remote_ttl
        self._sessions: dict[tuple[str, str], dict[str, SimSession]] = {}
        self._lock = threading.Lock()

    def user(self, site: str) -> str:
        return self.credentials[site][0]

    def check_basic(self, site: str, header: str | None) -> str | None:
        """The user of a valid ``Authorization: Basic`` header for a site, or None.

        user-id and password are UTF-8 (RFC 7617 section 2.1, ``charset="UTF-8"``), compared as bytes:
        ``secrets.compare_digest`` refuses non-ASCII ``str`` with a TypeError, which used to drop the connection.
        """
        if not header or not header.startswith("Basic "):
            return None
        try:
            raw = base64.b64decode(header[6:].strip(), validate=True)
        except ValueError:
            return None
        user, colon, password = raw.partition(b":")
        expected_user, expected_password = (part.encode() for part in self.credentials[site])
        # Both comparisons always run, so that the time taken does not tell a wrong user from a wrong password.
        ok_user = secrets.compare_digest(user, expected_user)
        ok_password = secrets.compare_digest(password, expected_password)
        if not (colon and ok_user and ok_password):
            return None
        return user.decode()

    def login(self, site: str, api: str, header: str | None) -> str:
        user = self.check_basic(site, header)
        if user is None:
            # POST /session documents no 401: its only refusal is "400 Bad request - the server cannot
            # understand the request due to invalid syntax or invalid request body content" with a
            # ResponseError (SRM and VR REST API 2.0, "Login").
            raise SimError(400, "UNAUTHENTICATED", "login refused: incorrect user name or password")
        token = secrets.token_hex(16)
        with self._lock:
            self._sessions.setdefault((site, api), {})[token] = SimSession(user, time.monotonic() + self.ttl)
        return token

    def find(self, site: str, api: str, token: str | None) -> SimSession | None:
        if not token:
            return None
        with self._lock:
            store = self._sessions.setdefault((site, api), {})
            found = store.get(token)
            if found is None or found.expires < time.monotonic():
                store.pop(token, None)
                return None
            found.expires = time.monotonic() + self.ttl  # sliding expiry, like the appliance
            return found

    def remote_login(self, session: SimSession, pairing_id: str) -> None:
        with self._lock:
            session.remote[pairing_id] = time.monotonic() + self.remote_ttl

    def remote_alive(self, session: SimSession | None, pairing_id: str | None) -> bool:
        """Whether the session's login to the pairing's remote site is still alive; a use extends it."""
        if session is None or pairing_id is None:
            return False
        with self._lock:
            expires = session.remote.get(pairing_id)
            if expires is None or expires < time.monotonic():
                session.remote.pop(pairing_id, None)
                return False
            session.remote[pairing_id] = time.monotonic() + self.remote_ttl
            return True

    def logout(self, site: str, api: str, token: str | None) -> None:
        with self._lock:
            self._sessions.get((site, api), {}).pop(token or "", None)

    def lapse_remote(self, site: str | None = None) -> int:
        """End every session's remote login (of one site's sessions, or all), the local sessions staying."""
        with self._lock:
            count = 0
            for (s, _), store in self._sessions.items():
                if site is None or s == site:
                    for session in store.values():
                        count += len(session.remote)
                        session.remote.clear()
            return count

    def expire(self, site: str | None = None) -> int:
        """End every session (of one site, or all): the next call answers 401 and the client logs in again."""
        with self._lock:
            count = 0
            for (s, _), store in self._sessions.items():
                if site is None or s == site:
                    count += len(store)
                    store.clear()
            return count


class SessionMiddleware:
    """Answers 401 (no body) unless the call carries a live ``x-dr-session``; ``POST /session`` passes."""

    def __init__(self, app: ASGIApp, store: SessionStore, site: str, api: str) -> None:
        self.app, self.store, self.site, self.api = app, store, site, api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not (scope["method"] == "POST" and below_root(scope) == "/session"):
            session = self.store.find(self.site, self.api, Headers(scope=scope).get("x-dr-session"))
            if session is None:
                await send({"type": "http.response.start", "status": 401, "headers": [(b"content-length", b"0")]})
                await send({"type": "http.response.body", "body": b""})
                return
            scope[SESSION] = session
        await self.app(scope, receive, send)


def below_root(scope: Scope) -> str:
    """The request path below the API root the app is mounted at (``/pairings/...``)."""
    return str(scope["path"])[len(scope.get("root_path", "")) :]
