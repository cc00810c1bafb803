"""End to end: `srmctl failback` on real labs (two vcsim sites + srmsim), no mocks: both scenarios and every
strategy reach the target end state (docs/architecture.md, "The job"); a second run plans nothing; DR refuses
unconfirmed stale VMs; a run SIGKILLed at many points resumes to the same end state; injected transient
faults are retried. Every test runs inside ``nothing_lost`` (tests/fixtures/invariants.py): no datastore file,
VM, plan metadata or replication setting is lost or changed beyond what a correct failback changes.

Set ``SRMCTL_E2E_BENCH=FILE`` to append one JSON line per measured run (wall time, API calls per site and per
step and VM, retries): the source of the e2e table in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import edge
import httpx
import pytest
import yaml
from click.testing import CliRunner
from edge import dr_sites
from invariants import UNCHANGED, nothing_lost
from labstate import ALL_VMS, RunbookSpec, datastore_files, inventory, write_runbook
from labstate import snapshot as whole_state

from srmctl import engine
from srmctl.adapters.dr.client import DrClient
from srmctl.adapters.vcenter.connection import _CountingStub
from srmctl.cli.main import cli
from srmctl.engine import events as ev
from srmctl.lab import lab
from srmctl.lab.config import LabConfig
from srmctl.labkit.topology import Topology, load_topology
from srmctl.runbook import load_runbook
from srmctl.runbook.values import parse_duration
from srmctl.srmsim.app import READY
from srmctl.srmsim.launcher import SrmsimHandle
from srmctl.steps.dr_state import PLAN_BUSY

pytestmark = [pytest.mark.slow, pytest.mark.lab]

PLAN = "VR Failover"
HOME, AWAY = "new-york", "new-jersey"
PLANNED, DISASTER = "planned-migration", "disaster-recovery"
#: The runbook's replication options: defaults for VMs with no recorded settings only. The lab's own
#: replications use other values per VM (5m-30m, quiescing and compression mixed), so the end state proves that
#: each VM kept its own.
REPLICATION = {"rpo": "20m", "quiesce": True, "network_compression": True, "seeds": "required"}
PROMPTS = {"dismiss": ["Call the mail team", "Check mail flow"]}


@contextmanager
def scenario_lab(directory: Path, scenario: str, topology: Topology | None = None) -> Iterator[LabConfig]:
    config = lab.up(directory, topology or load_topology(), scenario=scenario)
    try:
        yield config
    finally:
        lab.down(directory)


def failback_runbook(
    path: Path,
    scenario: str,
    strategy: str = "rebuild",
    *,
    confirm_power_off: bool | None = None,
    force_reprotect: bool = False,
) -> Path:
    """The full default sequence for all lab VMs; a DR runbook confirms powering off the stale VMs unless
    ``confirm_power_off`` says otherwise."""
    confirm = scenario == DISASTER if confirm_power_off is None else confirm_power_off
    write_runbook(path, RunbookSpec(scenario=scenario, steps=None, confirm_power_off=confirm, name=f"e2e-{strategy}"))
    doc = yaml.safe_load(path.read_text())
    del doc["protection_group"]  # the default: the plan's own groups come back, same names and VMs
    doc.update({"replication": REPLICATION, "strategy": strategy, "prompts": PROMPTS})
    if force_reprotect:
        doc["reprotect"] = {"force": True}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


# --- state before and after ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    """What the end state is compared with: taken before the failback."""

    plan_id: str
    files: dict[str, frozenset[str]]
    snapshot: Path  # `srmctl snapshot export` of the plan's metadata
    groups: dict[str, list[str]]  # the plan's protection groups: name → VM names (the lab's "VR mail", "VR web")


def take_baseline(config: LabConfig, directory: Path) -> Baseline:
    snapshot = directory / "pre-failback.snapshot.yaml"
    exported = CliRunner().invoke(
        cli, ["snapshot", "export", "--plan", PLAN, "--lab", config.directory, "-f", str(snapshot)]
    )
    assert exported.exit_code == 0, exported.output
    with dr_sites(config.directory, [HOME]) as dr:
        plan_id = dr[HOME].srm.plan_by_name(PLAN).id
    groups = {name: list(group["vms"]) for name, group in yaml.safe_load(snapshot.read_text())["groups"].items()}
    return Baseline(
        plan_id, {site: frozenset(datastore_files(config, site)) for site in config.sites}, snapshot, groups
    )


def dr_objects(config: LabConfig) -> dict[str, list[Any]]:
    """Every protection group, plan and replication as the home site's SRM/VR report them (for duplicate
    checks); the other site's servers must list the same ones by name (each server has its own ids)."""
    listed: dict[str, dict[str, list[Any]]] = {}
    with dr_sites(config.directory, [HOME, AWAY]) as dr:
        for name, site in dr.items():
            listed[name] = {
                "groups": site.srm.groups(),
                "plans": site.srm.plans(),
                "replications": site.vr.replications(),
            }
    for kind, objects in listed[HOME].items():
        assert sorted(o.name or "" for o in objects) == sorted(o.name or "" for o in listed[AWAY][kind]), kind
    return listed[HOME]


def assert_end_state(
    config: LabConfig, baseline: Baseline, *, full: bool, powered_off: frozenset[str] = frozenset()
) -> None:
    """The target end state (docs/architecture.md). ``full`` adds the metadata diff and the datastore file
    inventory; the VMs in ``powered_off`` are home powered off (SRM recovers them so, e.g. startup action
    DO_NOT_POWER_ON)."""
    ny, nj = inventory(config, HOME), inventory(config, AWAY)
    for name in ALL_VMS:
        copies = ny.vms_named(name)
        assert len(copies) == 1 and copies[0].powered_on == (name not in powered_off), f"{name} at {HOME}: {copies}"
    assert not [v.name for v in nj.vms if v.name in ALL_VMS and not v.is_placeholder], (
        "orphans left at the recovery site"
    )
    # Protected again: SRM keeps one placeholder per VM at the recovery site, in the mapped folder.
    placeholders = {v.name: v.folder for v in nj.vms if v.is_placeholder}
    assert placeholders == {name: ny.vms_named(name)[0].folder for name in ALL_VMS}, placeholders

    with dr_sites(config.directory, [HOME]) as dr:
        site = dr[HOME]
        plan = site.srm.plan_by_name(PLAN)
        assert plan.id == baseline.plan_id, "the recovery plan was replaced, not kept"
        assert (plan.status, plan.protected_vc_guid) == ("READY_STATE", site.local_vc_guid)
        # The plan's own groups again: the names and VMs of before the failback, protected at home, all OK.
        groups = site.srm.plan_groups(plan.id)
        assert {g.protected_vc_guid for g in groups} == {site.local_vc_guid}
        members = {g.name: site.srm.group_vms(g.id) for g in groups}
        assert {n: sorted(v.name for v in vms) for n, vms in members.items()} == baseline.groups
        assert {v.status for vms in members.values() for v in vms} == {"OK"}
        out = site.vr.replications(source_vc_guid=site.local_vc_guid)
        assert sorted(r.name or "" for r in out) == sorted(ALL_VMS)
        own = {vm.name: vm.replication for vm in load_topology().vms}
        # A VM home powered off replicates NOT_ACTIVE (VR: "While the source virtual machine is powered off, the
        # replication appears in the Not active status").
        assert {r.name: (r.state, r.rpo, r.quiescing_enabled, r.network_compression_enabled) for r in out} == {
            name: (
                "NOT_ACTIVE" if name in powered_off else "OK",
                int(parse_duration(rep.rpo).total_seconds() // 60),
                rep.quiesce,
                rep.network_compression,
            )
            for name, rep in own.items()
            if rep is not None
        }

    assert_home_ip(config)
    objects = dr_objects(config)  # nothing duplicated, nothing of the failback direction left
    assert [p.name for p in objects["plans"]] == [PLAN]
    assert sorted(g.name for g in objects["groups"]) == sorted(baseline.groups)
    assert sorted(r.name or "" for r in objects["replications"]) == sorted(ALL_VMS)

    if full:
        diff = CliRunner().invoke(
            cli, ["snapshot", "diff", str(baseline.snapshot), "--plan", PLAN, "--lab", config.directory, "-o", "json"]
        )
        assert diff.exit_code == 0, diff.output
        assert json.loads(diff.output)["result"] == {"equal": True, "changes": []}
        for site, before in baseline.files.items():  # nothing deleted; replicas and seeds may be added
            assert before <= set(datastore_files(config, site)), before - set(datastore_files(config, site))


def assert_home_ip(config: LabConfig) -> None:
    """Every home VM carries the home site's addresses, as SRM's IP customisation applied them at the failback's
    recovery (srmsim records them per NIC, srmsim.effects): the topology's ``protected`` settings (the plan ran
    from home when it was set up). A restore that swapped primary and secondary the wrong way round when the
    plan flipped would give them the recovery site's."""
    plan = next(p for p in load_topology().recovery_plans if p.name == PLAN)
    wanted = {
        name: {str(nic["nic"]): nic["protected"] for nic in meta.get("ip", []) if nic.get("protected")}
        for name, meta in plan.vms.items()
    }
    home = {
        v["name"]: v.get("guest_ip", {})
        for v in srmsim(config).state()["sites"][HOME]["vms"]
        if v["registered"] and v["name"] in ALL_VMS
    }

    def address(text: str) -> str:
        ip = json.loads(text)
        return str((ip.get("ip_v4") or ip.get("ip_v6"))["ip_address"])

    for name, nics in wanted.items():
        expected = {nic: (ip.get("ipv4") or ip.get("ipv6"))["address"] for nic, ip in nics.items()}
        assert {nic: address(t) for nic, t in home[name].items()} == expected, f"{name} at {HOME}: {home[name]}"


# --- journal -------------------------------------------------------------------------------------------


def journal(home: Path, run_id: str | None = None) -> list[dict[str, Any]]:
    """The events of ``run_id`` (default: the only run) as written so far; a torn last line is skipped."""
    runs = home / "runs"
    if run_id is None:
        found = sorted(runs.glob("*/events.jsonl")) if runs.exists() else []
        if not found:
            return []
        path = found[0]
    else:
        path = runs / run_id / "events.jsonl"
    events = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return events


def assert_seeded(events: list[dict[str, Any]]) -> None:
    """Every reverse replication of the run (each direction the run rebuilt) was seeded: far fewer bytes
    transferred than a full copy of the disks, the rest checksummed."""
    records = [e for e in events if e.get("kind") == ev.RECORD and e.get("record") == "replication_bytes"]
    assert {r["vm"] for r in records} == set(ALL_VMS), records
    for r in records:
        assert r["full_bytes"] > 0 and r["transferred_bytes"] * 10 <= r["full_bytes"], r
        assert r["checksummed_bytes"] > 0, r


def dr_state(config: LabConfig) -> dict[str, list[dict[str, Any]]]:
    return {
        kind: sorted((o.model_dump() for o in objects), key=lambda o: str(o["id"]))
        for kind, objects in dr_objects(config).items()
    }


# --- metering ------------------------------------------------------------------------------------------


class CallMeter:
    """An event subscriber for in-process runs: API calls per step, read from the counters of the run's own
    vCenter and SRM/VR clients at each step's start and end, plus their retries and re-logins.

    The clients are found once, at the first step (the engine opens them all before the run starts); other
    clients alive in the test process do not change while the engine runs, so they add nothing to a delta.
    """

    def __init__(self) -> None:
        self.per_step: Counter[str] = Counter()
        self._stubs: list[_CountingStub] = []
        self._clients: list[DrClient] = []
        self._mark = 0
        self._found = False

    def _total(self) -> int:
        if not self._found:
            self._found = True
            for obj in gc.get_objects():
                if isinstance(obj, _CountingStub):
                    self._stubs.append(obj)
                elif isinstance(obj, DrClient) and all(c.calls is not obj.calls for c in self._clients):
                    # A bound client and its read-only views share one call count: count it once.
                    self._clients.append(obj)
        return sum(sum(s.calls.values()) for s in self._stubs) + sum(sum(c.calls.values()) for c in self._clients)

    def __call__(self, event: ev.Event) -> None:
        if event.kind == ev.STEP_STARTED:
            self._mark = self._total()
        elif event.kind in (ev.STEP_VERIFIED, ev.STEP_FAILED) and event.step:
            self.per_step[event.step] += self._total() - self._mark

    def retries(self) -> dict[str, int]:
        result: Counter[str] = Counter()
        for client in self._clients:
            result.update(client.retry_stats.by_reason)
        return dict(result)

    def logins(self) -> int:
        return sum(s.logins for s in self._stubs)


@dataclass
class Bench:
    """Wall times and API calls of the suite's runs, appended to $SRMCTL_E2E_BENCH when set."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        name: str,
        seconds: float,
        report: engine.RunReport | None = None,
        meter: CallMeter | None = None,
        **extra: Any,
    ) -> None:
        row: dict[str, Any] = {"test": name, "seconds": round(seconds, 1), **extra}
        if report is not None:
            row["api_calls"] = dict(report.api_calls)
            row["api_calls_per_vm"] = round(sum(report.api_calls.values()) / len(ALL_VMS), 1)
        if meter is not None:
            row["per_step_per_vm"] = {s: round(n / len(ALL_VMS), 1) for s, n in meter.per_step.items()}
            row["retries"] = meter.retries()
        self.rows.append(row)
        target = os.environ.get("SRMCTL_E2E_BENCH")
        if target:
            with open(target, "a") as out:
                out.write(json.dumps(row) + "\n")


def run_failback(
    runbook: Path, config: LabConfig, home: Path, bench: Bench, name: str, before: Callable[[], None] = lambda: None
) -> tuple[engine.RunReport, CallMeter]:
    """``srmctl failback --yes`` in process (engine.start), metered and timed."""
    meter = CallMeter()
    before()
    started = time.monotonic()
    report = edge.start(runbook, config.directory, home, confirm=lambda _plan: True, subscribers=[meter])
    bench.add(name, time.monotonic() - started, report, meter)
    assert report.outcome == "succeeded", report.error
    assert all(s.status == "verified" for s in report.steps), report.steps
    return report, meter


@pytest.fixture(scope="session")
def bench() -> Bench:
    return Bench()


# --- 1, 2: every scenario and strategy reaches the end state; a second run plans nothing -------------------

MATRIX = [  # full checks for two corners; the others check the REST/vCenter end state only
    pytest.param(PLANNED, "rebuild", True, id="planned-rebuild-full"),
    pytest.param(PLANNED, "reprotect", False, id="planned-reprotect"),
    pytest.param(PLANNED, "auto", False, id="planned-auto"),
    pytest.param(DISASTER, "rebuild", False, id="dr-rebuild"),
    pytest.param(DISASTER, "reprotect", False, id="dr-reprotect"),
    pytest.param(DISASTER, "auto", True, id="dr-auto-full"),
]


@pytest.mark.parametrize(("scenario", "strategy", "full"), MATRIX)
def test_failback_reaches_the_end_state(scenario: str, strategy: str, full: bool, tmp_path: Path, bench: Bench) -> None:
    # After a disaster recovery the plan is RECOVERY_SPLIT_BRAIN: strategy reprotect needs reprotect.force (srmctl
    # runs SRM's planned migration first), strategy auto falls back to the rebuild (journaled).
    rb = failback_runbook(
        tmp_path / "rb.yaml", scenario, strategy, force_reprotect=scenario == DISASTER and strategy == "reprotect"
    )
    home = tmp_path / "home"
    with scenario_lab(tmp_path / "lab", scenario) as config, nothing_lost(config, rb, tmp_path):
        baseline = take_baseline(config, tmp_path)
        # The lab's plan has two groups; a failback brings both back with their names and VMs (issue 12).
        assert baseline.groups == {"VR mail": ["mail04"], "VR web": ["db01", "web01", "web02"]}
        # In the full cells every sync of mail04 takes a simulated day, far past the runbook's 20 min RPO (a
        # checksum full sync of large disks does): VR reports the RPO-violation sync state, which the run
        # shows and waits out. 8 s: longer than srmctl's task polling (up to 2 s per configure task) before it
        # starts watching the syncs.
        slow = (lambda: srmsim(config).slow_sync("mail04", minutes=24 * 60, seconds=8)) if full else (lambda: None)
        report, _ = run_failback(rb, config, home, bench, f"failback {scenario} {strategy}", before=slow)
        assert_end_state(config, baseline, full=full)
        events = journal(home, report.run_id)
        if full:
            states = {e.get("status") for e in events if e.get("kind") == "progress" and e.get("vm") == "mail04"}
            assert "FULL_SYNC_RPO_VIOLATION" in states, states
            srmsim(config).clear_faults()
        powered_off = [
            e
            for e in events
            if e.get("kind") == ev.ACTION_DONE  # the fallback runs it as a substep
            and "orphans.unregister" in (e.get("step"), e.get("substep"))
            and e["result"].get("was_powered_on")
        ]
        fallbacks = [e for e in events if e.get("kind") == ev.RECORD and e.get("record") == "reprotect_fallback"]
        if strategy == "rebuild" or (scenario == DISASTER and strategy == "auto"):
            assert len(powered_off) == (len(ALL_VMS) if scenario == DISASTER else 0)  # DR: stale VMs were on
            assert len(fallbacks) == (strategy == "auto")
            if fallbacks:
                assert "RECOVERY_SPLIT_BRAIN" in fallbacks[0]["reason"]
        else:  # SRM's reprotect powers off and unregisters the stale copies itself, as a confirmed action
            reprotects = [
                e["action"] for e in events if e.get("kind") == ev.ACTION_DONE and e.get("step") == "plan.reprotect"
            ]
            assert not powered_off and not fallbacks
            if scenario == DISASTER:  # split brain: the planned migration powers the stale VMs off first
                assert [a["kind"] for a in reprotects] == ["complete_recovery", "reprotect"]
                assert reprotects[0]["high_impact"] and not reprotects[1]["high_impact"]
            else:
                assert [a["kind"] for a in reprotects] == ["reprotect"] and not reprotects[0]["high_impact"]
        if not full:
            return
        assert_seeded(events)
        # 2: right after a successful failback, the same runbook plans nothing and succeeds.
        assert edge.dry_run(load_runbook(rb), config.directory).action_count == 0
        again, _ = run_failback(rb, config, home, bench, f"second failback {scenario} {strategy}")
        assert sum(s.actions_done for s in again.steps) == 0
        assert_end_state(config, baseline, full=False)


# --- a VM SRM recovers powered off (DO_NOT_POWER_ON) fails back and is protected again ----------------------


@pytest.mark.parametrize("scenario", [PLANNED, DISASTER])
def test_a_do_not_power_on_vm_fails_back_and_is_protected_again(scenario: str, tmp_path: Path, bench: Bench) -> None:
    """web02's startup action is DO_NOT_POWER_ON: every recovery leaves it powered off, so "home" cannot mean
    powered on at home (plan.migrate's check, resume and protection.restore once demanded that)."""
    topology = load_topology()
    plan = topology.recovery_plans[0]
    settings = {**plan.vms.get("web02", {}), "startup": {"action": "DO_NOT_POWER_ON"}}
    plan = plan.model_copy(update={"vms": {**plan.vms, "web02": settings}})
    topology = topology.model_copy(update={"recovery_plans": [plan, *topology.recovery_plans[1:]]})
    rb = failback_runbook(tmp_path / "rb.yaml", scenario)
    with scenario_lab(tmp_path / "lab", scenario, topology) as config:
        assert not inventory(config, AWAY).vms_named("web02")[0].powered_on  # the failover left it off
        baseline = take_baseline(config, tmp_path)
        run_failback(rb, config, tmp_path / "home", bench, f"failback {scenario} DO_NOT_POWER_ON")
        assert_end_state(config, baseline, full=False, powered_off=frozenset({"web02"}))
        # Both reverse replications of web02 (home, then protection.restore's) rested NOT_ACTIVE, as VR reports a
        # powered-off source ("the data synchronization begins when the virtual machine is powered on"), and
        # srmctl said so instead of failing.
        resting = [
            e["vm"]
            for e in journal(tmp_path / "home")
            if e.get("kind") == ev.RECORD and e.get("record") == "replication_not_active"
        ]
        assert resting == ["web02", "web02"], resting
        assert edge.dry_run(load_runbook(rb), config.directory).action_count == 0


# --- 3: DR refuses powered-on stale VMs without confirm.power_off_stale_vms --------------------------------


def test_disaster_recovery_refuses_powered_on_stale_vms_unconfirmed(tmp_path: Path) -> None:
    rb = failback_runbook(tmp_path / "rb.yaml", DISASTER, confirm_power_off=False)
    with scenario_lab(tmp_path / "lab", DISASTER) as config, nothing_lost(config, rb, tmp_path, UNCHANGED):
        before = (whole_state(config), dr_state(config))
        result = CliRunner().invoke(
            cli, ["failback", str(rb), "--lab", config.directory, "--yes"], env={"SRMCTL_HOME": str(tmp_path / "home")}
        )
        assert result.exit_code != 0
        message = result.stderr
        assert "refusing to unregister powered-on VMs" in message and "confirm.power_off_stale_vms" in message
        assert all(name in message for name in ALL_VMS), message  # every VM named, not just the first
        assert (whole_state(config), dr_state(config)) == before  # nothing changed


# --- 4: SIGKILL a real `srmctl failback` at many points, `srmctl resume` after each -----------------------


@dataclass(frozen=True)
class KillPoint:
    """Where to kill: once the process has journaled ``kind`` for ``step`` (and ``substep``), and, with
    ``while_plan_runs``, SRM shows the recovery plan running; ``pause`` (SRMCTL_TEST_PAUSE) widens the window,
    ``delay`` waits a little more so the kill lands inside it."""

    name: str
    step: str
    kind: str
    substep: str | None = None
    pause: str = ""
    delay: float = 0.0
    while_plan_runs: bool = False

    def reached(self, events: list[dict[str, Any]]) -> bool:
        return any(
            e.get("kind") == self.kind
            and e.get("step") == self.step
            and (self.substep is None or e.get("substep") == self.substep)
            for e in events
        )


KILL_POINTS = (  # in the order the run reaches them; each kill is followed by a resume that is killed next
    KillPoint(
        "orphans.unregister after an action's journal line",
        "orphans.unregister",
        ev.ACTION_DONE,
        pause="after_action=3",
    ),
    KillPoint("replication.reverse inside its sync wait", "replication.reverse", "progress"),
    KillPoint("plan.attach_groups between two actions", "plan.attach_groups", ev.ACTION_DONE, pause="after_action=3"),
    KillPoint("plan.test while SRM runs the test", "plan.test", ev.STEP_STARTED, while_plan_runs=True),
    KillPoint("plan.migrate right after its task started", "plan.migrate", ev.STEP_STARTED, while_plan_runs=True),
    KillPoint(
        "protection.restore between UnregisterVM and its journal line",
        "protection.restore",
        ev.RECORD,
        substep="orphans.unregister",
        pause="after_call=4",
        delay=1.0,
    ),
)


def _plan_running(config: LabConfig) -> bool:
    with dr_sites(config.directory, [HOME]) as dr:
        plan = dr[HOME].srm.plan_by_name(PLAN)
    return bool(plan.is_running) or plan.status in PLAN_BUSY


def _srmctl(args: list[str], home: Path, log: Path, pause: str = "") -> subprocess.Popen[bytes]:
    env = {**os.environ, "SRMCTL_HOME": str(home), "SRMCTL_TEST_PAUSE": pause}
    with log.open("wb") as out:  # a file, not a pipe: a chatty run must never block on a full pipe
        return subprocess.Popen(
            [sys.executable, "-c", "from srmctl.cli.main import main; main()", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _kill_at(
    point: KillPoint,
    proc: subprocess.Popen[bytes],
    config: LabConfig,
    home: Path,
    seen: int,
    log: Path,
    timeout: float = 90,
) -> list[dict[str, Any]]:
    """Wait until ``proc`` reaches ``point`` (judged on the events it journaled), SIGKILL it; its events."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            mine = journal(home)[seen:]
            if point.reached(mine) and (not point.while_plan_runs or _plan_running(config)):
                time.sleep(point.delay)
                return journal(home)[seen:]
            assert proc.poll() is None, f"exited {proc.returncode} before {point.name}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"{point.name}: not reached in {timeout}s"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def test_sigkill_at_many_points_then_resume_reaches_the_end_state(tmp_path: Path, bench: Bench) -> None:
    rb = failback_runbook(tmp_path / "rb.yaml", PLANNED)
    home = tmp_path / "home"
    started = time.monotonic()
    with scenario_lab(tmp_path / "lab", PLANNED) as config, nothing_lost(config, rb, tmp_path):
        baseline = take_baseline(config, tmp_path)
        args = ["failback", str(rb), "--lab", config.directory, "--yes"]
        outcomes = []
        for number, point in enumerate(KILL_POINTS):
            seen = len(journal(home))
            log = tmp_path / f"srmctl-{number}.log"
            mine = _kill_at(point, _srmctl(args, home, log, point.pause), config, home, seen, log)
            run_id = sorted(p.name for p in (home / "runs").iterdir())[0]
            args = ["resume", run_id, "--yes"]
            assert not (home / "runs" / run_id / "report.json").exists()
            assert not [e for e in mine if e.get("kind") == ev.STEP_FAILED], mine
            outcomes.append((point.name, next(e["step"] for e in reversed(mine) if e["kind"] == ev.STEP_STARTED)))

        log = tmp_path / "srmctl-final.log"
        final = _srmctl(args, home, log)
        assert final.wait(180) == 0, log.read_text()
        bench.add(f"SIGKILL x{len(KILL_POINTS)} + resumes", time.monotonic() - started, kills=outcomes)
        report = json.loads((home / "runs" / args[1] / "report.json").read_text())
        assert report["outcome"] == "succeeded" and {s["status"] for s in report["steps"]} == {"verified"}
        events = journal(home)
        assert sum(e["kind"] == ev.RUN_RESUMED for e in events) == len(KILL_POINTS)
        assert_end_state(config, baseline, full=True)  # includes: no duplicate group, plan or replication
        assert_seeded(events)


# --- 5: transient faults during a run are retried --------------------------------------------------------


def srmsim(config: LabConfig) -> SrmsimHandle:
    """The lab's srmsim (started detached by 'lab up'), for fault injection."""
    first = (Path(config.directory) / "srmsim" / "srmsim.out").read_text().splitlines()[0]
    return SrmsimHandle(None, json.loads(first[len(READY) :]))


def vcenter_faults(config: LabConfig, site: str, http_method: str = "GET", **rule: Any) -> Any:
    """The lab vcsim's fault control endpoint (loopback only): POST a rule, GET the rules' hit counts."""
    endpoint = config.sites[site].vcenter
    response = httpx.request(
        http_method,
        f"https://{endpoint.host}:{endpoint.port}/srmctl/faults",
        json=rule or None,
        verify=False,
        timeout=10,
    )  # noqa: S501 - vcsim's own cert
    response.raise_for_status()
    return response.json() if response.content else None


FaultInjector = Callable[[LabConfig], None]
#: Faults injected when a step starts, so they hit the middle of a run (each fires ``count`` times, once
#: per matching call, then the call works again).
FAULTS: dict[str, list[FaultInjector]] = {
    "replication.reverse": [
        lambda lab: srmsim(lab).fail_http("/pairings/*/replications*", status=503, count=2, api="vr")
    ],
    "groups.create": [
        lambda lab: srmsim(lab).fail_http(
            "/pairings/*/protection-management/groups*", status=429, count=2, retry_after=1, api="srm"
        )
    ],
    "plan.migrate": [
        lambda lab: srmsim(lab).drop_connections("/pairings/*/recovery-management/plans/*", method="GET", count=1)
    ],
    "protection.restore": [
        lambda lab: srmsim(lab).fail_http(
            "/pairings/*/replications*", method="GET", status=503, count=1, retry_after=1, api="vr"
        )
    ],
}


class FaultsAtSteps:
    """An event subscriber injecting :data:`FAULTS` as their steps start."""

    def __init__(self, config: LabConfig) -> None:
        self.config = config
        self.injected: list[str] = []

    def __call__(self, event: ev.Event) -> None:
        if event.kind == ev.STEP_STARTED and event.step in FAULTS:
            for inject in FAULTS[event.step]:
                inject(self.config)
            self.injected.append(event.step)


def test_transient_faults_are_retried_and_the_run_succeeds(tmp_path: Path, bench: Bench) -> None:
    rb = failback_runbook(tmp_path / "rb.yaml", PLANNED)
    with scenario_lab(tmp_path / "lab", PLANNED) as config, nothing_lost(config, rb, tmp_path):
        baseline = take_baseline(config, tmp_path)
        faults = FaultsAtSteps(config)
        meter = CallMeter()
        started = time.monotonic()
        report = edge.start(
            rb, config.directory, tmp_path / "home", confirm=lambda _plan: True, subscribers=[faults, meter]
        )
        assert report.outcome == "succeeded", report.error
        fired = {site: vcenter_faults(config, site) for site in (HOME, AWAY)}
        bench.add(
            "failback with injected faults",
            time.monotonic() - started,
            report,
            meter,
            logins=meter.logins(),
            vcenter_faults=fired,
        )
        assert faults.injected == list(FAULTS)
        retries = meter.retries()
        assert retries.get("http_503", 0) >= 3 and retries.get("http_429", 0) >= 2, retries
        assert sum(n for reason, n in retries.items() if not reason.startswith("http_")) >= 1, retries  # drop
        assert_end_state(config, baseline, full=False)


# vCenter faults a run survives: HostCommunication is retried under srmctl's retry policy, NotAuthenticated
# (an expired or killed session) logs in again.
SOAP_FAULTS = ["host_communication", "not_authenticated"]


@pytest.mark.parametrize("fault", SOAP_FAULTS)
def test_transient_vcenter_soap_fault_is_retried(fault: str, tmp_path: Path) -> None:
    rb = failback_runbook(tmp_path / "rb.yaml", PLANNED)
    doc = yaml.safe_load(rb.read_text())
    rb.write_text(yaml.safe_dump({**doc, "steps": ["preflight.check"]}, sort_keys=False))
    with scenario_lab(tmp_path / "lab", PLANNED) as config, nothing_lost(config, rb, tmp_path, UNCHANGED):
        vcenter_faults(config, HOME, "POST", method="RetrievePropertiesEx", fault=fault, count=1)
        report = edge.start(rb, config.directory, tmp_path / "home", confirm=lambda _plan: True)
        assert report.outcome == "succeeded", report.error
