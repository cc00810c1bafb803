"""Site failbacks: several recovery plans (tiers) failed back in order, as one journaled run (see docs/architecture.md,
"Site failbacks").

A site failback is an ordered list of ordinary runbooks, one per recovery plan. Its own folder under ``runs/`` holds
what ties them together: ``meta.json`` (the plans in order, each with its runbook's path, sha256 and the id of the
run that fails it back), a copy of every runbook, the up-front plan of every plan, and ``events.jsonl`` (which
plan started and finished, the pauses between plans). Each plan is failed back by an ordinary run,
``<site-failback-id>.p<N>``, with its own journal, so steps, resume rechecks and reports work as for one plan.

The site failback takes the lock of every plan it has still to run before anything else (a plan locked by another
run fails the whole site failback before anything changes) and holds them until it ends; its plans' runs do not lock
again. Resume continues from the first plan that has not succeeded: a plan's run that was under way is resumed,
a pause that was not passed is held again, a plan never started is started.
"""

from __future__ import annotations

import hashlib
import os
import platform
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from srmctl.adapters.endpoints import EndpointOrigin, Endpoints
from srmctl.adapters.vcenter.facade import VCenterOps
from srmctl.engine import events as ev
from srmctl.engine.events import EventBus, Subscriber
from srmctl.engine.journal import REPORT, Journal, new_run_id, write_private
from srmctl.engine.lock import RunLock
from srmctl.engine.pending_run import pending_run, runbook_of
from srmctl.engine.run import ConfirmPlan, SitePart, outcome_of, resume, start
from srmctl.engine.site_failback_plans import (
    CONTINUE,
    PROMPT,
    WAIT,
    AskNext,
    Between,
    ConfirmSiteFailback,
    NextPlan,
    Tier,
    load_site_failback,
    site_failback_dry_run,
)
from srmctl.engine.site_failback_report import (
    SiteFailbackReport,
    child_id,
    message_of,
    plan_outcome,
    report_dict,
    site_report,
)
from srmctl.engine.stored_runs import (
    SITE,
    SUCCEEDED,
    load_run,
    site_plans,
)
from srmctl.engine.vcenter_sessions import connected
from srmctl.errors import Aborted, UsageError

# The site failback's parts (its runbooks, the pause between plans, its report) live in modules of their own;
# the CLI reaches them all through this module.
__all__ = [
    "AskNext",
    "Between",
    "ConfirmSiteFailback",
    "NextPlan",
    "PendingSiteFailback",
    "SiteFailbackReport",
    "Tier",
    "is_site_failback",
    "load_site_failback",
    "pending_site_failback",
    "report_dict",
    "resume_site_failback",
    "site_failback_dry_run",
    "start_site_failback",
]

SITE_STARTED = "site_started"
SITE_RESUMED = "site_resumed"
SITE_PLANNED = "site_planned"  # every plan's dry run, before anything changes (the plans are in site-plan.json)
PLAN_STARTED = "site_plan_started"
PLAN_FINISHED = "site_plan_finished"
BETWEEN_STARTED = "site_between_started"  # a pause before the next plan: a prompt or a wait
BETWEEN_PASSED = "site_between_passed"
SITE_FINISHED = "site_finished"
SITE_PLAN = "site-plan.json"


@dataclass(frozen=True)
class PendingSiteFailback:
    """A journaled site failback about to be resumed: its runbooks as they started, and how each plan's endpoints
    were obtained."""

    run_id: str
    plans: tuple[Tier, ...]
    origins: tuple[EndpointOrigin, ...]
    between: Between


def is_site_failback(home: Path, run_id: str) -> bool:
    return load_run(home, run_id).meta.get("kind") == SITE


def _copy_name(index: int) -> str:
    return f"runbook-{index}.yaml"


def start_site_failback(
    site: Sequence[Tier],
    endpoints: Sequence[Endpoints],
    home: Path,
    *,
    between: Between,
    confirm_site: ConfirmSiteFailback,
    confirm: ConfirmPlan,
    ask_next: AskNext,
    subscribers: Sequence[Subscriber] = (),
    break_lock: bool = False,
) -> SiteFailbackReport:
    """Fail ``site``'s plans back in order, as one journaled run under ``home/runs/<run-id>/``."""
    if len(site) < 2:
        raise UsageError("a site failback fails back two or more recovery plans")
    run_id = new_run_id("site")
    # Bytes, as load_site_failback hashed them: a CRLF runbook read as text would hash differently and seem changed.
    raws = [plan.path.read_bytes() for plan in site]
    if any(hashlib.sha256(raw).hexdigest() != plan.sha256 for plan, raw in zip(site, raws, strict=True)):
        raise UsageError("a runbook changed while the site failback was starting; start it again")
    entries = zip(site, endpoints, strict=True)
    meta = {
        "run_id": run_id,
        "kind": SITE,
        "runbook": " → ".join(p.runbook.name for p in site),
        "between": str(between),
        "started": ev.now(),
        "host": platform.node(),
        "pid": os.getpid(),
        "plans": [
            {
                "index": p.index,
                "runbook": p.runbook.name,
                "recovery_plan": p.runbook.recovery_plan.name,
                "runbook_path": str(p.path.resolve()),
                "run_id": child_id(run_id, p.index),
                "runbook_sha256": p.sha256,
                "endpoints": ends.origin.to_meta(),
            }
            for p, ends in entries
        ],
    }
    with _locks(home, run_id, site, endpoints, break_lock):  # before the journal: refused, nothing to resume
        journal = Journal.create(home, run_id, runbook_bytes=None, meta=meta, secrets=_secrets(endpoints))
        for plan, raw in zip(site, raws, strict=True):
            write_private(journal.directory / _copy_name(plan.index), raw)
        bus = EventBus([journal.append, *subscribers])
        bus.emit(SITE_STARTED, None, {"run_id": run_id, "plans": meta["plans"], "between": str(between)})

        def body() -> None:
            plans = site_failback_dry_run(site, endpoints)
            journal.write_json(SITE_PLAN, [p.to_dict() for p in plans])
            bus.emit(SITE_PLANNED, None, {"plans": len(plans), "actions": sum(p.action_count for p in plans)})
            confirmed = any(p.needs_confirmation for p in plans)
            if confirmed and not confirm_site(plans):
                raise Aborted("not confirmed; nothing was changed")
            # Confirmed once for the whole site failback; a plan whose fresh plan needs it when the site's did not asks.
            _drive(
                home,
                run_id,
                site,
                endpoints,
                bus,
                between,
                ask_next,
                subscribers,
                (lambda plan: True) if confirmed else confirm,
            )

        return _finish(home, journal, bus, site, between, body)


def pending_site_failback(home: Path, run_id: str) -> PendingSiteFailback:
    stored = load_run(home, run_id).intact("resume", needs=("plans",))
    plans, origins = [], []
    for entry in site_plans(stored.meta):
        runbook = runbook_of(stored.directory, {**entry, "run_id": run_id}, _copy_name(entry["index"]))
        original = Path(entry["runbook_path"])  # else the copy runbook_of read (a plan not started needs a file)
        path = original if original.is_file() else stored.directory / _copy_name(entry["index"])
        plans.append(Tier(entry["index"], runbook, path, str(entry["runbook_sha256"])))
        origins.append(EndpointOrigin.from_meta(entry))
    return PendingSiteFailback(
        run_id, tuple(plans), tuple(origins), Between.parse(str(stored.meta.get("between", PROMPT)))
    )


def resume_site_failback(
    home: Path,
    pending: PendingSiteFailback,
    endpoints: Sequence[Endpoints],
    *,
    confirm: ConfirmPlan,
    ask_next: AskNext,
    subscribers: Sequence[Subscriber] = (),
    break_lock: bool = False,
) -> SiteFailbackReport:
    """Continue a site failback from its journal: from the first plan that has not succeeded (its run resumed if it
    started, else the pause before it held again and the plan started)."""
    journal = Journal.open(home, pending.run_id, _secrets(endpoints))
    left = [p for p in pending.plans if plan_outcome(home, pending.run_id, p.index) != SUCCEEDED]
    with _locks(home, pending.run_id, left, [endpoints[p.index - 1] for p in left], break_lock):
        bus = EventBus([journal.append, *subscribers])
        bus.emit(
            SITE_RESUMED, None, {"run_id": pending.run_id, "plans_left": [p.index for p in left], "pid": os.getpid()}
        )
        return _finish(
            home,
            journal,
            bus,
            pending.plans,
            pending.between,
            lambda: _drive(
                home, pending.run_id, pending.plans, endpoints, bus, pending.between, ask_next, subscribers, confirm
            ),
        )


def _secrets(endpoints: Sequence[Endpoints]) -> list[str]:
    return [secret for ends in endpoints for secret in ends.secrets()]


@contextmanager
def _locks(
    home: Path, run_id: str, site: Sequence[Tier], endpoints: Sequence[Endpoints], break_lock: bool
) -> Iterator[None]:
    """Every plan's lock (docs/architecture.md, "Journal, resume, locks"), in the site failback's name, held until
    the site failback ends; the first plan another run holds refuses the whole site failback."""
    targets = {
        str(p.index): ends.vcenters((p.runbook.target_site_name,))[p.runbook.target_site_name]
        for p, ends in zip(site, endpoints, strict=True)
    }
    with connected(targets) as sessions:
        taken: list[RunLock] = []
        try:
            for plan in site:
                lock = RunLock(
                    home,
                    plan.runbook.recovery_plan.name,
                    run_id,
                    VCenterOps(sessions[str(plan.index)], plan.runbook.target_site_name),
                )
                lock.acquire(break_lock=break_lock)
                taken.append(lock)
            yield
        finally:
            for lock in reversed(taken):
                lock.release()


def _events(home: Path, run_id: str) -> list[Mapping[str, Any]]:
    return list(load_run(home, run_id).events)


def _drive(
    home: Path,
    run_id: str,
    site: Sequence[Tier],
    endpoints: Sequence[Endpoints],
    bus: EventBus,
    between: Between,
    ask_next: AskNext,
    subscribers: Sequence[Subscriber],
    confirm: ConfirmPlan,
) -> None:
    """Run every plan not yet succeeded, in order, each after the pause before it."""
    events = _events(home, run_id)
    passed = {e.get("after") for e in events if e.get("kind") == BETWEEN_PASSED}
    finished = {e.get("plan") for e in events if e.get("kind") == PLAN_FINISHED and e.get("outcome") == SUCCEEDED}
    for plan, ends in zip(site, endpoints, strict=True):
        outcome = plan_outcome(home, run_id, plan.index)
        if outcome == SUCCEEDED:
            if plan.index not in finished:  # its run ended, the site failback crashed before journaling it
                bus.emit(PLAN_FINISHED, None, _plan_data(plan, run_id, SUCCEEDED))
            continue
        if outcome is None and hashlib.sha256(plan.path.read_bytes()).hexdigest() != plan.sha256:
            raise UsageError(
                f"{plan.path} changed since site failback {run_id} started; plan {plan.index} would run "
                "another runbook than the one confirmed: start a new site failback"
            )
        if outcome is None and plan.index > 1 and plan.index - 1 not in passed:
            _pause(run_id, site[plan.index - 2], plan, len(site), bus, between, ask_next, events)
        bus.emit(PLAN_STARTED, None, {**_plan_data(plan, run_id), "resumed": outcome is not None})
        part = SitePart(run_id, plan.index, child_id(run_id, plan.index))
        try:
            if outcome is None:
                report = start(
                    plan.runbook,
                    ends,
                    home,
                    runbook_path=plan.path,
                    confirm=confirm,
                    subscribers=subscribers,
                    site=part,
                )
            else:
                report = resume(
                    home, pending_run(home, part.run_id), ends, confirm=confirm, subscribers=subscribers, site_held=True
                )
        except BaseException as error:
            bus.emit(PLAN_FINISHED, None, {**_plan_data(plan, run_id, outcome_of(error)), "error": message_of(error)})
            raise
        bus.emit(PLAN_FINISHED, None, {**_plan_data(plan, run_id, report.outcome), "error": report.error})


def _plan_data(plan: Tier, run_id: str, outcome: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "plan": plan.index,
        "runbook": plan.runbook.name,
        "recovery_plan": plan.runbook.recovery_plan.name,
        "run_id": child_id(run_id, plan.index),
    }
    return data if outcome is None else {**data, "outcome": outcome}


def _pause(
    run_id: str,
    done: Tier,
    plan: Tier,
    total: int,
    bus: EventBus,
    between: Between,
    ask_next: AskNext,
    events: Sequence[Mapping[str, Any]],
) -> None:
    """The pause between ``done`` and ``plan``, journaled: passed, or the site failback stops here (resumable)."""
    where = {"after": done.index, "next": plan.index, "mode": between.mode}
    if between.mode == CONTINUE:
        bus.emit(BETWEEN_PASSED, None, {**where, "how": "--between continue"})
        return
    if between.mode == WAIT:
        # A resumed wait keeps its deadline: the operator asked for this much time after the plan before.
        started = [e for e in events if e.get("kind") == BETWEEN_STARTED and e.get("after") == done.index]
        until = (
            datetime.fromisoformat(str(started[-1]["until"]))
            if started and started[-1].get("until")
            else datetime.now(timezone.utc) + timedelta(seconds=between.seconds)
        )
        if not started:
            bus.emit(BETWEEN_STARTED, None, {**where, "until": until.isoformat(timespec="seconds")})
        time.sleep(max(0.0, (until - datetime.now(timezone.utc)).total_seconds()))
        bus.emit(BETWEEN_PASSED, None, {**where, "how": f"waited until {until.isoformat(timespec='seconds')}"})
        return
    bus.emit(BETWEEN_STARTED, None, where)
    how = ask_next(NextPlan(run_id, done, plan, total))
    if how is None:
        raise Aborted(
            f"stopped before plan {plan.index}/{total} ({plan.runbook.name}); continue with 'srmctl resume {run_id}'"
        )
    bus.emit(BETWEEN_PASSED, None, {**where, "how": how})


def _finish(
    home: Path, journal: Journal, bus: EventBus, site: Sequence[Tier], between: Between, body: Callable[[], None]
) -> SiteFailbackReport:
    error: BaseException | None = None
    try:
        body()
    except BaseException as caught:
        error = caught
        raise
    finally:
        report = site_report(home, journal, site, between, error)
        journal.write_json(REPORT, report_dict(report))
        bus.emit(SITE_FINISHED, None, {"outcome": report.outcome, "error": report.error})
    return report
