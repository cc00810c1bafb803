"""The step framework: frozen actions, verifications, the :class:`Step` contract and the step registry.

A step observes live state in :meth:`Step.plan` and returns only what is still to do, as frozen
:class:`Action` values that can be shown, journaled and compared; :meth:`Step.apply` executes exactly those
actions and :meth:`Step.verify` checks the outcome against live state. An empty plan means "already done",
which is what makes re-runs and resumes safe.
"""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, ClassVar, TypeVar

from srmctl.runbook import STEP_NAMES

if TYPE_CHECKING:
    from srmctl.steps.context import StepContext


class Impact(str, Enum):
    """How much a step can change: read-only steps never mutate, high-impact steps need confirmation."""

    READ_ONLY = "read-only"
    LOW = "low"
    HIGH = "high"


#: A scalar an action's detail may hold. JSON has each of these (floats finite), so they survive the journal.
Scalar = str | int | float | bool | None
#: An action's detail: a scalar, or a tuple of scalars (lists travel as tuples, never comma-joined strings).
Detail = Scalar | tuple[Scalar, ...]
_SCALARS = (str, int, float, bool, type(None))


def _detail(key: str, value: object) -> Detail:
    """``value`` as a detail (lists become tuples), or a TypeError naming ``key``."""
    if isinstance(value, (list, tuple)):
        items = tuple(value)
        if all(isinstance(v, _SCALARS) and _finite(v) for v in items):
            return items
    elif isinstance(value, _SCALARS) and _finite(value):
        return value
    raise TypeError(f"action detail {key}={value!r}: expected str, int, float, bool, None or a tuple of those")


def _finite(value: object) -> bool:
    # NaN never equals itself and JSON has no infinity: neither could come back from the journal unchanged.
    return not isinstance(value, float) or math.isfinite(value)


def _shown(value: Detail) -> str:
    return "[" + ", ".join(map(str, value)) + "]" if isinstance(value, tuple) else str(value)


@dataclass(frozen=True)
class Action:
    """One thing a step will do, e.g. unregister mail04 at new-york. Values only, so plans compare equal
    across runs and survive a round trip through the journal (details keep their types: see :data:`Detail`)."""

    kind: str
    site: str
    targets: tuple[str, ...]
    details: tuple[tuple[str, Detail], ...] = ()
    high_impact: bool = False  # needs the operator's confirmation even inside a low-impact step
    #: A forecast, not an observation: what the step expects to do once earlier steps have changed the world
    #: (e.g. SRM's defaults after a rebuild), planned again from live state right before it runs. False: the
    #: action is exactly what the step would do to the world as it is. See docs/architecture.md, "Dry run".
    forecast: bool = False

    def __post_init__(self) -> None:
        # Checked here too (not only in make): a list would make the action unhashable.
        for key, value in self.details:
            if isinstance(value, list):
                raise TypeError(f"action detail {key}: a list, not a tuple")
            _detail(key, value)

    @classmethod
    def make(
        cls,
        kind: str,
        site: str,
        targets: tuple[str, ...] | list[str],
        *,
        high_impact: bool = False,
        forecast: bool = False,
        **details: Detail | list[Scalar],
    ) -> Action:
        return cls(
            kind=kind,
            site=site,
            targets=tuple(targets),
            details=tuple(sorted((k, _detail(k, v)) for k, v in details.items())),
            high_impact=high_impact,
            forecast=forecast,
        )

    def with_details(self, **details: Detail) -> Action:
        """The same action with ``details`` added (or replaced)."""
        merged = {**dict(self.details), **{k: _detail(k, v) for k, v in details.items()}}
        return replace(self, details=tuple(sorted(merged.items())))

    def detail(self, key: str, default: str = "") -> str:
        """A text detail (``default`` when absent)."""
        value = dict(self.details).get(key, default)
        if not isinstance(value, str):
            raise TypeError(f"action detail {key} is {value!r}, not text")
        return value

    def listed(self, key: str) -> tuple[str, ...]:
        """A detail that lists names or ids (empty when absent)."""
        value = dict(self.details).get(key, ())
        if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
            raise TypeError(f"action detail {key} is {value!r}, not a list of text")
        return tuple(str(v) for v in value)

    def describe(self) -> str:
        """``unregister mail04 at new-york (power_state=poweredOff)``."""
        extra = ", ".join(f"{k}={_shown(v)}" for k, v in self.details)
        return f"{self.kind} {', '.join(self.targets)} at {self.site}" + (f" ({extra})" if extra else "")

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "site": self.site,
            "targets": list(self.targets),
            "details": {k: list(v) if isinstance(v, tuple) else v for k, v in self.details},
            "high_impact": self.high_impact,
            "forecast": self.forecast,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Action:
        details = data.get("details") or {}
        targets = data.get("targets") or []
        assert isinstance(details, Mapping) and isinstance(targets, (list, tuple))
        return cls(
            kind=str(data["kind"]),
            site=str(data["site"]),
            targets=tuple(str(t) for t in targets),
            details=tuple(sorted((str(k), _detail(str(k), v)) for k, v in details.items())),
            high_impact=bool(data.get("high_impact", False)),
            forecast=bool(data.get("forecast", False)),
        )


@dataclass(frozen=True)
class Verification:
    """The outcome of :meth:`Step.verify`: ``ok`` with a summary, or every problem found."""

    ok: bool
    summary: str = ""
    problems: tuple[str, ...] = field(default=())

    @classmethod
    def passed(cls, summary: str) -> Verification:
        return cls(ok=True, summary=summary)

    @classmethod
    def failed(cls, problems: list[str] | tuple[str, ...]) -> Verification:
        return cls(ok=False, summary=f"{len(problems)} problem(s)", problems=tuple(problems))


class Step(ABC):
    """Base of every step. Subclasses set ``name`` (``family.verb``) and ``impact``; their docstring's first
    line is what ``srmctl steps`` shows."""

    name: ClassVar[str]
    impact: ClassVar[Impact]
    #: Part of bringing the VMs home: once every VM of the runbook runs at the original site (and not at the
    #: other), there is nothing left for it to do, and its checks of the way there no longer apply. This is
    #: what makes a finished failback plan nothing when run again, instead of undoing protection.restore
    #: (the executor asks :func:`srmctl.steps.whereabouts.planned` and ``verified``, which apply it).
    done_once_home: ClassVar[bool] = False
    #: Later steps whose work legitimately makes this step's verification stop holding while the VMs are
    #: not home yet (plan.cleanup ends plan.test's TEST_COMPLETE; a migration under way registers the VMs at
    #: home). On resume a failed re-verification is excused by one of them having started, but only while
    #: every other verified step still holds (see :func:`srmctl.engine.run_plan.recheck_verified`).
    undone_by: ClassVar[frozenset[str]] = frozenset()
    #: The APIs ("srm", "vr") whose calls in this step need the paired site's servers: the specs'
    #: x-dr-remote-site-connectivity-contract marks them "server-down": ERROR (creating or deleting a protection
    #: group, configuring or unconfiguring a replication, reprotect) or they change what SRM keeps at both
    #: sites. The executor checks those peers before applying the step and stops with PeerUnreachable, nothing
    #: changed, when one is down.
    needs_peer: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    def plan(self, ctx: StepContext) -> tuple[Action, ...]:
        """Observe live state and return what is still to do (empty: already done). Must not mutate:
        the context hands out read-only adapters while planning."""

    @abstractmethod
    def apply(self, ctx: StepContext, actions: tuple[Action, ...]) -> None:
        """Execute exactly ``actions`` (as returned by :meth:`plan`)."""

    @abstractmethod
    def verify(self, ctx: StepContext) -> Verification:
        """Check the step's outcome against live state."""

    @classmethod
    def summary(cls) -> str:
        doc = inspect.getdoc(cls) or ""
        return doc.splitlines()[0] if doc else ""

    @classmethod
    def description(cls) -> str:
        """The whole docstring with each paragraph on one line (terminals re-wrap it)."""
        paragraphs = (inspect.getdoc(cls) or "").split("\n\n")
        return "\n\n".join(" ".join(p.split()) for p in paragraphs)


_REGISTRY: dict[str, type[Step]] = {}
S = TypeVar("S", bound=type[Step])


def register(cls: S) -> S:
    """Class decorator: add a step to the registry under its ``name`` (which the runbook format must know)."""
    if cls.name not in STEP_NAMES:
        raise ValueError(f"step {cls.name!r} is not a runbook step name")
    if cls.name in _REGISTRY:
        raise ValueError(f"step {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


# The package (STEP_MODULES in srmctl/steps/__init__.py) imports every step module, and Python runs it
# before any of its modules, so the registry is full before anything can ask it.


def available_steps() -> tuple[type[Step], ...]:
    """The steps that exist, in the default order of ``srmctl failback``."""
    return tuple(_REGISTRY[name] for name in STEP_NAMES if name in _REGISTRY)


def get_step(name: str) -> type[Step]:
    """The step class for ``name`` (every runbook step name has one; tests/steps check it)."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    raise ValueError(f"unknown step {name!r}")
