"""The sessions of an SRM or VR client's transport: the login (``POST /session`` with Basic → ``x-dr-session``),
its renewal when the server rejects it, and the remote login per pairing (``POST .../remote-session``), renewed
once when it lapses. :class:`~srmctl.adapters.dr.transport.Transport` inherits them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from srmctl.adapters.dr.connection import Connection
from srmctl.adapters.dr.values import Credentials, DrApiError, RemoteLoginLapsed, json_or_text
from srmctl.adapters.retry import RetryStats
from srmctl.errors import AuthenticationFailed

log = logging.getLogger(__name__)


class Sessions:
    """Logins of one transport; the connection's lock serialises them (calls in flight do not wait)."""

    conn: Connection
    credentials: Credentials
    kind: str
    endpoint: str
    pairing_id: str | None
    retry_stats: RetryStats
    _remote: dict[str, Credentials]  # pairing id -> the credentials its remote login was made with

    def _retrying_send(self, key: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        raise NotImplementedError  # the transport's

    def login(self) -> None:
        with self.conn.lock:
            self._login()

    def _current_session(self) -> str | None:
        """The session to send with a call, logging in first when there is none."""
        with self.conn.lock:
            if self.conn.session is None:
                self._login()
            return self.conn.session

    def _renew(self, rejected: str | None) -> str | None:
        """A session to replace one the server rejected: a fresh login, unless another thread has already
        renewed it (calls rejected together log in once)."""
        with self.conn.lock:
            if self.conn.session == rejected or self.conn.session is None:
                self._login()
            return self.conn.session

    def _login(self) -> None:
        key = "POST /session"
        response = self._retrying_send(
            key, "POST", "/session", params=None, body=None, auth=self.credentials, session=None
        )
        # The specs document 400 (ResponseError) as POST /session's refusal; 401/403 are accepted too.
        if response.status_code in (400, 401, 403):
            raise AuthenticationFailed(f"{self.endpoint}: {self.kind} login refused for {self.credentials.user}")
        if response.status_code != 200:
            raise DrApiError("POST", "/session", response.status_code, json_or_text(response.text))
        session_id = response.json().get("session_id")
        if not session_id:
            raise AuthenticationFailed(f"{self.endpoint}: {self.kind} login returned no session_id")
        self.conn.session = session_id
        for pairing_id, remote in self._remote.items():
            self._remote_login(pairing_id, remote)

    def login_remote(self, credentials: Credentials) -> None:
        """Log in to the paired site of the bound pairing; remembered so a re-login also renews the remote
        session."""
        if self.pairing_id is None:
            raise ValueError(f"{self.endpoint}: a remote login needs a client bound to a pairing (bound())")
        with self.conn.lock:
            if self.conn.session is None:
                self._login()
            self._remote_login(self.pairing_id, credentials)
            self._remote[self.pairing_id] = credentials

    def _remote_lapsed(self, pairing_id: str) -> bool:
        """Whether the session's remote login to the pairing is gone: the spec's remote-session read needs it
        ("not-authenticated": ERROR), so any refusal says so."""
        template = "/pairings/{pairing_id}/remote-session"
        target = template.format(pairing_id=quote(pairing_id, safe=":"))
        try:
            probe = self._retrying_send(
                f"GET {template}", "GET", target, params=None, body=None, auth=None, session=self._current_session()
            )
        except DrApiError:
            return True
        return probe.status_code != 200

    def _after_remote_login(
        self, key: str, pairing_id: str, lapse: RemoteLoginLapsed, send: Callable[[], httpx.Response]
    ) -> httpx.Response:
        """Log in to the paired site again and send the call once more; counted with the retries."""
        log.info("%s: %s: the remote login lapsed, logging in to the paired site again", self.endpoint, key)
        with self.conn.counting:
            self.retry_stats.record(lapse)
        with self.conn.lock:
            self._remote_login(pairing_id, self._remote[pairing_id])
        return send()

    def _remote_login(self, pairing_id: str, credentials: Credentials) -> None:
        template = "/pairings/{pairing_id}/remote-session"
        key = f"POST {template}"
        target = template.format(pairing_id=quote(pairing_id, safe=":"))
        response = self._retrying_send(
            key, "POST", target, params=None, body=None, auth=credentials, session=self.conn.session
        )
        if response.status_code in (401, 403):
            raise AuthenticationFailed(
                f"{self.endpoint}: remote login to pairing {pairing_id} refused for {credentials.user}"
            )
        if response.status_code != 204:
            raise DrApiError("POST", target, response.status_code, json_or_text(response.text))
