"""Values the SRM and VR clients share: credentials, their errors, type aliases, and picking one by key."""

import json
import ssl
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from srmctl.adapters.dr.models import Task
from srmctl.errors import (
    Ambiguous,
    NotFound,
    OperationFailed,
    PermissionDenied,
    SrmctlError,
)

M = TypeVar("M", bound=BaseModel)
Params = Mapping[str, str | int | bool | Sequence[str] | None]
ProgressCallback = Callable[[Task], None]
EventHooks = Mapping[str, list[Callable[..., Any]]]


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)


class DrApiError(OperationFailed):
    """The API answered a call with an error (4xx, or 5xx after retries)."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        error = body if isinstance(body, dict) else {}
        self.status = status
        self.error_code: str | None = error.get("error_code")
        self.op_id: str | None = error.get("op_id")
        detail = error.get("message") or (body if isinstance(body, str) and body else "")
        code = f" {self.error_code}" if self.error_code else ""
        super().__init__(f"{method} {path}: HTTP {status}{code}{': ' + detail if detail else ''}")

    def details(self) -> dict[str, object]:
        return {"status": self.status, "error_code": self.error_code, "op_id": self.op_id}


class RemoteLoginLapsed(DrApiError):
    """The session's login to the paired site has lapsed while the local one lives: remote sessions expire
    on their own. The specs name no answer for it (a call that needs the remote login documents 400, 401 and
    500), so the transport recognises it by asking the server (GET .../remote-session), never by an error
    code. Counted in the retry statistics under this name when srmctl logs in there again and retries."""


def same_origin(href: str, host: str, port: int) -> bool:
    """Whether a next-page link stays on this server: the session header goes with every request, so srmctl
    never follows a link to another host."""
    parts = urlsplit(href)
    if not parts.scheme:
        return True
    return parts.hostname == host.strip("[]") and (parts.port or 443) == port


class TaskTimeout(OperationFailed):
    code = "task_timeout"


def pick_one(items: Iterable[M], what: str, key: Callable[[M], str | None], wanted: str) -> M:
    """The single item whose key equals ``wanted``; never a guess."""
    matches = [item for item in items if key(item) == wanted]
    if not matches:
        raise NotFound(f"{what} {wanted!r} not found")
    if len(matches) > 1:
        raise Ambiguous(f"{what} {wanted!r}", [str(getattr(m, "id", "?")) for m in matches])
    return matches[0]


def clean_params(params: Params | None) -> dict[str, Any] | None:
    if not params:
        return None
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else value
    return out


def api_error(endpoint: str, key: str, method: str, target: str, response: httpx.Response) -> SrmctlError:
    """The error for a call the API answered with an unexpected status."""
    body = json_or_text(response.text)
    if response.status_code == 403:
        # Logged in, but the account lacks a privilege for this call: an operator must grant it (exit 5, like a
        # refused login), not a step to retry. Spec: 403 "Forbidden - not sufficient access rights to fulfill
        # the request".
        message = body.get("message") if isinstance(body, dict) else body
        detail = f": {message}" if isinstance(message, str) and message else ""
        return PermissionDenied(f"{endpoint}: {key}: permission denied (HTTP 403){detail}")
    return DrApiError(method, target, response.status_code, body)


def json_or_text(text: str) -> Any:
    try:
        return json.loads(text) if text else ""
    except ValueError:
        return text


def is_tls_failure(error: BaseException) -> bool:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        cause = cause.__cause__ or cause.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(error)
