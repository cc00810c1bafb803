"""Issue 13: a long Retry-After is capped and announced; a login is sent once, even when the server drops the
connection on it (what srmsim does with a non-ASCII password) or refuses it (401: SSO lockout)."""

from __future__ import annotations

import logging
import time

import pytest
from srmsim_fixtures import FAST_RETRY, make_client

from srmctl.adapters.dr import Credentials
from srmctl.adapters.retry import MAX_RETRY_AFTER, RetryPolicy
from srmctl.errors import AuthenticationFailed, ConnectionFailed

PLANS = "GET /pairings/{pairing_id}/recovery-management/plans"
LOGIN = "POST /session"


def test_long_retry_after_is_capped_and_announced(srmsim, caplog: pytest.LogCaptureFixture) -> None:
    assert MAX_RETRY_AFTER == 30.0  # the documented maximum (docs/fault-matrix.md)
    capped = RetryPolicy(max_attempts=3, max_retry_after=2.5)
    srm = make_client(srmsim, "new-york", retry=capped)
    srm.login()
    srmsim.fail_http("/pairings/*/recovery-management/plans", method="GET", status=429, count=1, retry_after=45)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="srmctl.adapters.retry"):
        assert len(srm.plans()) == 1
    assert 2.5 <= time.monotonic() - started < 10  # waited the cap, not the 45 s asked for
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert PLANS in warnings[0] and "HTTP 429; waiting 2s (Retry-After 45s, capped at 2s)" in warnings[0]


def test_short_waits_are_not_announced(srmsim, caplog: pytest.LogCaptureFixture) -> None:
    srm = make_client(srmsim, "new-york")
    srm.login()
    srmsim.fail_http("/pairings/*/recovery-management/plans", method="GET", status=503, count=1)
    with caplog.at_level(logging.WARNING, logger="srmctl.adapters.retry"):
        srm.plans()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_refused_login_is_sent_once(srmsim) -> None:
    endpoint = srmsim.sites["new-york"]
    srm = make_client(srmsim, "new-york", credentials=Credentials(endpoint.user, "wrong"))
    with pytest.raises(AuthenticationFailed):
        srm.login()
    assert srm.calls[LOGIN] == 1


@pytest.mark.parametrize("password", ["wrong", "pässwörd-ü€"])
def test_login_dropped_by_the_server_is_sent_once(srmsim, password: str) -> None:
    endpoint = srmsim.sites["new-york"]
    srmsim.drop_connections("/session", method="POST", count=5)
    srm = make_client(srmsim, "new-york", credentials=Credentials(endpoint.user, password), retry=FAST_RETRY)
    with pytest.raises(ConnectionFailed):
        srm.login()
    assert srm.calls[LOGIN] == 1


def test_non_ascii_password_login_is_sent_once(srmsim) -> None:
    """Whatever srmsim makes of a non-ASCII password (refusal, or a dropped connection), srmctl asks once."""
    endpoint = srmsim.sites["new-york"]
    srm = make_client(srmsim, "new-york", credentials=Credentials(endpoint.user, "pässwörd-ü€"))
    with pytest.raises((AuthenticationFailed, ConnectionFailed)):
        srm.login()
    assert srm.calls[LOGIN] == 1


def test_login_retried_when_the_gateway_says_not_now(srmsim) -> None:
    srmsim.fail_http("/session", method="POST", status=503, count=1)
    srm = make_client(srmsim, "new-york")
    srm.login()
    assert srm.calls[LOGIN] == 2
