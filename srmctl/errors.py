"""The srmctl error tree and the one place where errors become exit codes.

Core code raises these typed errors; only the CLI catches them, and it asks :func:`exit_code_for` which
documented exit code (README, "Exit codes") to use, so the mapping lives here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # failed / not ready / differs
    USAGE = 2
    RUNBOOK_INVALID = 3
    STEP_FAILED = 4
    CONNECTION = 5  # connection or authentication failure
    ABORTED = 130


class SrmctlError(Exception):
    """Base of every error srmctl raises on purpose. ``code`` is a stable machine-readable name."""

    exit_code: ExitCode = ExitCode.FAILED
    code = "failed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def details(self) -> dict[str, object]:
        """Structured extras for the JSON error envelope."""
        return {}


class UsageError(SrmctlError):
    exit_code = ExitCode.USAGE
    code = "usage"


class RunbookInvalid(SrmctlError):
    """A runbook (or another input file) failed validation; ``problems`` holds every finding."""

    exit_code = ExitCode.RUNBOOK_INVALID
    code = "runbook_invalid"

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)

    def details(self) -> dict[str, object]:
        return {"problems": self.problems}


class StepFailed(SrmctlError):
    exit_code = ExitCode.STEP_FAILED
    code = "step_failed"


class Aborted(SrmctlError):
    exit_code = ExitCode.ABORTED
    code = "aborted"


class ConnectionFailed(SrmctlError):
    """An endpoint could not be reached, or its TLS identity could not be trusted."""

    exit_code = ExitCode.CONNECTION
    code = "connection_failed"


class PeerUnreachable(ConnectionFailed):
    """A step needs both sites' SRM/VR servers and the paired site's is down (or the link to it): refused
    before the step changes anything, so the run resumes once the peer is back."""

    code = "peer_unreachable"


class AuthenticationFailed(ConnectionFailed):
    code = "authentication_failed"


class PermissionDenied(ConnectionFailed):
    """Logged in, but the account lacks a privilege the call needs: an operator must grant it, so it is not
    retried and, like a login failure, exits with the connection/authentication code."""

    code = "permission_denied"


class TlsVerificationFailed(ConnectionFailed):
    code = "tls_verification_failed"


class ThumbprintMismatch(TlsVerificationFailed):
    code = "thumbprint_mismatch"

    def __init__(self, endpoint: str, expected: str, actual: str) -> None:
        super().__init__(
            f"{endpoint}: TLS certificate thumbprint mismatch: expected {expected}, server presented {actual}"
        )
        self.expected = expected
        self.actual = actual

    def details(self) -> dict[str, object]:
        return {"expected": self.expected, "actual": self.actual}


class NotFound(SrmctlError):
    code = "not_found"


class Ambiguous(SrmctlError):
    """A lookup matched more than one object; never pick one silently."""

    code = "ambiguous"

    def __init__(self, what: str, candidates: Sequence[str]) -> None:
        listed = ", ".join(candidates)
        super().__init__(f"{what} is ambiguous: {len(candidates)} matches: {listed}")
        self.candidates = list(candidates)

    def details(self) -> dict[str, object]:
        return {"candidates": self.candidates}


class GuardrailViolation(SrmctlError):
    """An operation was refused because it could lose data or hit a live VM (e.g. unregistering a
    powered-on VM without explicit permission)."""

    code = "guardrail"


class OperationFailed(SrmctlError):
    """A remote operation (vCenter task, SRM/VR task) ended in error."""

    code = "operation_failed"


class LabError(SrmctlError):
    code = "lab"


class LocalIoFailed(SrmctlError):
    """A local file could not be read or written (disk full, read-only folder, a file where a folder should
    be): an operating-system error, said in one line naming the path."""

    code = "local_io"

    def __init__(self, error: OSError, doing: str = "") -> None:
        where = f"{error.filename}: " if error.filename is not None else ""
        reason = error.strerror or str(error)
        super().__init__(f"{doing}{where}{reason}")
        self.errno = error.errno

    def details(self) -> dict[str, object]:
        return {"errno": self.errno}


def exit_code_for(error: BaseException) -> ExitCode:
    """Map any exception to the documented exit code."""
    if isinstance(error, SrmctlError):
        return error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.ABORTED
    return ExitCode.FAILED
