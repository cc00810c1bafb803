"""What a site failback is made of: its runbooks in order (one per recovery plan, a tier each), validated
together before anything starts, and what happens between two plans (see docs/architecture.md, "Site
failbacks")."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from srmctl.adapters.endpoints import Endpoints
from srmctl.engine.run import dry_run
from srmctl.engine.run_plan import RunPlan
from srmctl.errors import RunbookInvalid, UsageError
from srmctl.runbook import Runbook, load_runbook, parse_duration
from srmctl.runbook.checks import duration_too_long
from srmctl.runbook.source import load_file

PROMPT, CONTINUE, WAIT = "prompt", "continue", "wait"


@dataclass(frozen=True)
class Between:
    """What happens between two plans: ``prompt`` (ask the operator), ``continue``, or ``wait:DURATION``."""

    mode: str = PROMPT
    seconds: int = 0

    @classmethod
    def parse(cls, text: str) -> Between:
        mode, _, duration = text.strip().partition(":")
        if mode in (PROMPT, CONTINUE) and not duration:
            return cls(mode)
        if mode == WAIT and duration:
            # Capped like every duration srmctl reads: a longer one would overflow timedelta or time.sleep.
            if too_long := duration_too_long(duration.strip()):
                raise UsageError(f"--between {text[:60]}: {too_long}")
            try:
                return cls(WAIT, int(parse_duration(duration).total_seconds()))
            except ValueError as error:
                raise UsageError(f"--between {text}: {error}") from None
        raise UsageError(f"--between {text!r}: use prompt, continue or wait:DURATION (e.g. wait:10m)")

    def __str__(self) -> str:
        return f"{WAIT}:{self.seconds}s" if self.mode == WAIT else self.mode


@dataclass(frozen=True)
class Tier:
    """One runbook of a site failback, in its place (1-based)."""

    index: int
    runbook: Runbook
    path: Path
    sha256: str  # of the file as validated: a plan whose file changes before its turn is refused, not mixed


@dataclass(frozen=True)
class NextPlan:
    """What a prompt between plans asks about: the plan that finished and the one that would start."""

    site_run: str
    done: Tier
    next: Tier
    total: int


#: The prompt between plans: how the operator let the next plan start ("answered yes", "--yes without a
#: terminal"), journaled; None stops the site failback (resumable).
AskNext = Callable[[NextPlan], "str | None"]
#: Asked once at the start of a site failback, with every plan's dry run, when any holds a high-impact action.
ConfirmSiteFailback = Callable[[Sequence[RunPlan]], bool]


def load_site_failback(paths: Sequence[Path]) -> tuple[Tier, ...]:
    """Every runbook of a site failback, validated before anything starts: one :class:`RunbookInvalid` lists every
    problem of every file (``file:line:col``), and a recovery plan named by two runbooks."""
    problems: list[str] = []
    loaded: list[Tier] = []
    for index, path in enumerate(paths, 1):
        try:
            loaded.append(Tier(index, load_runbook(path), path, hashlib.sha256(path.read_bytes()).hexdigest()))
        except RunbookInvalid as invalid:
            problems += invalid.problems
    seen: dict[str, Tier] = {}
    for plan in loaded:
        name = plan.runbook.recovery_plan.name
        if name in seen:  # one run per plan at a time: the second would wait on the first's lock forever
            mark = load_file(str(plan.path)).values.get(("recovery_plan", "name"))
            where = f"{plan.path}:{mark.line}:{mark.column}" if mark else str(plan.path)
            problems.append(
                f"{where}: recovery_plan.name: recovery plan {name!r} is also failed back by "
                f"{seen[name].path} (plan {seen[name].index}); a site failback names each plan once"
            )
        seen.setdefault(name, plan)
    if problems:
        raise RunbookInvalid(problems)
    return tuple(loaded)


def site_failback_dry_run(site: Sequence[Tier], endpoints: Sequence[Endpoints]) -> tuple[RunPlan, ...]:
    """Every plan's dry run, in order (read-only facades only)."""
    return tuple(dry_run(plan.runbook, ends) for plan, ends in zip(site, endpoints, strict=True))
