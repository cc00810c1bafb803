"""Runs: dry run, failback (start) and resume, each tying together endpoints, lock, journal and executor.

This is the engine's public face for the CLI: it never prints and never asks; confirmation is a callback
(:data:`ConfirmPlan`) the CLI provides, and progress reaches the CLI as events.
"""

from __future__ import annotations

import hashlib
import os
import platform
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from srmctl.adapters.dr.site import DrSite
from srmctl.adapters.endpoints import EndpointOrigin, Endpoints, ServiceEndpoint
from srmctl.adapters.vcenter.facade import VCenterOps
from srmctl.engine import events as ev
from srmctl.engine.events import EventBus, Subscriber
from srmctl.engine.journal import (
    META,
    PLAN,
    REPORT,
    REPORT_HTML,
    RUNBOOK_COPY,
    Journal,
    RunDamaged,
    new_run_id,
    runs_dir,
)
from srmctl.engine.lock import RunLock
from srmctl.engine.report_html import render_html
from srmctl.engine.run_plan import Recheck, RunPlan, execute_steps, plan_run, recheck_verified, select_steps
from srmctl.engine.selection import selected_vm_names
from srmctl.engine.srm_history import history_links
from srmctl.engine.stored_runs import (
    ABORTED,
    FAILED,
    RESUME_NEEDS,
    SUCCEEDED,
    StepOutcome,
    load_run,
    step_outcomes,
)
from srmctl.engine.vcenter_sessions import connected
from srmctl.errors import Aborted, LocalIoFailed, SrmctlError, StepFailed, UsageError
from srmctl.runbook import Runbook, load_runbook
from srmctl.runbook import Vm as RunbookVm
from srmctl.steps import needs_dr
from srmctl.steps.context import StepContext

#: Asked once, with the whole plan, when a high-impact action is planned. Returns True to go ahead; may
#: raise (e.g. UsageError when nobody can answer and --yes was not given).
ConfirmPlan = Callable[[RunPlan], bool]


@dataclass(frozen=True)
class RunReport:
    run_id: str
    runbook: str
    outcome: str
    started: str
    finished: str | None
    steps: tuple[StepOutcome, ...]
    error: str | None
    journal: str
    api_calls: Mapping[str, int]
    #: SRM's history report of every plan run, tied to the step that ran it (engine/srm_history.py).
    srm_history: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Selection:
    steps: tuple[str, ...] | None = None
    from_step: str | None = None
    until_step: str | None = None


def dry_run(runbook: Runbook, endpoints: Endpoints, selection: Selection = Selection()) -> RunPlan:
    """The ordered plan against live state, through read-only facades only: nothing can change."""
    names = select_steps(runbook, only=selection.steps, from_step=selection.from_step, until_step=selection.until_step)
    with connected(_vcenters(runbook, endpoints)) as sessions, _dr_ops(runbook, endpoints, names) as dr:
        sites = {name: VCenterOps(s, name, read_only=True) for name, s in sessions.items()}
        runbook = with_selected_vms(runbook, dr)
        ctx = StepContext(
            runbook,
            sites,
            EventBus().emit,
            dry_run=True,
            dr_sites={name: ops.read_only_view() for name, ops in dr.items()},
        )
        return plan_run(ctx, names)


SELECTED_VMS = "selected_vms"  # journal record: the VMs a ``select:`` runbook resolved to at the run's start


def with_selected_vms(runbook: Runbook, dr: Mapping[str, DrSite]) -> Runbook:
    """A runbook that selects its VMs (``select:`` a recovery plan or protection group) as one that lists
    them: the steps work on named VMs. Resolved once per run and journaled, because the plan and group lose
    their VMs on the way (groups are detached and deleted)."""
    if runbook.select is None or not dr:
        return runbook
    names = selected_vm_names(runbook, dr[runbook.target_site_name])
    if not names:
        raise StepFailed(f"select: {runbook.selection_summary} holds no VMs; list the VMs under 'vms' instead")
    return _listing(runbook, names)


def _listing(runbook: Runbook, names: Sequence[str]) -> Runbook:
    return runbook.model_copy(update={"vms": tuple(RunbookVm(name=n) for n in sorted(set(names))), "select": None})


def _vcenters(runbook: Runbook, endpoints: Endpoints) -> dict[str, ServiceEndpoint]:
    """The vCenters of the two sites the failback involves (where the VMs run now, then where they go)."""
    return endpoints.vcenters((runbook.source_site_name, runbook.target_site_name))


@contextmanager
def _dr_ops(runbook: Runbook, endpoints: Endpoints, names: Sequence[str]) -> Iterator[dict[str, DrSite]]:
    """SRM/VR facades for both sites of the failback, when a step of the run needs them (none otherwise, so
    vCenter-only runs do not depend on SRM/VR being reachable)."""
    if not needs_dr(names):
        yield {}
        return
    with DrSite.opened(endpoints, [runbook.source_site_name, runbook.target_site_name]) as opened:
        yield opened


@dataclass(frozen=True)
class SitePart:
    """A run that is one plan of a site failback (engine/site_failback.py): its id is given, its meta names the
    site failback, and the site failback holds the plan's lock for it."""

    site_run: str
    index: int
    run_id: str


def start(
    runbook: Runbook,
    endpoints: Endpoints,
    home: Path,
    *,
    runbook_path: Path,
    selection: Selection = Selection(),
    confirm: ConfirmPlan,
    subscribers: Sequence[Subscriber] = (),
    break_lock: bool = False,
    site: SitePart | None = None,
) -> RunReport:
    """Run a failback of ``runbook`` (parsed from ``runbook_path``, whose text the journal keeps); the
    journal goes to ``home/runs/<run-id>/``."""
    names = select_steps(runbook, only=selection.steps, from_step=selection.from_step, until_step=selection.until_step)
    # Bytes, not text: a CRLF file read as text hashes differently from the same file read back on resume.
    raw = runbook_path.read_bytes()
    run_id = new_run_id(runbook.name) if site is None else site.run_id
    # How the endpoints were obtained (a lab's folder, or the runbook itself): what 'srmctl resume' needs to
    # build them again. Never the endpoints' secrets.
    meta = {
        "run_id": run_id,
        "runbook": runbook.name,
        "runbook_path": str(runbook_path.resolve()),
        "runbook_sha256": hashlib.sha256(raw).hexdigest(),
        "endpoints": endpoints.origin.to_meta(),
        "steps": list(names),
        "started": ev.now(),
        "host": platform.node(),
        "pid": os.getpid(),
    }
    if site is not None:
        meta.update({"site_run": site.site_run, "site_plan": site.index})

    def open_journal(secrets: Sequence[str]) -> Journal:
        return Journal.create(home, run_id, runbook_bytes=raw, meta=meta, secrets=secrets)

    return _run(
        run_id,
        runbook,
        endpoints,
        names,
        home,
        open_journal,
        ev.RUN_STARTED,
        confirm=confirm,
        subscribers=subscribers,
        break_lock=break_lock,
        site_held=site is not None,
    )


@dataclass(frozen=True)
class PendingRun:
    """A journaled run about to be resumed: its runbook as it started (with ``select:`` replaced by the VMs
    it resolved to), the steps left, and how its endpoints were obtained."""

    run_id: str
    runbook: Runbook
    steps: tuple[str, ...]
    all_steps: tuple[str, ...]
    origin: EndpointOrigin
    resumes: int
    verified: tuple[str, ...] = ()  # recorded as verified (their last outcome), in run order: checked again
    started: frozenset[str] = frozenset()  # every step the journal saw start
    site_run: str | None = None  # the site failback this run is one plan of: resumed through it, which holds the lock


def pending_run(home: Path, run_id: str) -> PendingRun:
    """Read a run's journal to resume it; the CLI then builds the endpoints the way the run did."""
    stored = load_run(home, run_id).intact("resume", needs=RESUME_NEEDS)
    meta = stored.meta
    runbook = runbook_of(stored.directory, meta)
    selected = [e["vms"] for e in stored.events if e.get("record") == SELECTED_VMS]
    if runbook.select is not None and selected:
        runbook = _listing(runbook, selected[0])
    last = {e["step"]: e["kind"] for e in stored.events if e.get("kind") in _STEP_PHASES and e.get("step")}
    verified = {step for step, kind in last.items() if kind in (ev.STEP_VERIFIED, ev.STEP_REVERIFIED)}
    return PendingRun(
        run_id=run_id,
        runbook=runbook,
        steps=tuple(s for s in meta["steps"] if s not in verified),
        all_steps=tuple(meta["steps"]),
        origin=EndpointOrigin.from_meta(meta),
        resumes=sum(1 for e in stored.events if e.get("kind") == ev.RUN_RESUMED) + 1,
        verified=tuple(s for s in meta["steps"] if s in verified),
        started=frozenset(e["step"] for e in stored.events if e.get("kind") == ev.STEP_STARTED and e.get("step")),
        site_run=meta.get("site_run"),
    )


#: The events that tell where a step stands, the last one counting (a step found stale on resume and not
#: run again since is not verified any more).
_STEP_PHASES = (ev.STEP_STARTED, ev.STEP_VERIFIED, ev.STEP_FAILED, ev.STEP_REVERIFIED, ev.STEP_STALE)


def resume(
    home: Path,
    pending: PendingRun,
    endpoints: Endpoints,
    *,
    confirm: ConfirmPlan,
    subscribers: Sequence[Subscriber] = (),
    break_lock: bool = False,
    site_held: bool = False,
) -> RunReport:
    """Continue a run from its journal: every step not verified yet is planned again from live state, so
    work done before a crash (even one whose journal line was never written) is not done twice. The steps
    recorded as verified are verified again first: from the first that no longer holds, every step is
    planned and run again (:func:`recheck_verified`)."""
    if pending.site_run is not None and not site_held:
        raise UsageError(
            f"run {pending.run_id} is one plan of site failback {pending.site_run}: resume the site failback "
            f"with 'srmctl resume {pending.site_run}'"
        )

    def open_journal(secrets: Sequence[str]) -> Journal:
        return Journal.open(home, pending.run_id, secrets)

    return _run(
        pending.run_id,
        pending.runbook,
        endpoints,
        pending.steps,
        home,
        open_journal,
        ev.RUN_RESUMED,
        confirm=confirm,
        subscribers=subscribers,
        break_lock=break_lock,
        plan_file=f"plan-resume-{pending.resumes}.json",
        all_steps=pending.all_steps,
        recheck=(pending.verified, pending.started),
        site_held=site_held,
    )


def runbook_of(directory: Path, meta: Mapping[str, Any], copy_name: str = RUNBOOK_COPY) -> Runbook:
    """The runbook the run started with: the original file if unchanged (its relative paths still work),
    else the journal's copy when the original is gone; a changed runbook is refused."""
    original = Path(meta["runbook_path"])
    if original.is_file():
        if hashlib.sha256(original.read_bytes()).hexdigest() != meta["runbook_sha256"]:
            raise UsageError(
                f"{original} changed since run {meta['run_id']} started; resuming would mix two "
                "runbooks: start a new run with 'srmctl failback' instead"
            )
        return load_runbook(original)
    copy = directory / copy_name
    if not copy.is_file() or hashlib.sha256(copy.read_bytes()).hexdigest() != meta["runbook_sha256"]:
        raise RunDamaged(
            f"{original} is gone and the copy {copy} does not match the runbook run "
            f"{directory.name} started with (sha256 differs): refusing to resume from it"
        )
    return load_runbook(copy)


def _run(
    run_id: str,
    runbook: Runbook,
    endpoints: Endpoints,
    names: tuple[str, ...],
    home: Path,
    open_journal: Callable[[Sequence[str]], Journal],
    opening_event: str,
    *,
    confirm: ConfirmPlan,
    subscribers: Sequence[Subscriber],
    break_lock: bool,
    plan_file: str = PLAN,
    all_steps: tuple[str, ...] | None = None,
    recheck: tuple[Sequence[str], frozenset[str]] | None = None,
    site_held: bool = False,
) -> RunReport:
    try:
        return _journaled(
            run_id,
            runbook,
            endpoints,
            names,
            home,
            open_journal,
            opening_event,
            confirm=confirm,
            subscribers=subscribers,
            break_lock=break_lock,
            plan_file=plan_file,
            all_steps=all_steps,
            recheck=recheck,
            site_held=site_held,
        )
    except OSError as error:
        # Disk full, a read-only or vanished home: the run stops where it is, journaled up to here (a torn
        # last line is cut on resume), its lock released; once fixed, resume continues it.
        resumable = (runs_dir(home) / run_id / META).is_file()
        raise LocalIoFailed(
            error,
            f"run {run_id} stopped (once fixed, continue it with 'srmctl resume {run_id}'): " if resumable else "",
        ) from error


def _journaled(
    run_id: str,
    runbook: Runbook,
    endpoints: Endpoints,
    names: tuple[str, ...],
    home: Path,
    open_journal: Callable[[Sequence[str]], Journal],
    opening_event: str,
    *,
    confirm: ConfirmPlan,
    subscribers: Sequence[Subscriber],
    break_lock: bool,
    plan_file: str,
    all_steps: tuple[str, ...] | None,
    recheck: tuple[Sequence[str], frozenset[str]] | None,
    site_held: bool,
) -> RunReport:
    # On resume the steps checked again may need SRM/VR even when those left to run do not.
    with connected(_vcenters(runbook, endpoints)) as sessions, _dr_ops(runbook, endpoints, all_steps or names) as dr:
        sites = {name: VCenterOps(s, name) for name, s in sessions.items()}
        # A plan of a site failback runs under the site failback's lock of that plan (taken for every plan at
        # its start).
        lock = None if site_held else RunLock(home, runbook.recovery_plan.name, run_id, sites[runbook.target_site_name])
        if lock is not None:
            lock.acquire(break_lock=break_lock)  # before the journal: a refused run leaves no trace to resume
        try:
            journal = open_journal(endpoints.secrets())
            # The journal subscribes first: an event is on disk before anyone is shown it.
            bus = EventBus([journal.append, *subscribers])
            bus.emit(
                opening_event,
                None,
                {"run_id": run_id, "runbook": runbook.name, "steps": list(names), "pid": os.getpid()},
            )
            if runbook.select is not None:
                runbook = with_selected_vms(runbook, dr)
                if runbook.vms:
                    bus.emit(ev.RECORD, None, {"record": SELECTED_VMS, "vms": [vm.name for vm in runbook.vms]})
            error: BaseException | None = None
            try:
                ctx = StepContext(runbook, sites, bus.emit, dr_sites=dr, run_dir=journal.directory)
                rechecked: tuple[Recheck, ...] = ()
                if recheck is not None:
                    rechecked, names = _rechecked(ctx, bus, *recheck, names, all_steps or names)
                plan = replace(plan_run(ctx, names), rechecked=rechecked)
                journal.write_json(plan_file, plan.to_dict())
                bus.emit(ev.PLANNED, None, plan.to_dict())
                if plan.needs_confirmation and not confirm(plan):
                    raise Aborted("not confirmed; nothing was changed")
                execute_steps(replace(ctx, confirmed=plan.needs_confirmation), names, bus)
            except BaseException as caught:
                error = caught
                raise
            finally:
                calls = {name: s.api_calls for name, s in sites.items()}
                calls.update({f"{name} SRM/VR": d.api_calls for name, d in dr.items()})
                report = _report(run_id, runbook.name, journal, all_steps or names, error, calls)
                try:
                    journal.write_json(REPORT, asdict(report))
                    journal.write_text(
                        REPORT_HTML, render_html(journal.read_json(META), journal.events(), journal.read_json(REPORT))
                    )
                finally:  # the journal ends with the run's end even when the report cannot be written
                    bus.emit(ev.RUN_FINISHED, None, {"outcome": report.outcome, "error": report.error})
        finally:
            if lock is not None:
                lock.release()
    return report


def _rechecked(
    ctx: StepContext,
    bus: EventBus,
    verified: Sequence[str],
    started: frozenset[str],
    pending: tuple[str, ...],
    order: Sequence[str],
) -> tuple[tuple[Recheck, ...], tuple[str, ...]]:
    """Verify the resumed run's verified steps again and journal each outcome; the steps to plan: ``pending``,
    or, from the first verified step that no longer holds, that step and every step after it."""
    checks, stale = recheck_verified(ctx, verified, started)
    if stale is None:
        for check in checks:
            bus.emit(ev.STEP_REVERIFIED, check.step, check.to_dict())
        return checks, pending
    replanned = tuple(s for s in order if s in pending or order.index(s) >= order.index(stale))
    for check in checks[: verified.index(stale)]:
        bus.emit(ev.STEP_REVERIFIED, check.step, check.to_dict())
    bus.emit(ev.STEP_STALE, stale, {**checks[verified.index(stale)].to_dict(), "replanned": list(replanned)})
    return checks[: verified.index(stale) + 1], replanned


def outcome_of(error: BaseException | None) -> str:
    if error is None:
        return SUCCEEDED
    if isinstance(error, (Aborted, KeyboardInterrupt)):
        return ABORTED
    return FAILED


def _report(
    run_id: str,
    runbook: str,
    journal: Journal,
    names: Sequence[str],
    error: BaseException | None,
    api_calls: Mapping[str, int],
) -> RunReport:
    events = journal.events()
    message = None if error is None else (error.message if isinstance(error, SrmctlError) else repr(error))
    return RunReport(
        run_id=run_id,
        runbook=runbook,
        outcome=outcome_of(error),
        started=str(journal.read_json(META).get("started", "")),
        finished=ev.now(),
        steps=step_outcomes(events, names),
        error=message,
        journal=str(journal.directory),
        api_calls=dict(api_calls),
        srm_history=tuple(history_links(events)),
    )
