"""What the SRM and VR REST clients share on the wire: TLS trust, sessions, retries, paging, call counting.

Both APIs come from the same "DR REST" gateway and behave identically in these respects (``POST /session``
with Basic → ``x-dr-session``; remote-site login per pairing; ``{list, _meta}`` pages; 202 + Task).
"""

import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar, cast
from urllib.parse import quote, urlsplit

import httpx
from pydantic import ValidationError

from srmctl.adapters.dr._values import Credentials, DrApiError, EventHooks, M, Params
from srmctl.adapters.dr.models import SessionInfo, Task
from srmctl.adapters.retry import (
    DEFAULT_POLICY,
    RetryPolicy,
    RetryStats,
    TransientHTTPError,
    is_retryable_login,
    is_transient,
    parse_retry_after,
)
from srmctl.adapters.tls import TlsPolicy, normalize_thumbprint
from srmctl.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    OperationFailed,
    PermissionDenied,
    ThumbprintMismatch,
    TlsVerificationFailed,
)

log = logging.getLogger(__name__)

T = TypeVar("T", bound="Transport")

_MAX_PAGES = 10_000  # a server whose "next" link never ends must not hang srmctl


class Transport:
    """Connection, requests, paging and sessions of :class:`~srmctl.adapters.dr._http.DrClient`. Not
    thread-safe: one client per thread (the site facade holds a lock)."""

    API_ROOT: ClassVar[str]
    TASK_PATH: ClassVar[str]
    KIND: ClassVar[str]

    def __init__(
        self,
        host: str,
        port: int = 443,
        *,
        credentials: Credentials,
        tls: TlsPolicy | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy = DEFAULT_POLICY,
        poll_interval: float = 0.5,
        event_hooks: EventHooks | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.endpoint = f"{host}:{port}"
        self.credentials = credentials
        self.tls = tls or TlsPolicy()
        self.timeout = timeout
        self.retry = retry
        self.poll_interval = poll_interval
        self.calls: Counter[str] = Counter()  # "METHOD /path/{template}" -> calls sent (retries included)
        self.retry_stats = RetryStats()
        self._event_hooks = dict(event_hooks or {})
        self._http: httpx.Client | None = None
        self._session: str | None = None
        self._remote: dict[str, Credentials] = {}
        self._pin = normalize_thumbprint(self.tls.thumbprint) if self.tls.thumbprint else None

    # -- connection ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}{self.API_ROOT}"

    def _client(self) -> httpx.Client:
        if self._http is None:
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
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests --------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Params | None,
        body: Any,
        auth: Credentials | None,
        session: bool,
    ) -> httpx.Response:
        headers = {}
        if session and self._session:
            headers["x-dr-session"] = self._session
        try:
            response = self._client().request(
                method,
                url,
                params=_clean(params),
                json=body,
                headers=headers,
                auth=(auth.user, auth.password) if auth else None,
            )
        except httpx.ConnectError as error:
            if _is_tls_failure(error):
                raise TlsVerificationFailed(
                    f"{self.endpoint}: TLS verification failed: {error}; {self.tls.untrusted_hint()}"
                ) from error
            raise
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientHTTPError(
                method,
                url,
                response.status_code,
                parse_retry_after(response.headers.get("Retry-After")),
                response.text,
            )
        return response

    def _retrying_send(self, key: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        # A request carrying credentials (auth=) is a login: it is re-sent only when it cannot have reached
        # the server's authentication (SSO lockout counts every failed attempt).
        retry_on = is_retryable_login if kwargs.get("auth") is not None else is_transient

        def attempt() -> httpx.Response:
            self.calls[key] += 1
            return self._send(method, url, **kwargs)

        def on_retry(error: BaseException | None, attempt_no: int, sleep: float) -> None:
            self.retry_stats.record(error)
            log.info("%s: %s failed (%s), retry %d in %.1fs", self.endpoint, key, error, attempt_no, sleep)

        try:
            return self.retry.call(attempt, on_retry, what=f"{self.endpoint}: {key}", retry_on=retry_on)
        except TransientHTTPError as error:
            if error.status in (502, 503, 504):
                raise ConnectionFailed(
                    f"{self.endpoint}: {key}: HTTP {error.status} (service unavailable)"
                ) from error
            raise DrApiError(method, url, error.status, _json_or_text(error.body)) from error
        except httpx.TransportError as error:
            raise ConnectionFailed(f"{self.endpoint}: {key}: {type(error).__name__}: {error}") from error

    def request(
        self,
        method: str,
        template: str,
        *,
        params: Params | None = None,
        body: Any = None,
        url: str | None = None,
        expect: Sequence[int] = (200,),
        **path: str,
    ) -> httpx.Response:
        """One API call: ``template`` is the spec path (``/pairings/{pairing_id}``), path values are
        substituted URL-encoded; ``url`` (a next-page link) overrides the built path but is still counted
        under ``template``. 401 triggers one transparent re-login."""
        key = f"{method} {template}"
        target = url or template.format(**{k: quote(str(v), safe=":") for k, v in path.items()})
        if self._session is None:
            self.login()
        response = self._retrying_send(key, method, target, params=params, body=body, auth=None, session=True)
        if response.status_code == 401:
            log.info("%s: session rejected, logging in again", self.endpoint)
            self.login()
            response = self._retrying_send(
                key, method, target, params=params, body=body, auth=None, session=True
            )
        if response.status_code not in expect:
            if response.status_code == 401:
                raise AuthenticationFailed(f"{self.endpoint}: {key}: not authenticated after a fresh login")
            if response.status_code == 403:
                # Logged in, but the account lacks a privilege for this call: an operator must grant it
                # (exit 5, like a refused login), not a step to retry. Spec: 403 "Forbidden - not sufficient
                # access rights to fulfill the request".
                raise PermissionDenied(f"{self.endpoint}: {key}: permission denied (HTTP 403)"
                                       + _detail(_json_or_text(response.text)))
            raise DrApiError(method, target, response.status_code, _json_or_text(response.text))
        return response

    def get_model(self, model: type[M], template: str, *, params: Params | None = None, **path: str) -> M:
        return self._parse(
            model, self.request("GET", template, params=params, **cast(dict[str, Any], path)).json(), template
        )

    def _parse(self, model: type[M], data: Any, where: str) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as error:
            raise OperationFailed(
                f"{self.endpoint}: unexpected {model.__name__} from {where}: {error}"
            ) from error

    def get_list(
        self, model: type[M], template: str, *, params: Params | None = None, **path: str
    ) -> list[M]:
        """All items of a paged list, following ``_meta.links.next.href`` (or offset/limit)."""
        items: list[M] = []
        query: dict[str, Any] = dict(params or {})
        url: str | None = None
        for _ in range(_MAX_PAGES):
            response = self.request(
                "GET",
                template,
                params=None if url else query,
                url=url,
                expect=(200, 204),
                **cast(dict[str, Any], path),
            )
            if response.status_code == 204 or not response.content:
                break
            data = response.json()
            page = data.get("list") or []
            items.extend(self._parse(model, item, template) for item in page)
            meta = data.get("_meta") or {}
            next_href = ((meta.get("links") or {}).get("next") or {}).get("href")
            total, offset = meta.get("total"), meta.get("offset")
            if not page:
                break
            if next_href and self._same_origin(next_href):
                url = next_href
            elif isinstance(total, int) and isinstance(offset, int) and offset + len(page) < total:
                url = None
                query["offset"] = offset + len(page)
                query.setdefault("limit", len(page))
            else:
                break
        return items

    def _same_origin(self, href: str) -> bool:
        # The session header goes with every request: never follow a link to another host.
        parts = urlsplit(href)
        if not parts.scheme:
            return True
        return parts.hostname == self.host.strip("[]") and (parts.port or 443) == self.port

    def task(
        self, method: str, template: str, *, body: Any = None, params: Params | None = None, **path: str
    ) -> Task:
        response = self.request(
            method, template, body=body, params=params, expect=(200, 202), **cast(dict[str, Any], path)
        )
        return self._parse(Task, response.json(), template)

    def tasks(self, method: str, template: str, *, body: Any = None, **path: str) -> list[Task]:
        """Calls answering with ``TaskDrResponseList`` (one task per item, e.g. VR configure)."""
        response = self.request(method, template, body=body, expect=(200, 202), **cast(dict[str, Any], path))
        return [self._parse(Task, item, template) for item in (response.json().get("list") or [])]

    # -- sessions --------------------------------------------------------------------------------

    def login(self) -> None:
        key = "POST /session"
        response = self._retrying_send(
            key, "POST", "/session", params=None, body=None, auth=self.credentials, session=False
        )
        if response.status_code in (401, 403):
            raise AuthenticationFailed(
                f"{self.endpoint}: {self.KIND} login refused for {self.credentials.user}"
            )
        if response.status_code != 200:
            raise DrApiError("POST", "/session", response.status_code, _json_or_text(response.text))
        session_id = response.json().get("session_id")
        if not session_id:
            raise AuthenticationFailed(f"{self.endpoint}: {self.KIND} login returned no session_id")
        self._session = session_id
        for pairing_id, remote in self._remote.items():
            self._remote_login(pairing_id, remote)

    def login_remote(self, pairing_id: str, credentials: Credentials) -> None:
        """Log in to the paired site; remembered so a re-login also renews the remote session."""
        if self._session is None:
            self.login()
        self._remote_login(pairing_id, credentials)
        self._remote[pairing_id] = credentials

    def _remote_login(self, pairing_id: str, credentials: Credentials) -> None:
        template = "/pairings/{pairing_id}/remote-session"
        key = f"POST {template}"
        target = template.format(pairing_id=quote(pairing_id, safe=":"))
        response = self._retrying_send(
            key, "POST", target, params=None, body=None, auth=credentials, session=True
        )
        if response.status_code in (401, 403):
            raise AuthenticationFailed(
                f"{self.endpoint}: remote login to pairing {pairing_id} refused for {credentials.user}"
            )
        if response.status_code != 204:
            raise DrApiError("POST", target, response.status_code, _json_or_text(response.text))

    def session_info(self) -> SessionInfo:
        return self.get_model(SessionInfo, "/session")

    def logout(self) -> None:
        if self._session is not None:
            try:
                self.request("DELETE", "/session", expect=(204, 200))
            finally:
                self._session = None
                self._remote.clear()


def _clean(params: Params | None) -> dict[str, Any] | None:
    if not params:
        return None
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else value
    return out


def _detail(body: Any) -> str:
    """The server's own words from an error body (the spec's ResponseError ``message``), if any."""
    message = body.get("message") if isinstance(body, dict) else body
    return f": {message}" if isinstance(message, str) and message else ""


def _json_or_text(text: str) -> Any:
    import json

    try:
        return json.loads(text) if text else ""
    except ValueError:
        return text


def _is_tls_failure(error: BaseException) -> bool:
    import ssl

    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        cause = cause.__cause__ or cause.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(error)

