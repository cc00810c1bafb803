"""Runs: dry run, failback (start) and resume, each tying together the sites' sessions (run_sessions.py),
lock, journal and the run's steps (run_plan.py); a run to resume is read back by pending_run.py.

This is the engine's public face for the CLI: it never prints and never asks; confirmation is a callback
(:data:`ConfirmPlan`) the CLI provides, and progress reaches the CLI as events.
"""

from __future__ import annotations

import hashlib
import os
import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from srmctl.adapters.endpoints import Endpoints
from srmctl.adapters.vcenter.facade import VCenterOps
from srmctl.engine import events as ev
from srmctl.engine.events import EventBus, Subscriber
from srmctl.engine.journal import (
    META,
    PLAN,
    REPORT,
    REPORT_HTML,
    Journal,
    new_run_id,
    runs_dir,
)
from srmctl.engine.lock import RunLock
from srmctl.engine.pending_run import PendingRun
from srmctl.engine.report_html import render_html
from srmctl.engine.run_plan import Recheck, RunPlan, execute_steps, plan_run, recheck_verified, select_steps
from srmctl.engine.run_sessions import SELECTED_VMS, dr_sites_of, vcenters_of, with_selected_vms
from srmctl.engine.srm_history import history_links
from srmctl.engine.stored_runs import (
    ABORTED,
    FAILED,
    SUCCEEDED,
    StepOutcome,
    step_outcomes,
)
from srmctl.engine.vcenter_sessions import connected
from srmctl.errors import Aborted, LocalIoFailed, SrmctlError, UsageError
from srmctl.runbook import Runbook
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
    with connected(vcenters_of(runbook, endpoints)) as sessions, dr_sites_of(runbook, endpoints, names) as dr:
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
    with (
        connected(vcenters_of(runbook, endpoints)) as sessions,
        dr_sites_of(runbook, endpoints, all_steps or names) as dr,
    ):
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
