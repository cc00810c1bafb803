"""The one retry policy for every network adapter.

Transient faults are retried, everything else is not:

* connection-level errors (refused, reset, dropped mid-response, timeouts) — the request may simply be
  sent again;
* HTTP 5xx and 429 — the server says "not now"; a ``Retry-After`` header is honoured up to
  :data:`MAX_RETRY_AFTER` seconds (30 s: a misbehaving server cannot park a run for an hour), and every wait of
  :data:`ANNOUNCE_WAIT` seconds or more is announced as a WARNING log line (the CLI shows warnings on stderr), so
  an operator never stares at a silent terminal;
* never a login, unless the request provably did not reach the server (:func:`is_retryable_login`): a repeated
  login with bad credentials counts against the SSO lockout;
* never 4xx (other than 429): those are answers, and repeating the question will not change them;
* never TLS verification failures: a wrong certificate does not become right by asking again.

Attempts and total waiting are bounded; callers can hook every retry (to count and log them).
"""

from __future__ import annotations

import email.utils
import logging
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import httpx
import tenacity
from pyVmomi import vmodl

T = TypeVar("T")
log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 30.0
"""The longest srmctl waits for one ``Retry-After``, whatever the server asks (documented in docs/fault-matrix.md)."""
ANNOUNCE_WAIT = 2.0
"""Retry waits at least this long are logged as warnings, with the reason and the length of the wait."""

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class TransientHTTPError(Exception):
    """An HTTP answer that is worth repeating the request for (5xx, 429)."""

    def __init__(self, method: str, url: str, status: int, retry_after: float | None, body: str = "") -> None:
        super().__init__(f"{method} {url}: HTTP {status}")
        self.method = method
        self.url = url
        self.status = status
        self.retry_after = retry_after
        self.body = body


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def is_transient(error: BaseException) -> bool:
    """True for faults a retry can cure: HTTP 5xx/429 and transport errors (SRM/VR), and vCenter's
    HostCommunication (vCenter could not reach the host this time)."""
    if isinstance(error, vmodl.fault.HostCommunication):
        return True
    if isinstance(error, TransientHTTPError):
        return error.status in RETRYABLE_STATUS
    if isinstance(error, httpx.TransportError):
        # httpx wraps certificate failures in ConnectError; those must surface at once.
        cause: BaseException | None = error
        while cause is not None:
            if isinstance(cause, ssl.SSLCertVerificationError):
                return False
            cause = cause.__cause__ or cause.__context__
        return True
    return False


def is_retryable_login(error: BaseException) -> bool:
    """For a login: only faults where the credentials cannot have reached the server's authentication —
    the connection was never made, or the gateway answered "not now" (429, 502-504). A connection dropped
    after the request was sent, or a 500, may already have cost a failed-login count (SSO lockout)."""
    if isinstance(error, TransientHTTPError):
        return error.status in (429, 502, 503, 504)
    if isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return is_transient(error)
    return False


@dataclass
class RetryStats:
    """Counts retries by reason (read by tests and benchmarks; no command shows them)."""

    retries: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)

    def record(self, error: BaseException | None) -> None:
        self.retries += 1
        reason = _reason(error)
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1


def _reason(error: BaseException | None) -> str:
    if isinstance(error, TransientHTTPError):
        return f"http_{error.status}"
    if error is None:
        return "unknown"
    return type(error).__name__


RetryHook = Callable[[BaseException | None, int, float], None]
"""Called before each retry sleep with (error, attempt number that failed, seconds to sleep)."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    initial_backoff: float = 0.2
    max_backoff: float = 5.0
    max_retry_after: float = MAX_RETRY_AFTER
    max_total: float = 120.0  # wall-clock bound for one logical call, including all waits

    def wait_seconds(self, error: BaseException | None, attempt: int) -> float:
        """Backoff before the next attempt: the server's Retry-After if it gave one, else exponential
        backoff with full jitter (so many clients hitting one appliance do not retry in lock-step)."""
        if isinstance(error, TransientHTTPError) and error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        ceiling = min(self.max_backoff, self.initial_backoff * (2 ** max(0, attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)

    def call(
        self,
        fn: Callable[[], T],
        on_retry: RetryHook | None = None,
        *,
        what: str = "",
        retry_on: Callable[[BaseException], bool] = is_transient,
    ) -> T:
        """Run ``fn`` under this policy; the last error is re-raised unchanged when attempts run out.
        ``what`` names the call in the warning logged before a long wait; ``retry_on`` narrows what is
        retried (e.g. :func:`is_retryable_login`)."""

        def wait(state: tenacity.RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            return self.wait_seconds(error, state.attempt_number)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            sleep = state.next_action.sleep if state.next_action else 0.0
            if sleep >= ANNOUNCE_WAIT:
                log.warning("%s", self.describe_wait(what, error, state.attempt_number, sleep))
            if on_retry is not None:
                on_retry(error, state.attempt_number, sleep)

        retrying: tenacity.Retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(retry_on),
            stop=tenacity.stop_after_attempt(self.max_attempts) | tenacity.stop_after_delay(self.max_total),
            wait=wait,
            before_sleep=before_sleep,
            reraise=True,
        )
        result: Any = retrying(fn)
        return cast(T, result)

    def describe_wait(self, what: str, error: BaseException | None, attempt: int, sleep: float) -> str:
        """One line for the operator: what failed, why, how long srmctl waits, and the cap when it applied."""
        reason = f"HTTP {error.status}" if isinstance(error, TransientHTTPError) else _reason(error)
        asked = error.retry_after if isinstance(error, TransientHTTPError) else None
        note = ""
        if asked is not None:
            capped = asked > self.max_retry_after
            note = f" (Retry-After {asked:.0f}s{f', capped at {self.max_retry_after:.0f}s' if capped else ''})"
        return (
            f"{what or 'call'}: {reason}; waiting {sleep:.0f}s{note} before attempt "
            f"{attempt + 1} of {self.max_attempts}"
        )


DEFAULT_POLICY = RetryPolicy()
