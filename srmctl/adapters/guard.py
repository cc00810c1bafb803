"""Read-only facades: a method marked :func:`mutating` refuses to run on a read-only view.

Dry runs and every step's ``plan()`` get read-only views of the vCenter facade and SRM/VR clients, so they cannot
change anything by construction (see docs/architecture.md). The check runs before any request is sent.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

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


def _changed() -> None:
    global _generation
    with _generation_lock:
        _generation += 1


def mutating(method: F) -> F:
    """Mark a facade method as changing state: refused on a read-only view; afterwards the facade drops
    anything it cached and the process's change :func:`generation` moves on, so the next observation is
    fresh."""

    @functools.wraps(method)
    def wrapper(self: Guarded, *args: Any, **kwargs: Any) -> Any:
        if self.read_only:
            raise ReadOnlyViolation(
                f"{method.__name__} refused on {self.site}: this is a read-only (dry-run) view of {self.kind}"
            )
        _changed()  # before the call too: a read racing the change must not count as after it
        try:
            return method(self, *args, **kwargs)
        finally:
            _changed()
            self.invalidate()

    wrapper.mutating = True  # type: ignore[attr-defined]
    return cast(F, wrapper)


def is_mutating(method: object) -> bool:
    return bool(getattr(method, "mutating", False))
