"""Read-only facades: a method marked :func:`mutating` refuses to run on a read-only view.

Dry runs and every step's ``plan()`` get read-only views of the vCenter facade and SRM/VR clients, so they cannot
change anything by construction (see docs/architecture.md). The check runs before any request is sent.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar, cast

from srmctl.adapters import testhooks
from srmctl.errors import GuardrailViolation

F = TypeVar("F", bound=Callable[..., Any])


class ReadOnlyViolation(GuardrailViolation):
    """A mutating call was attempted through a read-only facade (a dry run, or a step's ``plan()``)."""

    code = "read_only"


class Guarded(Protocol):
    """What :func:`mutating` needs from a facade or an SRM/VR client."""

    site: str
    kind: str
    read_only: bool

    def invalidate(self) -> None: ...


_generation = 0
_generation_lock = threading.Lock()


def generation() -> int:
    """How many mutating calls this process has made (through any facade or SRM/VR client, any site): an
    observation read at generation G still describes what this process changed while ``generation() == G``.
    SRM and VR calls count too, since they change vCenter (a recovery registers VMs, a protection group
    creates placeholders). See docs/architecture.md, "Concurrency and batching"."""
    return _generation


def changed() -> None:
    """Move the change :func:`generation` on (also when a change started earlier is seen to end: an SRM/VR
    task)."""
    global _generation
    with _generation_lock:
        _generation += 1


@contextmanager
def changing(target: Guarded, what: str) -> Iterator[None]:
    """The one door of every state-changing call (a :func:`mutating` facade method, an SRM/VR request whose
    verb changes state): refused on a read-only view; afterwards the target drops anything it cached and the
    process's change :func:`generation` moves on, so the next observation is fresh. The crash tests'
    ``before_call`` pause sits here too (:mod:`srmctl.adapters.testhooks`), so no step holds a test hook."""
    if target.read_only:
        raise ReadOnlyViolation(f"{what} refused on {target.site}: this is a read-only (dry-run) view of {target.kind}")
    testhooks.pause("before_call")
    changed()  # before the call too: a read racing the change must not count as after it
    try:
        yield
    finally:
        changed()
        target.invalidate()


def mutating(method: F) -> F:
    """Mark a facade method as changing state: it runs inside :func:`changing`."""

    @functools.wraps(method)
    def wrapper(self: Guarded, *args: Any, **kwargs: Any) -> Any:
        with changing(self, method.__name__):
            return method(self, *args, **kwargs)

    wrapper.mutating = True  # type: ignore[attr-defined]
    return cast(F, wrapper)


def is_mutating(method: object) -> bool:
    return bool(getattr(method, "mutating", False))
