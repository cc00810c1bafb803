"""Crash matrix: a real ``srmctl failback --yes`` SIGKILLed right after its Nth journal event
(``SRMCTL_TEST_KILL_AT_EVENT=N``), then one ``srmctl resume RUN_ID --yes``, on a fresh lab per kill point, in
both scenarios. Each resume must reach the failback end state (the assertions of test_failback_e2e.py) with
nothing lost (tests/fixtures/invariants.py): no duplicate group, plan or replication, no file deleted.

A clean run per scenario first counts its events (E) and places the kill points: each is named by the event it
follows (step, kind, occurrence), so the selection stays the same when timing shifts a progress event. CI runs
the marked subset below (``-m crash_matrix``); ``bench/crash_matrix.py`` runs every N in 1..E.

Cases run a few at a time (``SRMCTL_CRASH_JOBS``, default 4): a run mostly waits on simulated tasks, so labs in
parallel cost little more wall time than one. Lab start-up and the checks, which use in-process click runners
and pick free ports, are serialised.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from srmctl.lab.config import LabConfig

sys.path.insert(0, str(Path(__file__).parent))  # the end-state checks of the sibling e2e module
from invariants import RunbookFacts, capture, violations  # noqa: E402
from test_failback_e2e import (  # noqa: E402
    DISASTER,
    PLANNED,
    Baseline,
    assert_end_state,
    failback_runbook,
    journal,
    scenario_lab,
    take_baseline,
)

# The first test runs the whole subset (module fixture): its timeout covers all cases.
pytestmark = [pytest.mark.slow, pytest.mark.crash_matrix, pytest.mark.timeout(1200), pytest.mark.lab]

KILL_ENV = "SRMCTL_TEST_KILL_AT_EVENT"
JOBS = int(os.environ.get("SRMCTL_CRASH_JOBS", "4"))
RUN_TIMEOUT = 300.0
SCENARIOS = (PLANNED, DISASTER)
#: Lab start-up (free ports) and the checks (click's CliRunner swaps sys.stdout) run one at a time.
_SERIAL = threading.Lock()


def label(event: dict[str, Any]) -> str:
    """An event's kind as the tables show it: ``action_done``, ``record:vm_files``, ``progress:<substep>``."""
    text = str(event.get("kind"))
    if event.get("record"):
        text += f":{event['record']}"
    if event.get("substep"):
        text += f":{event['substep']}"
    return text


@dataclass(frozen=True)
class Anchor:
    """A kill point named by the event it follows: the ``occurrence``-th event of ``step`` labelled ``kind``."""

    step: str | None
    kind: str
    occurrence: int = 1

    @property
    def id(self) -> str:
        return f"{self.step or 'run'}/{self.kind}#{self.occurrence}"

    def resolve(self, events: Sequence[dict[str, Any]]) -> int | str:
        """N (1-based) of this anchor in a clean run's journal; the run's last event by its kind, because the
        number of progress events before it varies with timing (a killed run could end before N)."""
        if self.step is None and self.kind == "run_finished":
            return self.kind
        seen = 0
        for number, event in enumerate(events, start=1):
            if event.get("step") == self.step and label(event) == self.kind:
                seen += 1
                if seen == self.occurrence:
                    return number
        raise LookupError(f"{self.id} is not in the clean run's journal")


#: The CI subset: spread over the run, together covering every step of the default sequence (and the run's
#: own first and last events), with different points per scenario.
CI_POINTS: dict[str, tuple[Anchor, ...]] = {
    PLANNED: (
        Anchor("metadata.snapshot", "record:metadata_snapshot"),  # snapshot kept, step not verified
        Anchor("groups.delete", "action_done"),  # one of two groups deleted
        Anchor("replication.reverse", "progress"),  # reverse replications configured, syncing
        Anchor("plan.attach_groups", "action_done"),  # between two attachments
        Anchor("plan.test", "record:prompt_answered"),  # while SRM runs the test
        Anchor("protection.restore", "action_done:replication.reverse"),  # inside the rebuild the other way
        Anchor(None, "run_finished"),  # everything done, report.json not written
    ),
    DISASTER: (
        Anchor("preflight.check", "step_verified"),
        Anchor("orphans.unregister", "record:vm_files"),  # a powered-on stale VM's files recorded, still there
        Anchor("replication.cleanup", "step_verified"),
        Anchor("plan.detach_groups", "action_done"),
        Anchor("groups.create", "action_done"),
        Anchor("metadata.restore", "action_done", 3),
        Anchor("plan.cleanup", "progress"),
        Anchor("plan.migrate", "progress"),  # while SRM migrates
    ),
}
#: Kill points whose resume does not reach the end state (real bugs, reported): (scenario, anchor id) → why.
KNOWN_FAILURES: dict[tuple[str, str], str] = {}


@dataclass
class Outcome:
    scenario: str
    kill_at: int | str  # 0: the clean run; a kind: after the first event of that kind
    killed_after: str = ""  # "<step> <kind>" of the last event the killed process journaled
    killed: bool = False
    resumed: bool = False
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    events: list[dict[str, Any]] = field(default_factory=list)  # the run's journal at the end

    @property
    def ok(self) -> bool:
        return not self.problems


def srmctl(args: list[str], home: Path, log: Path, env: dict[str, str] | None = None) -> int:
    """One srmctl process to its end (returncode; -9 when it SIGKILLed itself), output in ``log``."""
    full_env = {**os.environ, "SRMCTL_HOME": str(home), **(env or {})}
    full_env.pop("SRMCTL_TEST_PAUSE", None)
    if KILL_ENV not in (env or {}):
        full_env.pop(KILL_ENV, None)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from srmctl.cli.main import main; main()", *args],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            return proc.wait(RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            raise


def run_case(scenario: str, kill_at: int | str, directory: Path) -> Outcome:
    """A fresh lab; ``srmctl failback --yes`` killed after event ``kill_at`` (0: not killed); one ``srmctl resume
    --yes``; then the end state and the invariants. Problems are collected, not raised, so a pool can run many."""
    outcome = Outcome(scenario, kill_at)
    started = time.monotonic()
    directory.mkdir(parents=True, exist_ok=True)
    rb = failback_runbook(directory / "rb.yaml", scenario)
    home, log = directory / "home", directory / "srmctl.log"
    try:
        with _serial_lab(directory / "lab", scenario) as config:
            with _SERIAL:
                facts = RunbookFacts.load(rb)
                before = capture(config, facts, directory)
                baseline = take_baseline(config, directory)
            env = {KILL_ENV: str(kill_at)} if kill_at else {}
            code = srmctl(["failback", str(rb), "--lab", config.directory, "--yes"], home, log, env)
            events = journal(home)
            outcome.killed = code == -signal.SIGKILL
            if outcome.killed:
                last = events[-1] if events else {}
                outcome.killed_after = f"{last.get('step') or '-'} {label(last)}" if last else "(nothing journaled)"
                run_id = sorted(p.name for p in (home / "runs").iterdir())[0]
                code = srmctl(["resume", run_id, "--yes"], home, log)
                outcome.resumed = code == 0
                if code != 0:
                    outcome.problems.append(f"resume exited {code}: {_tail(log)}")
            elif code != 0:
                outcome.problems.append(f"failback exited {code}: {_tail(log)}")
            outcome.events = journal(home)
            with _SERIAL:
                outcome.problems += _end_state_problems(config, baseline, home)
                outcome.problems += violations(config, facts, before)
    except Exception as error:  # noqa: BLE001 - a broken case is an outcome of the matrix, not its end
        outcome.problems.append("".join(traceback.format_exception_only(error)).strip())
    outcome.seconds = time.monotonic() - started
    return outcome


@contextmanager
def _serial_lab(directory: Path, scenario: str) -> Iterator[LabConfig]:
    """``scenario_lab`` whose start and stop hold the serial lock (ports are picked when a lab starts)."""
    with _SERIAL:
        lab = scenario_lab(directory, scenario)
        config = lab.__enter__()
    try:
        yield config
    finally:
        with _SERIAL:
            lab.__exit__(None, None, None)


def _end_state_problems(config: LabConfig, baseline: Baseline, home: Path) -> list[str]:
    problems = []
    reports = sorted((home / "runs").glob("*/report.json"))
    report = json.loads(reports[0].read_text()) if reports else None
    if report is None or report.get("outcome") != "succeeded":
        problems.append(f"the run did not succeed: {report and report.get('error')}")
    elif {s["status"] for s in report["steps"]} != {"verified"}:
        problems.append(f"steps not verified: {[(s['name'], s['status']) for s in report['steps']]}")
    try:
        assert_end_state(config, baseline, full=True)
    except AssertionError as error:
        problems.append(f"end state: {error}")
    return problems


def _tail(log: Path, lines: int = 15) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def run_cases(cases: Sequence[tuple[str, int | str]], root: Path, jobs: int = JOBS) -> Iterator[Outcome]:
    """Every (scenario, N) case, ``jobs`` at a time, in completion order."""
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="crash") as pool:
        futures = [
            pool.submit(
                run_case, scenario, n, root / (f"{scenario}-{n:04d}" if isinstance(n, int) else f"{scenario}-{n}")
            )
            for scenario, n in cases
        ]
        for future in futures:
            yield future.result()


# --- the CI subset -------------------------------------------------------------------------------------


class Matrix:
    """The clean runs and the CI kill points, run together on first use (module scope), a few at a time."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.clean: dict[str, Outcome] = {}
        self.kills: dict[tuple[str, str], Outcome | str] = {}  # an outcome, or why the point could not be placed
        self.seconds = 0.0

    def run(self) -> None:
        started = time.monotonic()
        for outcome in run_cases([(s, 0) for s in SCENARIOS], self.root / "clean"):
            self.clean[outcome.scenario] = outcome
        cases: list[tuple[str, int | str]] = []
        ids: list[tuple[str, str]] = []
        for scenario in SCENARIOS:
            for anchor in CI_POINTS[scenario]:
                try:
                    n = anchor.resolve(self.clean[scenario].events)
                except LookupError as error:
                    self.kills[scenario, anchor.id] = str(error)
                    continue
                cases.append((scenario, n))
                ids.append((scenario, anchor.id))
        for key, outcome in zip(ids, run_cases(cases, self.root / "kills"), strict=True):
            self.kills[key] = outcome
        self.seconds = time.monotonic() - started


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Matrix:
    result = Matrix(tmp_path_factory.mktemp("crash-matrix"))
    result.run()
    return result


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_clean_run_reaches_the_end_state_with_nothing_lost(matrix: Matrix, scenario: str) -> None:
    outcome = matrix.clean[scenario]
    assert outcome.ok, "\n".join(outcome.problems)
    assert outcome.events[-1]["kind"] == "run_finished"


def _kill_params() -> list[Any]:
    params = []
    for scenario in SCENARIOS:
        for anchor in CI_POINTS[scenario]:
            reason = KNOWN_FAILURES.get((scenario, anchor.id))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(scenario, anchor.id, marks=marks, id=f"{scenario}-{anchor.id}"))
    return params


@pytest.mark.parametrize(("scenario", "anchor"), _kill_params())
def test_sigkill_after_an_event_then_resume_reaches_the_end_state(matrix: Matrix, scenario: str, anchor: str) -> None:
    outcome = matrix.kills[scenario, anchor]
    assert isinstance(outcome, Outcome), outcome
    assert outcome.killed, f"the run ended before event {outcome.kill_at}"
    assert outcome.ok, f"killed after event {outcome.kill_at} ({outcome.killed_after}):\n" + "\n".join(outcome.problems)
