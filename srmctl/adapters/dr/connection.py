"""The connection an SRM or VR client shares with its bound and read-only copies: the ``httpx.Client`` with its
TLS trust (a pinned certificate is checked on every response), the session, and their locks."""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass

import httpx

from srmctl.adapters.dr.values import EventHooks
from srmctl.adapters.tls import TlsPolicy, normalize_thumbprint
from srmctl.errors import ThumbprintMismatch, TlsVerificationFailed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Api:
    """What tells the SRM API from the VR API on the wire (one "DR REST" gateway, otherwise identical)."""

    kind: str  # "SRM" | "VR", named in messages
    root: str  # the path every call's template is under
    task_path: str  # one task by id (the APIs name the id differently)


class Connection:
    """The HTTP connection, the session, the lock that serialises logins and the connection's creation, and
    the lock of the call counts.

    Requests themselves are not serialised: an ``httpx.Client`` "can be shared between threads" (its
    docstring) and pools its connections, so reads sent from several threads overlap on the wire."""

    def __init__(
        self, api: Api, host: str, port: int, tls: TlsPolicy, timeout: float, event_hooks: EventHooks | None
    ) -> None:
        self.api, self.host, self.port, self.tls, self.timeout = api, host, port, tls, timeout
        self.endpoint = f"{host}:{port}"
        self.lock = threading.RLock()
        self.counting = threading.Lock()
        self.session: str | None = None
        self._http: httpx.Client | None = None
        self._event_hooks = dict(event_hooks or {})
        self._pin = normalize_thumbprint(tls.thumbprint) if tls.thumbprint else None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}{self.api.root}"

    def client(self) -> httpx.Client:
        with self.lock:
            return self._http or self._connect()

    def _connect(self) -> httpx.Client:
        # TlsPolicy checks a pin before the first byte of credentials leaves; _check_pin re-checks
        # it on every response so a later connection cannot silently present another certificate.
        context = self.tls.context(self.host, self.port)
        if self.tls.insecure and not self._pin:
            log.warning("%s", self.tls.insecure_warning(self.endpoint))
        hooks = {
            "request": list(self._event_hooks.get("request", [])),
            "response": [self._check_pin, *self._event_hooks.get("response", [])],
        }
        self._http = httpx.Client(
            base_url=self.base_url,
            verify=context,
            timeout=self.timeout,
            event_hooks=hooks,
            headers={"Accept": "application/json"},
        )
        return self._http

    def _check_pin(self, response: httpx.Response) -> None:
        if not self._pin:
            return
        stream = response.extensions.get("network_stream")
        ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
        der = ssl_object.getpeercert(True) if ssl_object is not None else None
        if der is None:
            raise TlsVerificationFailed(f"{self.endpoint}: cannot read the server certificate for the pin")
        actual = "sha256:" + hashlib.sha256(der).hexdigest()
        if actual != self._pin:
            raise ThumbprintMismatch(self.endpoint, self._pin, actual)

    def close(self) -> None:
        with self.lock:
            if self._http is not None:
                self._http.close()
                self._http = None
