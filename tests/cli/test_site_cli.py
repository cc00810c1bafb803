"""Site failbacks at the command line (docs/architecture.md, "Site failbacks"): several runbooks are validated together
before anything starts, the flags that only make sense for one runbook or for several are refused, a run without
a terminal needs --yes; against a lab with two recovery plans: the dry run shows every plan's steps in order, and
a plan locked by another run refuses the whole site failback, naming the plan and the lock holder. The site failback
itself (both plans, kills between and inside plans, resume) is in tests/e2e/test_site_failback.py."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from srmctl.adapters.vcenter.connection import connect
from srmctl.adapters.vcenter.facade import VCenterOps
from srmctl.cli.main import cli
from srmctl.engine.lock import LockHolder
from srmctl.engine.site_failback import Between
from srmctl.errors import UsageError
from srmctl.lab import lab
from srmctl.lab.config import LabConfig
from srmctl.labkit.topology import load_topology

SITE = Path(__file__).parents[2] / "playbooks" / "site"
TIER1, TIER2, TOPOLOGY = SITE / "tier1-db.yaml", SITE / "tier2-apps.yaml", SITE / "lab-topology.yaml"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), terminal_width=200)


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(text))


def test_the_site_playbooks_validate_and_fit_their_lab_topology() -> None:
    from srmctl.runbook import load_runbook

    topology = load_topology(TOPOLOGY)
    plans = {p.name: p for p in topology.recovery_plans}
    for path in (TIER1, TIER2):
        assert path.read_text().startswith("#")
        book = load_runbook(path)
        plan = plans[book.recovery_plan.name]
        members = {vm for g in topology.protection_groups if g.name in plan.protection_groups for vm in g.vms}
        assert set(book.vm_names) == members  # a plan fails back as a whole
    assert len(plans) == 2


def test_every_runbook_is_validated_before_anything_starts(tmp_path: Path, home: Path) -> None:
    bad1 = tmp_path / "bad1.yaml"
    bad1.write_text(TIER1.read_text().replace("concurrency: 4", "concurrency: lots"))
    bad2 = tmp_path / "bad2.yaml"
    bad2.write_text(TIER2.read_text().replace("strategy: rebuild", "strategy: hope"))
    result = run("failback", str(bad1), str(bad2), "--yes")
    assert result.exit_code == 3, result.output
    # Both files' problems, each as file:line:col.
    assert f"{bad1}:{line_of(bad1, 'concurrency:')}:" in result.stderr and "concurrency" in result.stderr
    assert f"{bad2}:{line_of(bad2, 'strategy:')}:" in result.stderr and "strategy" in result.stderr
    assert not home.exists()  # nothing journaled, nothing connected
    planned = run("plan", str(bad1), str(TIER2), "-o", "json")
    assert planned.exit_code == 3
    assert json.loads(planned.output)["error"]["code"] == "runbook_invalid"


def test_a_recovery_plan_named_twice_is_refused_with_its_position(tmp_path: Path, home: Path) -> None:
    again = tmp_path / "again.yaml"
    shutil.copy(TIER1, again)
    result = run("failback", str(TIER1), str(again), "--yes")
    assert result.exit_code == 3, result.output
    assert f"{again}:{line_of(again, 'recovery_plan:')}:" in result.stderr
    assert "'Tier 1 DB' is also failed back by" in result.stderr


def test_flags_of_one_runbook_or_of_several_are_refused(home: Path) -> None:
    steps = run("failback", str(TIER1), str(TIER2), "--yes", "--steps", "preflight.check")
    assert steps.exit_code == 2 and "each runbook runs its own steps" in steps.stderr
    plan_from = run("plan", str(TIER1), str(TIER2), "--from", "plan.test")
    assert plan_from.exit_code == 2
    one = run("failback", str(TIER1), "--between", "continue", "--yes")
    assert one.exit_code == 2 and "two or more runbooks" in one.stderr
    bad = run("failback", str(TIER1), str(TIER2), "--between", "later", "--yes")
    assert bad.exit_code == 2 and "prompt, continue or wait:DURATION" in bad.stderr
    assert not home.exists()


def test_without_a_terminal_a_site_run_needs_yes(home: Path) -> None:
    # CliRunner has no terminal; the runbooks' own sites: (never contacted) give the endpoints.
    result = run("failback", str(TIER1), str(TIER2), "--between", "continue")
    assert result.exit_code == 2, result.output
    assert "needs --yes" in result.stderr
    assert not home.exists()


def test_between_values() -> None:
    assert Between.parse("prompt") == Between("prompt")
    assert Between.parse("continue") == Between("continue")
    assert Between.parse("wait:1h30m") == Between("wait", 5400)
    assert Between.parse(str(Between.parse("wait:10m"))) == Between("wait", 600)  # the journal's spelling
    for text in ("wait", "wait:soon", "prompt:5m", ""):
        with pytest.raises(UsageError):
            Between.parse(text)


# --- against a lab with two recovery plans --------------------------------------------------------------


@pytest.fixture(scope="module")
def two_plans(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabConfig]:
    directory = tmp_path_factory.mktemp("two-plans") / "lab"
    config = lab.up(directory, load_topology(TOPOLOGY), scenario="planned-migration")
    try:
        yield config
    finally:
        lab.down(directory)


@pytest.mark.lab
def test_the_dry_run_shows_every_plan_in_order(two_plans: LabConfig, home: Path) -> None:
    table = run("plan", str(TIER1), str(TIER2), "--lab", two_plans.directory)
    assert table.exit_code == 0, table.output
    first, second = table.output.index("plan 1/2"), table.output.index("plan 2/2")
    assert first < table.output.index("Tier 1 DB") < second < table.output.rindex("Tier 2 Apps")
    assert table.output.count("plan.migrate") == 2 and table.output.count("protection.restore") == 2
    doc = json.loads(
        run("failback", str(TIER1), str(TIER2), "--dry-run", "--lab", two_plans.directory, "-o", "json").output
    )["result"]
    assert doc["dry_run"] is True
    assert [(p["index"], p["recovery_plan"], p["runbook"]) for p in doc["plans"]] == [
        (1, "Tier 1 DB", "tier1-db"),
        (2, "Tier 2 Apps", "tier2-apps"),
    ]
    for plan in doc["plans"]:
        names = [s["step"] for s in plan["steps"]]
        assert names[0] == "preflight.check" and "orphans.unregister" in names and names[-1] == "protection.restore"
        unregistered = next(s for s in plan["steps"] if s["step"] == "orphans.unregister")["actions"]
        assert unregistered  # the dry run shows real work for each plan, not just the first
    assert not home.exists()  # a dry run journals nothing


@pytest.mark.lab
@pytest.mark.parametrize("endings", ["LF", "CRLF"])
def test_a_plan_locked_by_another_run_refuses_the_site_run(
    two_plans: LabConfig, home: Path, tmp_path: Path, endings: str
) -> None:
    """Refused for the lock, whatever the runbooks' line endings (a CRLF file is not 'changed' by being read)."""
    tiers = []
    for tier in (TIER1, TIER2):
        copy = tmp_path / tier.name
        raw = tier.read_bytes()
        copy.write_bytes(raw.replace(b"\n", b"\r\n") if endings == "CRLF" else raw)
        tiers.append(str(copy))
    other = LockHolder(run_id="20240101T000000Z-tier2-0001", host="ops-laptop-7", pid=4242, since="yesterday")
    session = connect(two_plans.vcenter_endpoint("new-york"))
    try:
        VCenterOps(session, "new-york").set_marker("srmctl.lock.Tier 2 Apps", other.to_json())
        result = run("failback", *tiers, "--lab", two_plans.directory, "--yes", "-o", "json")
        assert result.exit_code == 1, result.output
        error = json.loads(result.output)["error"]
        assert error["code"] == "lock_held" and "'Tier 2 Apps'" in error["message"]
        assert "ops-laptop-7" in error["message"] and error["holder"]["run_id"] == other.run_id
        # Refused before anything: no journal, and the first plan's lock was given back.
        assert not (home / "runs").exists()
        assert VCenterOps(session, "new-york").marker("srmctl.lock.Tier 1 DB") is None
    finally:
        VCenterOps(session, "new-york").set_marker("srmctl.lock.Tier 2 Apps", "")
        session.close()
