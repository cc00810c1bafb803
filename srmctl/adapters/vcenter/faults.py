"""The one place where vCenter (SOAP) faults become srmctl's typed errors.

Every SOAP call goes through the counting session stub (see ``connection.py``), which retries transient faults
under the one retry policy and then hands whatever is left to :func:`to_srmctl_error`, so no pyVmomi fault or
socket error reaches a step, the engine or the operator:

* NoPermission, NotAuthenticated (after the stub's re-login), InvalidLogin → :class:`AuthenticationFailed` /
  :class:`PermissionDenied` (exit 5): asking again will not help, and a login is never repeated (SSO lockout);
* ManagedObjectNotFound → :class:`VCenterObjectGone`, a :class:`NotFound` (the object was removed meanwhile);
* a lost connection → :class:`ConnectionFailed` (exit 5);
* anything else → :class:`VCenterFault`, an :class:`OperationFailed` naming the call and the fault's message
  (exit 4 inside a step). Callers that expect a particular fault (DuplicateName when creating something that
  another run created first) look at ``.fault``.
"""

from __future__ import annotations

import http.client
from typing import Any

from pyVmomi import vim, vmodl

from srmctl.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    ExitCode,
    NotFound,
    OperationFailed,
    PermissionDenied,
    SrmctlError,
)


class VCenterFault(OperationFailed):
    """A vCenter call answered with a fault that is neither transient nor about credentials."""

    code = "vcenter_fault"
    # An API operation failed: exit 4 wherever it surfaces (inside a step it becomes StepFailed anyway; in
    # 'status' it would otherwise take the generic 1, which means "not ready" or "differs").
    exit_code = ExitCode.STEP_FAILED

    def __init__(self, message: str, *, method: str, fault: Any) -> None:
        super().__init__(message)
        self.method = method
        self.fault = fault

    def details(self) -> dict[str, object]:
        return {"method": self.method, "fault": fault_name(self.fault)}


class VCenterObjectGone(NotFound):
    """A call named an object vCenter no longer has (ManagedObjectNotFound)."""

    def __init__(self, message: str, *, method: str, fault: Any) -> None:
        super().__init__(message)
        self.method = method
        self.fault = fault


def fault_name(fault: Any) -> str:
    """``NoPermission`` rather than pyVmomi's ``vim.fault.NoPermission``."""
    return type(fault).__name__.rsplit(".", 1)[-1]


def fault_message(fault: Any) -> str:
    """The most useful text a fault carries: its message, else its reason, else its name alone."""
    for attribute in ("msg", "reason"):
        value = getattr(fault, attribute, None)
        if value:
            return " ".join(str(value).split())  # one line, whatever the server put in it
    return fault_name(fault)


def _privilege(fault: Any) -> str:
    privilege = getattr(fault, "privilegeId", None)
    return f" (missing privilege {privilege})" if privilege else ""


def to_srmctl_error(error: BaseException, *, label: str, method: str, user: str) -> BaseException:
    """The typed error for what a call to ``method`` on vCenter ``label`` raised (after any retries).

    Errors that are not vCenter faults or socket errors (bugs, KeyboardInterrupt) are returned unchanged.
    """
    if isinstance(error, SrmctlError):
        return error
    if isinstance(error, vim.fault.InvalidLogin):
        return AuthenticationFailed(f"{label}: login failed for user {user!r}: incorrect user name or password")
    if isinstance(error, vim.fault.NotAuthenticated):
        return AuthenticationFailed(f"{label}: {method}: not authenticated after a fresh login as {user!r}")
    if isinstance(error, vim.fault.NoPermission):
        return PermissionDenied(
            f"{label}: {method}: permission denied for user {user!r}{_privilege(error)}: {fault_message(error)}"
        )
    if isinstance(error, vmodl.fault.ManagedObjectNotFound):
        return VCenterObjectGone(
            f"{label}: {method}: object no longer exists: {fault_message(error)}", method=method, fault=error
        )
    if isinstance(error, vmodl.MethodFault):
        return VCenterFault(
            f"{label}: {method} failed: {fault_name(error)}: {fault_message(error)}", method=method, fault=error
        )
    if isinstance(error, (OSError, http.client.HTTPException)):
        return ConnectionFailed(f"{label}: {method}: connection lost: {type(error).__name__}: {error}")
    return error
