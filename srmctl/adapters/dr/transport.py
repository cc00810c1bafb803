"""The HTTP core an SRM or VR client holds as its ``http`` field (one "DR REST" gateway, identical for both
APIs): sessions (``POST /session`` with Basic → ``x-dr-session``; remote login per pairing), retries,
``{list, _meta}`` pages, call counting, and the read-only guard, applied by HTTP verb (:func:`changes_state`).

The API families (srm_*.py, vr.py) only name paths and bodies: a state-changing call added to one of them is
guarded, counted and retried here without being listed anywhere."""

from __future__ import annotations

import copy
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from srmctl.adapters.dr.changes import changes_state
from srmctl.adapters.dr.connection import Api, Connection
from srmctl.adapters.dr.models import SessionInfo
from srmctl.adapters.dr.sessions import Sessions
from srmctl.adapters.dr.values import (
    Credentials,
    DrApiError,
    EventHooks,
    M,
    Params,
    RemoteLoginLapsed,
    api_error,
    clean_params,
    is_tls_failure,
    json_or_text,
    same_origin,
)
from srmctl.adapters.guard import changing
from srmctl.adapters.retry import (
    DEFAULT_POLICY,
    RetryPolicy,
    RetryStats,
    TransientHTTPError,
    is_retryable_login,
    is_transient,
    parse_retry_after,
)
from srmctl.adapters.tls import TlsPolicy
from srmctl.errors import AuthenticationFailed, ConnectionFailed, OperationFailed, TlsVerificationFailed

log = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")

_MAX_PAGES = 10_000  # a server whose "next" link never ends must not hang srmctl
#: GETs :meth:`Transport.read_each` keeps in flight at once (the APIs list neither a VM's recovery settings nor a
#: replication's disks for many at a time; one after another, a thousand of them cost minutes of round trips).
READS_IN_FLIGHT = 8


class Transport(Sessions):
    """Requests, paging and sessions of one SRM or VR client.

    Thread-safe, and calls from several threads overlap: only a login (and the connection's creation) holds
    the connection's lock, which :meth:`bound` and :meth:`read_only_view` copies share with the transport they
    come from; a request that finds its session rejected logs in again only if no other thread has already
    renewed that session. A transport is bound to one pairing (``pairing_id``), which fills ``{pairing_id}`` in
    every path; an unbound one can only make calls outside pairings (login, pairing discovery). A read-only
    copy refuses every call that :func:`changes_state` before it is sent."""

    def __init__(
        self,
        api: Api,
        host: str,
        port: int = 443,
        *,
        credentials: Credentials,
        tls: TlsPolicy | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy = DEFAULT_POLICY,
        poll_interval: float = 0.5,
        event_hooks: EventHooks | None = None,
        pairing_id: str | None = None,
    ) -> None:
        self.api = api
        self.kind = api.kind
        self.host = host
        self.port = port
        self.endpoint = f"{host}:{port}"
        self.credentials = credentials
        self.tls = tls or TlsPolicy()
        self.timeout = timeout
        self.retry = retry
        self.poll_interval = poll_interval
        self.pairing_id = pairing_id
        self.site = self.endpoint  # named in refusals; DrSite sets the site's name
        self.read_only = False
        self.forget: Callable[[], None] = lambda: None  # the client's caches, dropped after a change
        self.calls: Counter[str] = Counter()  # "METHOD /path/{template}" -> calls sent (retries included)
        self.retry_stats = RetryStats()
        self.conn = Connection(api, host, port, self.tls, timeout, event_hooks)
        self._remote: dict[str, Credentials] = {}

    # -- copies ----------------------------------------------------------------------------------

    def bound(self, pairing_id: str) -> Transport:
        """This transport bound to a pairing, sharing its connection, session, lock and call counts."""
        clone = copy.copy(self)
        clone.pairing_id = pairing_id
        return clone

    def read_only_view(self) -> Transport:
        """The same transport (connection, lock, pairing), refusing every call that changes state."""
        clone = copy.copy(self)
        clone.read_only = True
        return clone

    def invalidate(self) -> None:
        """After a change (:func:`~srmctl.adapters.guard.changing`): the client drops what it cached."""
        self.forget()

    def _bound_path(self, template: str, path: dict[str, str]) -> dict[str, str]:
        if "{pairing_id}" in template and "pairing_id" not in path:
            if self.pairing_id is None:
                raise ValueError(f"{self.endpoint}: {template} needs a client bound to a pairing (bound())")
            return {**path, "pairing_id": self.pairing_id}
        return path

    def close(self) -> None:
        self.conn.close()

    # -- requests --------------------------------------------------------------------------------

    def _send(
        self, method: str, url: str, *, params: Params | None, body: Any, auth: Credentials | None, session: str | None
    ) -> httpx.Response:
        headers = {}
        if session:
            headers["x-dr-session"] = session
        try:
            response = self.conn.client().request(
                method,
                url,
                params=clean_params(params),
                json=body,
                headers=headers,
                auth=(auth.user, auth.password) if auth else None,
            )
        except httpx.ConnectError as error:
            if is_tls_failure(error):
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
            with self.conn.counting:
                self.calls[key] += 1
            return self._send(method, url, **kwargs)

        def on_retry(error: BaseException | None, attempt_no: int, sleep: float) -> None:
            with self.conn.counting:
                self.retry_stats.record(error)
            log.info("%s: %s failed (%s), retry %d in %.1fs", self.endpoint, key, error, attempt_no, sleep)

        try:
            return self.retry.call(attempt, on_retry, what=f"{self.endpoint}: {key}", retry_on=retry_on)
        except TransientHTTPError as error:
            if error.status in (502, 503, 504):
                raise ConnectionFailed(f"{self.endpoint}: {key}: HTTP {error.status} (service unavailable)") from error
            raise DrApiError(method, url, error.status, json_or_text(error.body)) from error
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
        under ``template``. 401 triggers one transparent re-login; a lapsed remote login (400
        ``REMOTE_SITE_NOT_AUTHENTICATED``) one remote re-login, when the client logged in there before.
        A call that :func:`changes_state` passes the read-only guard first."""
        path = self._bound_path(template, path)
        if not changes_state(method, template):
            return self._request(method, template, params=params, body=body, url=url, expect=expect, **path)
        with changing(self, f"{method} {template}"):
            return self._request(method, template, params=params, body=body, url=url, expect=expect, **path)

    def _request(
        self,
        method: str,
        template: str,
        *,
        params: Params | None,
        body: Any,
        url: str | None,
        expect: Sequence[int],
        **path: str,
    ) -> httpx.Response:
        key = f"{method} {template}"
        target = url or template.format(**{k: quote(str(v), safe=":") for k, v in path.items()})

        def send() -> httpx.Response:
            session = self._current_session()
            response = self._retrying_send(key, method, target, params=params, body=body, auth=None, session=session)
            if response.status_code == 401:  # a re-login also logs in to the paired sites again (_login)
                log.info("%s: session rejected, logging in again", self.endpoint)
                session = self._renew(session)
                response = self._retrying_send(
                    key, method, target, params=params, body=body, auth=None, session=session
                )
            return response

        # Remote sessions expire on their own, before the local one. Neither spec names the answer to a call
        # whose remote login lapsed (its operations document 400, 401 and 500), so any of them makes srmctl
        # ask the server whether the remote login lives (GET .../remote-session: "not-authenticated: ERROR"),
        # and only if it does not, log in there again with the remembered credentials and retry the call
        # once; a refused remote login (bad credentials) is not retried.
        pairing_id = path.get("pairing_id")
        renewable = pairing_id is not None and pairing_id in self._remote and not template.endswith("/remote-session")
        try:
            response = send()
        except DrApiError as error:  # a 5xx, after the retries
            if not (renewable and error.status == 500 and self._remote_lapsed(pairing_id or "")):
                raise
            lapse = RemoteLoginLapsed(
                method, target, error.status, error.error_code and {"error_code": error.error_code}
            )
            response = self._after_remote_login(key, pairing_id or "", lapse, send)
        else:
            # (401 was answered in send(): a fresh login logs in to the paired site again.)
            refused = response.status_code not in expect and response.status_code == 400
            if refused and renewable and self._remote_lapsed(pairing_id or ""):
                lapse = RemoteLoginLapsed(method, target, response.status_code, json_or_text(response.text))
                response = self._after_remote_login(key, pairing_id or "", lapse, send)
        if response.status_code not in expect:
            if response.status_code == 401:
                raise AuthenticationFailed(f"{self.endpoint}: {key}: not authenticated after a fresh login")
            raise api_error(self.endpoint, key, method, target, response)
        return response

    def get_model(self, model: type[M], template: str, *, params: Params | None = None, **path: str) -> M:
        return self.parse(
            model, self.request("GET", template, params=params, **cast(dict[str, Any], path)).json(), template
        )

    def parse(self, model: type[M], data: Any, where: str) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as error:
            raise OperationFailed(f"{self.endpoint}: unexpected {model.__name__} from {where}: {error}") from error

    def get_list(self, model: type[M], template: str, *, params: Params | None = None, **path: str) -> list[M]:
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
            items.extend(self.parse(model, item, template) for item in page)
            meta = data.get("_meta") or {}
            next_href = ((meta.get("links") or {}).get("next") or {}).get("href")
            total, offset = meta.get("total"), meta.get("offset")
            if not page:
                break
            if next_href and same_origin(next_href, self.host, self.port):
                url = next_href
            elif isinstance(total, int) and isinstance(offset, int) and offset + len(page) < total:
                url = None
                query["offset"] = offset + len(page)
                query.setdefault("limit", len(page))
            else:
                break
        return items

    def read_each(self, read: Callable[[K], V], keys: Sequence[K]) -> dict[K, V]:
        """``read(key)`` for every distinct key, up to :data:`READS_IN_FLIGHT` on the wire at once."""
        wanted = list(dict.fromkeys(keys))
        if len(wanted) <= 1:
            return {key: read(key) for key in wanted}
        with ThreadPoolExecutor(max_workers=min(READS_IN_FLIGHT, len(wanted)), thread_name_prefix="dr-reads") as pool:
            return dict(zip(wanted, pool.map(read, wanted), strict=True))

    def session_info(self) -> SessionInfo:
        return self.get_model(SessionInfo, "/session")

    def logout(self) -> None:
        with self.conn.lock:
            if self.conn.session is not None:
                try:
                    self.request("DELETE", "/session", expect=(204, 200))
                finally:
                    self.conn.session = None
                    self._remote.clear()
