"""What a step sees while it runs: the runbook, one vCenter and one SRM/VR facade per site, bounded
concurrency, events, and the step it is bound to.

The engine builds the context; steps only read from it. The executor binds it to each step it runs
(:meth:`StepContext.bind`), so events and errors name the step without the step saying so, and the two sides
of the step's direction (:attr:`StepContext.sides`) are worked out once. While planning (and in every dry
run) the facades are read-only views, so a step cannot change anything by mistake.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from srmctl.adapters import testhooks
from srmctl.adapters.dr.site import DrSite
from srmctl.adapters.vcenter.facade import VCenterOps
from srmctl.errors import ConnectionFailed, NotFound, SrmctlError, StepFailed
from srmctl.runbook import Runbook
from srmctl.steps.base import Action

T = TypeVar("T")
R = TypeVar("R")

#: ``emit(kind, step, data)``: the engine's event sink (journal, live output). Core code never prints.
Emit = Callable[[str, "str | None", Mapping[str, Any]], object]


@dataclass(frozen=True)
class Sides:
    """The two sites of one direction, their vCenter GUIDs and the SRM/VR facade used for it: the VMs run at
    ``running`` (``ctx.source``), the stale protection comes from ``home`` (``ctx.target``). Every SRM/VR call
    goes through the SRM and VR of the running site, which are logged in to the paired site as well."""

    running: str  # where the VMs run now
    home: str  # where the stale protection comes from
    running_guid: str
    home_guid: str
    dr: DrSite


@dataclass(frozen=True)
class StepContext:
    runbook: Runbook
    sites: Mapping[str, VCenterOps]
    emit: Emit
    confirmed: bool = False  # the operator confirmed the plan (terminal prompt or --yes)
    dry_run: bool = False
    dr_sites: Mapping[str, DrSite] = field(default_factory=dict)  # SRM/VR per site (steps that need them)
    #: True while a step runs "the other way round" (protection.restore): source and target are swapped and
    #: the runbook's per-VM datastore and folder, which name places at the original site, no longer apply.
    reversed: bool = False
    #: The run's journal folder, for artefacts a later step (or a resumed run) reads back, such as the plan
    #: metadata snapshot. None in dry runs, which keep nothing.
    run_dir: Path | None = None
    #: True for a step run as part of another step's sequence (protection.restore, the reprotect fallback).
    in_sequence: bool = False
    #: The step this context is bound to (set by the executor): events are journaled under it. None while
    #: unbound (the engine's run-level context).
    step: str | None = None

    # --- sites ---------------------------------------------------------------------------------------------

    @property
    def source(self) -> str:
        """Where the VMs run now (``failback.from``)."""
        return self.runbook.source_site_name

    @property
    def target(self) -> str:
        """Where the VMs go back to and the orphans are (``failback.to``)."""
        return self.runbook.target_site_name

    @cached_property
    def sides(self) -> Sides:
        """The sides of this context's direction, worked out on first use and kept (a new context, e.g.
        :meth:`read_only` or :meth:`opposite`, works them out anew). Needs the SRM/VR of ``source``."""
        dr = self.dr(self.source)
        return Sides(self.source, self.target, dr.local_vc_guid, dr.remote_vc_guid, dr)

    def bind(self, step: str) -> StepContext:
        """The same context bound to ``step``."""
        return replace(self, step=step)

    def ops(self, site: str) -> VCenterOps:
        try:
            return self.sites[site]
        except KeyError:
            raise NotFound(f"site {site!r} is not connected in this run") from None

    def dr(self, site: str) -> DrSite:
        try:
            return self.dr_sites[site]
        except KeyError:
            raise NotFound(f"SRM/VR of site {site!r} are not connected in this run") from None

    def read_only(self) -> StepContext:
        """The same context with read-only facades: what ``plan()`` and dry runs get."""
        return replace(
            self,
            sites={name: ops.read_only_view() for name, ops in self.sites.items()},
            dr_sites={name: dr.read_only_view() for name, dr in self.dr_sites.items()},
        )

    def opposite(self) -> StepContext:
        """The same run in the other direction (from the original site back to the recovery site), used to
        put protection back after the failback with the same steps."""
        rb = self.runbook
        failback = rb.failback.model_copy(update={"from_": rb.failback.to, "to": rb.failback.from_})
        # Per-VM datastore/folder name places at the original site: meaningless the other way round.
        vms = (
            None
            if rb.vms is None
            else tuple(vm.model_copy(update={"datastore": None, "folder": None}) for vm in rb.vms)
        )
        return replace(
            self, runbook=rb.model_copy(update={"failback": failback, "vms": vms}), reversed=not self.reversed
        )

    # --- helpers for steps ---------------------------------------------------------------------------------

    def record(self, kind: str, data: Mapping[str, Any]) -> None:
        """Write a fact to the journal (e.g. a VM's files before it is unregistered)."""
        self.emit("record", self.step, {"record": kind, **data})

    def progress(self, data: Mapping[str, Any]) -> None:
        """Tell the live output how far a long wait is (a VM's sync, a plan run)."""
        self.emit("progress", self.step, data)

    def action_done(self, action: Action, result: Mapping[str, Any] | None = None) -> None:
        testhooks.pause("after_call")  # crash tests kill here (srmctl/adapters/testhooks.py)
        self.emit("action_done", self.step, {"action": action.to_dict(), "result": dict(result or {})})
        testhooks.pause("after_action")

    def each(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """Run ``fn`` over ``items`` with at most ``runbook.concurrency`` in flight. Every item is attempted;
        failures are reported together (one error naming each distinct problem), so one bad VM does not hide
        another. See :func:`joined_failure` for how they are joined."""
        todo = list(items)
        if not todo:
            return []
        workers = max(1, min(self.runbook.concurrency, len(todo)))
        results: list[R] = []
        errors: list[SrmctlError] = []
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=self.step or "step") as pool:
            futures = [pool.submit(fn, item) for item in todo]
            for future in futures:
                try:
                    results.append(future.result())
                except SrmctlError as error:
                    errors.append(error)
        if errors:
            raise joined_failure(errors)  # the executor names the step
        return results


def joined_failure(errors: Sequence[SrmctlError]) -> SrmctlError:
    """One error for the failures of several items.

    Identical messages are said once with their count ("(3 VMs)"): a permission missing on a whole vCenter
    fails every VM the same way. When every failure is a connection, login or permission problem, the error
    keeps that type, so the run exits 5 (an operator must fix access) rather than 4 (a step failed)."""
    if len(errors) == 1 and isinstance(errors[0], ConnectionFailed):
        return errors[0]  # with its details (e.g. a thumbprint mismatch's expected and actual)
    counts = Counter(error.message for error in errors)
    message = "; ".join(text if n == 1 else f"{text} ({n} VMs)" for text, n in counts.items())
    if all(isinstance(error, ConnectionFailed) for error in errors):
        kind = _common_type(errors)
        return kind(message)
    return StepFailed(message)


def _common_type(errors: Sequence[SrmctlError]) -> type[ConnectionFailed]:
    # The most specific ConnectionFailed class all errors share whose constructor takes just a message
    # (ThumbprintMismatch, say, takes three values and is skipped for its parent).
    for kind in type(errors[0]).__mro__:
        if (
            isinstance(kind, type)
            and issubclass(kind, ConnectionFailed)
            and kind.__init__ is SrmctlError.__init__
            and all(isinstance(error, kind) for error in errors)
        ):
            return kind
    return ConnectionFailed
