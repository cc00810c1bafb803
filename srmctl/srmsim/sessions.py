"""Sessions as the appliances keep them: ``POST /session`` with Basic credentials returns an ``x-dr-session``
token per site and API, with a sliding expiry; a session remembers the pairings whose remote site it has
logged in to (``POST /pairings/{pairing_id}/remote-session``).

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
    remote: set[str] = field(default_factory=set)  # pairing ids whose remote site this session logged in to


class SessionStore:
    """Credentials per site, and the open sessions per (site, API)."""

    def __init__(self, credentials: dict[str, tuple[str, str]], ttl: float) -> None:
        self.credentials = credentials  # site -> (user, password)
        self.ttl = ttl
        self._sessions: dict[tuple[str, str], dict[str, SimSession]] = {}
        self._lock = threading.Lock()

    def user(self, site: str) -> str:
        return self.credentials[site][0]

    def check_basic(self, site: str, header: str | None) -> str | None:
        """The user of a valid ``Authorization: Basic`` header for a site, or None."""
        if not header or not header.startswith("Basic "):
            return None
        try:
            # RFC 7617 "The 'Basic' HTTP Authentication Scheme": user-id and password as UTF-8.
            user, _, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
        except ValueError:
            return None
        expected_user, expected_password = self.credentials[site]
        # compare_digest refuses non-ASCII str: compare the UTF-8 bytes (a non-ASCII password is refused
        # or accepted like any other, never a crash).
        ok = (secrets.compare_digest(user.encode(), expected_user.encode())
              and secrets.compare_digest(password.encode(), expected_password.encode()))
        return user if ok else None

    def login(self, site: str, api: str, header: str | None) -> str:
        user = self.check_basic(site, header)
        if user is None:
            raise SimError(401, "UNAUTHENTICATED", "bad credentials")
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

    def logout(self, site: str, api: str, token: str | None) -> None:
        with self._lock:
            self._sessions.get((site, api), {}).pop(token or "", None)

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
    return str(scope["path"])[len(scope.get("root_path", "")):]
