"""Connecting to vCenter with pyvmomi: TLS rules, typed login errors, transparent re-login, call counts."""

from __future__ import annotations

import http.client
import logging
import ssl
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pyVim.connect import SmartStubAdapter, VimSessionOrientedStub
from pyVmomi import vim, vmodl

from srmctl.adapters.endpoints import ServiceEndpoint
from srmctl.adapters.retry import DEFAULT_POLICY, RetryStats
from srmctl.adapters.vcenter.faults import fault_message, to_srmctl_error
from srmctl.errors import ConnectionFailed, SrmctlError, TlsVerificationFailed

log = logging.getLogger(__name__)


class _CountingStub(VimSessionOrientedStub):
    """Re-logs in on NotAuthenticated (pyvmomi's session stub) and counts every SOAP call by method,
    so commands and benchmarks can report API calls per step. Every fault leaves it as a typed srmctl error
    (see ``faults.py``): ``label`` and ``user`` name the endpoint and account in those messages."""

    def __init__(self, soap_stub: Any, login: Any, *, label: str = "vCenter", user: str = "") -> None:
        super().__init__(soap_stub, login, retryDelay=0.2, retryCount=3)
        self.calls: Counter[str] = Counter()
        self.retry_stats = RetryStats()
        self.logins = 0
        self.label = label
        self.user = user
        self._count_lock = threading.Lock()

    def _count(self, name: str) -> None:
        with self._count_lock:
            self.calls[name] += 1

    def InvokeMethod(self, mo: Any, info: Any, args: Any) -> Any:  # noqa: N802 (pyvmomi's name)
        def attempt() -> Any:
            self._count(info.wsdlName)  # property reads arrive here too, as "Fetch"
            return super(_CountingStub, self).InvokeMethod(mo, info, args)

        # pyvmomi's session stub already re-logs in and retries socket errors; transient vCenter faults
        # (HostCommunication) get srmctl's one retry policy. Whatever is left becomes a typed error here, once.
        try:
            return DEFAULT_POLICY.call(
                attempt,
                on_retry=lambda error, n, sleep: self._on_retry(info.wsdlName, error, n, sleep),
                what=f"{self.label}: {info.wsdlName}",
            )
        except Exception as error:  # noqa: BLE001 - mapped, not swallowed: to_srmctl_error returns the rest as is
            mapped = to_srmctl_error(error, label=self.label, method=info.wsdlName, user=self.user)
            if mapped is error:
                raise
            raise mapped from error

    def _on_retry(self, method: str, error: BaseException | None, attempt: int, sleep: float) -> None:
        self.retry_stats.record(error)
        log.info("%s: %s failed (%s), retry %d in %.1fs", self.label, method, type(error).__name__, attempt, sleep)

    def InvokeAccessor(self, mo: Any, info: Any) -> Any:  # noqa: N802 (pyvmomi's name)
        # Property reads reach InvokeMethod (as "Fetch") and are mapped there; what pyvmomi raises around
        # them (a re-login, a parse error) is mapped here.
        try:
            return super().InvokeAccessor(mo, info)
        except Exception as error:  # noqa: BLE001 - mapped, not swallowed
            mapped = to_srmctl_error(error, label=self.label, method=f"read {info.name}", user=self.user)
            if mapped is error:
                raise
            raise mapped from error

    def _CallLoginMethod(self) -> None:  # noqa: N802
        # A login is sent once: pyvmomi's session stub would repeat it on a dropped connection, and each
        # attempt can count against the SSO lockout. Leaving as a typed (non-socket) error stops its loop.
        self.logins += 1
        if self.logins > 1:
            log.info("%s: session lost, logging in again", self.label)
        try:
            super()._CallLoginMethod()
        except Exception as error:  # noqa: BLE001 - mapped, not swallowed
            mapped = to_srmctl_error(error, label=self.label, method="Login", user=self.user)
            if mapped is error:
                raise
            raise mapped from error


@dataclass
class VCenterSession:
    """A logged-in vCenter connection. ``content`` is the ServiceContent."""

    endpoint: ServiceEndpoint
    service_instance: Any
    stub: _CountingStub
    content: Any  # ServiceContent, read once: every ``si.content`` access would be a round trip

    @property
    def calls(self) -> Counter[str]:
        return self.stub.calls

    @property
    def instance_uuid(self) -> str:
        return str(self.content.about.instanceUuid)

    def close(self) -> None:
        try:
            self.content.sessionManager.Logout()
        except Exception:  # noqa: BLE001 - best effort: the session may already be gone
            pass
        finally:
            self.stub.DropConnections()


def _login_method(user: str, password: str) -> Any:
    # pyvmomi's makeUserLoginMethod first reads SessionManager.currentSession, which vcsim answers with
    # NotAuthenticated instead of None; logging in directly works on both.
    def login(soap_stub: Any) -> None:
        # A re-login after NotAuthenticated must not present the dead session's cookie: vcsim (and vCenter)
        # would treat the Login as part of that session.
        soap_stub.cookie = ""
        si: Any = vim.ServiceInstance("ServiceInstance", soap_stub)
        si.content.sessionManager.Login(user, password, None)

    return login


def connect(endpoint: ServiceEndpoint) -> VCenterSession:
    """Log in, raising ConnectionFailed / TlsVerificationFailed / ThumbprintMismatch /
    AuthenticationFailed (all exit code 5) with a one-line message naming the endpoint."""
    context = endpoint.tls.context(endpoint.host, endpoint.port)
    if endpoint.tls.insecure and not endpoint.tls.thumbprint:
        log.warning("%s", endpoint.tls.insecure_warning(endpoint.label))
    try:
        soap = SmartStubAdapter(
            host=endpoint.host,
            port=endpoint.port,
            sslContext=context,
            httpConnectionTimeout=endpoint.timeout,
        )
    except ssl.SSLCertVerificationError as error:
        raise TlsVerificationFailed(
            f"{endpoint.label}: certificate not trusted ({error.verify_message}); {endpoint.tls.untrusted_hint()}"
        ) from error
    except (OSError, http.client.HTTPException) as error:
        raise ConnectionFailed(f"{endpoint.label}: cannot connect: {error}") from error
    except Exception as error:  # pyvmomi raises a bare Exception when no VIM service answers
        raise ConnectionFailed(f"{endpoint.label}: not a vCenter endpoint: {error}") from error

    stub = _CountingStub(
        soap, _login_method(endpoint.user, endpoint.password), label=endpoint.label, user=endpoint.user
    )
    si: Any = vim.ServiceInstance("ServiceInstance", stub)
    try:
        # Touching the session forces the first login now, so bad credentials fail here, not later.
        content = si.content
        _ = content.sessionManager.currentSession
    except ConnectionFailed:
        raise  # the stub's typed errors: bad credentials, no permission, connection lost
    except SrmctlError as error:
        raise ConnectionFailed(f"{endpoint.label}: login failed: {error.message}") from error
    except (OSError, http.client.HTTPException) as error:
        raise ConnectionFailed(f"{endpoint.label}: connection lost during login: {error}") from error
    except vmodl.MethodFault as error:
        raise ConnectionFailed(f"{endpoint.label}: login failed: {fault_message(error)}") from error
    return VCenterSession(endpoint=endpoint, service_instance=si, stub=stub, content=content)
