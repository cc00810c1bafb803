"""The base of the SRM and VR clients: a :class:`~srmctl.adapters.dr.transport.Transport` held as ``http`` (the
HTTP core: sessions, paging, retries, the read-only guard) and a :class:`~srmctl.adapters.dr.tasks.Tasks` held as
``task_api``, plus pairings, which both APIs offer identically. The API families (``srm*.py``, ``vr.py``) are
siblings over this base; each only names its paths and bodies."""

from __future__ import annotations

import copy
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar, TypeVar

import httpx

from srmctl.adapters.dr.connection import Api
from srmctl.adapters.dr.models import Pairing, SessionInfo, Task
from srmctl.adapters.dr.tasks import Pace, Tasks
from srmctl.adapters.dr.transport import Transport
from srmctl.adapters.dr.values import (
    Credentials,
    DrApiError,
    EventHooks,
    M,
    Params,
    ProgressCallback,
    TaskTimeout,
    pick_one,
)
from srmctl.adapters.retry import DEFAULT_POLICY, RetryPolicy, RetryStats
from srmctl.adapters.tls import TlsPolicy
from srmctl.errors import Ambiguous, NotFound, OperationFailed

D = TypeVar("D", bound="DrClient")
K = TypeVar("K")
V = TypeVar("V")

__all__ = ["Credentials", "DrApiError", "DrClient", "ProgressCallback", "TaskTimeout", "pick_one"]


class DrClient:
    """Base for :class:`SrmClient` and :class:`VrClient`: what callers use of the transport and the tasks is
    named here once, so steps keep writing ``dr.srm.wait_task(...)`` and ``dr.srm.calls``."""

    API: ClassVar[Api]

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
        pairing_id: str | None = None,
    ) -> None:
        self._attach(
            Transport(
                self.API,
                host,
                port,
                credentials=credentials,
                tls=tls,
                timeout=timeout,
                retry=retry,
                poll_interval=poll_interval,
                event_hooks=event_hooks,
                pairing_id=pairing_id,
            )
        )

    def _attach(self, http: Transport) -> None:
        self.http = http
        self.task_api = Tasks(http)
        http.forget = self.invalidate

    def invalidate(self) -> None:
        """Drop what the client cached; nothing by default (state is read afresh by every call)."""

    # -- copies ----------------------------------------------------------------------------------

    def bound(self: D, pairing_id: str) -> D:
        """This client bound to a pairing, sharing its connection, session, lock and call counts."""
        clone = copy.copy(self)
        clone._attach(self.http.bound(pairing_id))
        return clone

    def read_only_view(self: D) -> D:
        """The same client (connection, lock, pairing), refusing every call that changes state."""
        clone = copy.copy(self)
        clone._attach(self.http.read_only_view())
        return clone

    # -- the transport, as callers name it -------------------------------------------------------

    @property
    def host(self) -> str:
        return self.http.host

    @property
    def port(self) -> int:
        return self.http.port

    @property
    def endpoint(self) -> str:
        return self.http.endpoint

    @property
    def kind(self) -> str:
        return self.http.kind

    @property
    def timeout(self) -> float:
        return self.http.timeout

    @property
    def poll_interval(self) -> float:
        return self.http.poll_interval

    @poll_interval.setter
    def poll_interval(self, seconds: float) -> None:
        self.http.poll_interval = seconds  # shared with task_api, which reads it from the transport

    @property
    def pairing_id(self) -> str | None:
        return self.http.pairing_id

    @property
    def read_only(self) -> bool:
        return self.http.read_only

    @property
    def lock(self) -> threading.RLock:
        return self.http.conn.lock

    @property
    def calls(self) -> Counter[str]:
        return self.http.calls

    @property
    def retry_stats(self) -> RetryStats:
        return self.http.retry_stats

    @property
    def site(self) -> str:
        return self.http.site

    @site.setter
    def site(self, name: str) -> None:
        self.http.site = name  # named when a read-only view refuses a change

    def request(self, method: str, template: str, **options: Any) -> httpx.Response:
        return self.http.request(method, template, **options)

    def get_model(self, model: type[M], template: str, *, params: Params | None = None, **path: str) -> M:
        return self.http.get_model(model, template, params=params, **path)

    def get_list(self, model: type[M], template: str, *, params: Params | None = None, **path: str) -> list[M]:
        return self.http.get_list(model, template, params=params, **path)

    def read_each(self, read: Callable[[K], V], keys: Sequence[K]) -> dict[K, V]:
        return self.http.read_each(read, keys)

    def login(self) -> None:
        self.http.login()

    def login_remote(self, credentials: Credentials) -> None:
        self.http.login_remote(credentials)

    def session_info(self) -> SessionInfo:
        return self.http.session_info()

    def remote_session_info(self) -> SessionInfo:
        """Who the session is logged in as at the paired site; refused when that login is missing or lapsed
        ("not-authenticated": ERROR), which is how the transport tells a lapse (adapters/dr/sessions.py)."""
        return self.get_model(SessionInfo, "/pairings/{pairing_id}/remote-session")

    def logout(self) -> None:
        self.http.logout()

    def close(self) -> None:
        self.http.close()

    def __enter__(self: D) -> D:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- tasks, as callers name them -------------------------------------------------------------

    def task(self, method: str, template: str, *, body: Any = None, params: Params | None = None, **path: str) -> Task:
        return self.task_api.task(method, template, body=body, params=params, **path)

    def tasks(self, method: str, template: str, *, body: Any = None, **path: str) -> list[Task]:
        return self.task_api.tasks(method, template, body=body, **path)

    def run(self, task: Task, wait: bool, on_progress: ProgressCallback | None = None, timeout: float = 900.0) -> Task:
        return self.task_api.run(task, wait, on_progress, timeout)

    def get_task(self, task_id: str) -> Task:
        return self.task_api.get_task(task_id)

    def tasks_now(self, task_ids: Sequence[str]) -> dict[str, Task]:
        return self.task_api.tasks_now(task_ids)

    def failure(self, task: Task) -> OperationFailed | None:
        return self.task_api.failure(task)

    def poll_tasks(
        self,
        tasks: Sequence[Task],
        *,
        timeout: float = 3600.0,
        any_done: bool = False,
        on_progress: ProgressCallback | None = None,
        look_at_once: bool = True,
        pace: Pace | None = None,
    ) -> list[Task]:
        return self.task_api.poll_tasks(
            tasks, timeout=timeout, any_done=any_done, on_progress=on_progress, look_at_once=look_at_once, pace=pace
        )

    def wait_task(self, task: Task, *, timeout: float = 3600.0, on_progress: ProgressCallback | None = None) -> Task:
        return self.task_api.wait_task(task, timeout=timeout, on_progress=on_progress)

    def wait_tasks(
        self, tasks: Sequence[Task], *, timeout: float = 3600.0, on_progress: ProgressCallback | None = None
    ) -> list[Task]:
        return self.task_api.wait_tasks(tasks, timeout=timeout, on_progress=on_progress)

    def tasks_together(self, limit: int, timeout: float = 3600.0) -> AbstractContextManager[None]:
        return self.task_api.tasks_together(limit, timeout)

    # -- pairings --------------------------------------------------------------------------------

    def pairings(self) -> list[Pairing]:
        return self.get_list(Pairing, "/pairings")

    def pairing(self) -> Pairing:
        return self.get_model(Pairing, "/pairings/{pairing_id}")

    def find_pairing(self, remote_vc_name: str | None = None) -> Pairing:
        """The pairing with that remote vCenter (by name); without a name, the only pairing there is."""
        pairings = self.pairings()
        if remote_vc_name is None:
            if len(pairings) == 1:
                return pairings[0]
            if not pairings:
                raise NotFound(f"{self.endpoint}: no pairing")
            raise Ambiguous(f"{self.endpoint}: pairing", [p.pairing_id for p in pairings])
        return pick_one(pairings, "pairing with remote vCenter", lambda p: p.remote_vc_server.name, remote_vc_name)
