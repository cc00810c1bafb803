"""What SRM and VR records share: the lenient record and strict spec bases, tasks, servers, pairings, sessions."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field

E = TypeVar("E", bound=Enum)


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Spec(BaseModel):
    """A request body: unknown fields are a programming error, so they are forbidden."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def text(value: Enum | str | None) -> str | None:
    """The wire string of a leniently parsed enum value."""
    return value.value if isinstance(value, Enum) else value


# Lenient[SomeEnum]: the enum member when known, otherwise the raw string.
Lenient = Annotated[Union[E, str], Field(union_mode="left_to_right")]  # noqa: UP007


class TaskStatus(str, Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"


class TaskError(Record):
    message: str | None = None
    details: str | None = None


class Task(Record):
    id: str
    status: Lenient[TaskStatus]
    description: str | None = None
    entity: str | None = None
    entity_name: str | None = None
    progress: int | None = None
    error: TaskError | None = None
    result: Any = None
    queued_time: int | None = None
    start_time: int | None = None
    complete_time: int | None = None

    @property
    def done(self) -> bool:
        return self.status not in (TaskStatus.QUEUED, TaskStatus.RUNNING)

    @property
    def result_id(self) -> str | None:
        """The id a create task reports (SRM puts the new object's id in ``result``; accept an object
        with an ``id`` too, which is what the schema's ``type: object`` allows)."""
        if isinstance(self.result, str):
            return self.result
        if isinstance(self.result, dict):
            value = self.result.get("id")
            return str(value) if value is not None else None
        return None


class ServerInfo(Record):
    id: str | None = None
    name: str | None = None
    url: str | None = None
    server_status: Lenient[Any] | None = None
    version: str | None = None


class Pairing(Record):
    pairing_id: str
    local_vc_server: ServerInfo
    remote_vc_server: ServerInfo
    local_srm_server: ServerInfo | None = None
    remote_srm_server: ServerInfo | None = None
    local_vrms: ServerInfo | None = None
    remote_vrms: ServerInfo | None = None


class SessionInfo(Record):
    username: str | None = None


# --- protection groups ----------------------------------------------------------------------------
