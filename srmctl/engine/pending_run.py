"""A journaled run read back to be resumed: the runbook it started with, the steps left, and those its
journal records as verified (checked again before they are skipped)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from srmctl.adapters.endpoints import EndpointOrigin
from srmctl.engine import events as ev
from srmctl.engine.journal import RUNBOOK_COPY, RunDamaged
from srmctl.engine.run_sessions import SELECTED_VMS, with_vm_list
from srmctl.engine.stored_runs import RESUME_NEEDS, load_run
from srmctl.errors import UsageError
from srmctl.runbook import Runbook, load_runbook


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
        runbook = with_vm_list(runbook, selected[0])
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
