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

from srmctl.errors import SrmctlError
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
    #: what makes a finished failback plan nothing when run again, instead of undoing protection.restore.
    done_once_home: ClassVar[bool] = False
    #: Later steps whose work legitimately makes this step's verification stop holding while the VMs are
    #: not home yet (plan.cleanup ends plan.test's TEST_COMPLETE; a migration under way registers the VMs at
    #: home). On resume a failed re-verification is excused by one of them having started, but only while
    #: every other verified step still holds (see :func:`srmctl.engine.executor.recheck_verified`).
    undone_by: ClassVar[frozenset[str]] = frozenset()

    def planned(self, ctx: StepContext) -> tuple[Action, ...]:
        """:meth:`plan`, or nothing once the VMs are home (see ``done_once_home``)."""
        if self.done_once_home and vms_home(ctx):
            return ()
        return tuple(self.plan(ctx))

    def verified(self, ctx: StepContext) -> Verification:
        """:meth:`verify`, or passed once the VMs are home (see ``done_once_home``): the step's own check
        speaks when it holds (e.g. plan.migrate right after migrating), else the VMs being home does."""
        if not (self.done_once_home and vms_home(ctx)):
            return self.verify(ctx)
        try:
            own = self.verify(ctx)
        except SrmctlError:  # e.g. nothing to compare with any more: home is what counts now
            own = Verification.failed(["not applicable"])
        return own if own.ok else Verification.passed(f"the VMs run at {ctx.target}: nothing left for {self.name}")

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


def vms_home(ctx: StepContext) -> bool:
    """Every VM of the runbook is home: registered at ``ctx.target`` in the power state its recovery asked
    for, and not running at ``ctx.source`` (see :func:`not_home`)."""
    return bool(ctx.runbook.vms) and not not_home(ctx)


def not_home(ctx: StepContext) -> list[str]:
    """A problem per runbook VM that is not home.

    A VM is home when it runs (powered on, once) at the original site (``ctx.target``) and not at the
    recovery site, or, for a VM that SRM recovers powered off (startup action ``DO_NOT_POWER_ON``, or a VM
    that was powered off before the failover), when exactly one copy is registered at home, none runs at
    the recovery site, and either no copy is left there or the recovery plan's last recovery brought the
    VMs to the original site. Power state alone cannot tell such a VM from the stale copy at home before
    the failback (both copies are off), so SRM's plan decides; without SRM (a vCenter-only run) it is not
    home. After a disaster recovery the stale copy at home may be powered on again while the live one runs
    at the recovery site: that VM is not home yet."""
    # Imported here: those modules import this one (and the vCenter and SRM/VR adapters).
    from srmctl.steps.dr_state import vm_names
    from srmctl.steps.vms import describe, matching

    vm_names(ctx)  # the runbook's VMs must be listed (or resolved from 'select')
    assert ctx.runbook.vms is not None
    # SRM's test VMs at home (steps/srm_states.py) run while their VMs run away: "still runs" below says so.
    home, away = ctx.ops(ctx.target).inventory(), ctx.ops(ctx.source).inventory()
    problems = []
    recovered_home: list[bool] = []  # asked of SRM once, only for VMs that are off everywhere
    for vm in ctx.runbook.vms:
        copies, left = matching(home, vm), matching(away, vm)
        running = [r for r in copies if r.powered_on]
        if not running:
            if len(copies) != 1 or any(r.powered_on for r in left):
                problems.append(f"{describe(vm)} is not running at {ctx.target}")
            elif left:
                if not recovered_home:
                    recovered_home.append(recovered_to(ctx, home=True))
                if not recovered_home[0]:
                    problems.append(
                        f"{describe(vm)} is not running at {ctx.target} (powered off there and at "
                        f"{ctx.source}, and the recovery plan has not recovered the VMs to "
                        f"{ctx.target})"
                    )
        elif len(running) > 1:
            problems.append(f"{describe(vm)} runs {len(running)} times at {ctx.target}")
        elif any(r.powered_on for r in left):
            problems.append(f"{describe(vm)} still runs at {ctx.source} (its copy at {ctx.target} is stale)")
    return problems


def recovered_to(ctx: StepContext, *, home: bool) -> bool:
    """The runbook's recovery plan last recovered its VMs to ``ctx.target`` (``home``) or to ``ctx.source``:
    SRM's word on which copy is live when power states cannot tell (a VM recovered powered off). False when
    SRM is not part of this run or the plan does not exist."""
    from srmctl.adapters.dr.models import PlanStatus
    from srmctl.errors import NotFound
    from srmctl.steps.dr_state import recovery_plan

    try:
        sides = ctx.sides
    except NotFound:
        return False
    plan = recovery_plan(ctx)
    recovered = {
        PlanStatus.RECOVERY_COMPLETE,
        PlanStatus.DISASTER_RECOVERY_COMPLETE,
        PlanStatus.RECOVERY_SPLIT_BRAIN,
        PlanStatus.INCOMPLETE_REPROTECT,
        PlanStatus.REPROTECT_INTERRUPTED,
    }
    guid = sides.home_guid if home else sides.running_guid
    return plan is not None and plan.recovery_vc_guid == guid and plan.status in recovered


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


def available_steps() -> tuple[type[Step], ...]:
    """The steps that exist, in the default order of ``srmctl failback``."""
    _load_builtin_steps()
    return tuple(_REGISTRY[name] for name in STEP_NAMES if name in _REGISTRY)


def get_step(name: str) -> type[Step]:
    """The step class for ``name`` (every runbook step name has one; tests/steps check it)."""
    _load_builtin_steps()
    if name in _REGISTRY:
        return _REGISTRY[name]
    raise ValueError(f"unknown step {name!r}")


_loaded: list[bool] = []


def _load_builtin_steps() -> None:
    # Step modules register themselves on import; importing them lazily here avoids an import cycle
    # between this module (which they import) and the package's modules.
    if _loaded:
        return
    _loaded.append(True)
    from srmctl.steps import groups, metadata, orphans, plan, preflight, protection, replication  # noqa: F401
