"""Read-only facades: a method marked :func:`mutating` refuses to run on a read-only view.

Dry runs and every step's ``plan()`` get read-only views of the vCenter facade and SRM/VR clients, so they cannot
change anything by construction (see docs/architecture.md). The check runs before any request is sent.
"""

from __future__ import annotations

import functools
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


def mutating(method: F) -> F:
    """Mark a facade method as changing state: refused on a read-only view; afterwards the facade drops
    anything it cached, so the next observation is fresh."""

    @functools.wraps(method)
    def wrapper(self: Guarded, *args: Any, **kwargs: Any) -> Any:
        if self.read_only:
            raise ReadOnlyViolation(f"{method.__name__} refused on {self.site}: this is a read-only (dry-run) "
                                    f"view of {self.kind}")
        try:
            return method(self, *args, **kwargs)
        finally:
            self.invalidate()

    wrapper.mutating = True  # type: ignore[attr-defined]
    return cast(F, wrapper)


def is_mutating(method: object) -> bool:
    return bool(getattr(method, "mutating", False))
