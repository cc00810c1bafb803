"""plan, failback, resume, runs and steps through the real CLI against a vcsim lab."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from labstate import RunbookSpec, make_failover, snapshot, write_runbook
from report_checks import assert_well_formed_html

from srmctl.cli.main import cli
from srmctl.lab.config import LabConfig
from srmctl.steps import available_steps


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), terminal_width=200)


def test_steps_lists_the_implemented_steps(home: Path) -> None:
    result = CliRunner().invoke(cli, ["steps", "-o", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert [s["name"] for s in doc["result"]["steps"]] == [s.name for s in available_steps()]
    assert {"preflight.check", "orphans.unregister", "plan.migrate"} <= {s["name"] for s in doc["result"]["steps"]}


def test_plan_is_read_only_and_lists_orphan_actions(fresh_lab: LabConfig, tmp_path: Path, home: Path) -> None:
    make_failover(fresh_lab, ["mail04", "web01"])
    rb = str(write_runbook(tmp_path / "rb.yaml", RunbookSpec(vms=("mail04", "web01"))))
    before = snapshot(fresh_lab)
    table = CliRunner().invoke(cli, ["plan", rb, "--lab", fresh_lab.directory], terminal_width=200)
    assert table.exit_code == 0, table.output
    assert "orphans.unregister" in table.output and "mail04" in table.output and "web01" in table.output
    as_json = CliRunner().invoke(cli, ["failback", rb, "--lab", fresh_lab.directory, "--dry-run", "-o", "json"])
    assert as_json.exit_code == 0, as_json.output
    doc = json.loads(as_json.output)
    assert doc["srmctl"] == 1 and doc["command"] == "failback" and doc["result"]["dry_run"] is True
    steps = {s["step"]: s for s in doc["result"]["plan"]["steps"]}
    assert [a["targets"] for a in steps["orphans.unregister"]["actions"]] == [["mail04"], ["web01"]]
    assert snapshot(fresh_lab) == before  # the full inventory of both sites, unchanged
    assert not (home / "runs").exists()  # a dry run is not journaled


def test_failback_without_terminal_needs_yes(fresh_lab: LabConfig, tmp_path: Path, home: Path) -> None:
    make_failover(fresh_lab, ["mail04"])
    rb = str(write_runbook(tmp_path / "rb.yaml", RunbookSpec(vms=("mail04",))))
    result = CliRunner().invoke(cli, ["failback", rb, "--lab", fresh_lab.directory])
    assert result.exit_code == 2
    assert "pass --yes" in result.stderr
    assert any(v["name"] == "mail04" for v in snapshot(fresh_lab)["new-york"]["vms"])


def test_failback_json_runs_and_journals(fresh_lab: LabConfig, tmp_path: Path, home: Path) -> None:
    make_failover(fresh_lab, ["mail04", "db01"])
    rb = str(write_runbook(tmp_path / "rb.yaml", RunbookSpec(vms=("mail04", "db01"))))
    result = CliRunner().invoke(cli, ["failback", rb, "--lab", fresh_lab.directory, "--yes", "-o", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)["result"]
    assert report["outcome"] == "succeeded"
    run_dir = Path(report["journal"])
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "events.jsonl",
        "meta.json",
        "plan.json",
        "report.html",
        "report.json",
        "runbook.yaml",
    ]
    assert all((p.stat().st_mode & 0o777) == 0o600 for p in run_dir.iterdir())
    assert (run_dir.stat().st_mode & 0o777) == 0o700
    secrets = [Path(s.vcenter.password_file).read_text().strip() for s in fresh_lab.sites.values()]
    for path in run_dir.iterdir():
        assert not any(secret in path.read_text() for secret in secrets), path
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    files = [e for e in events if e.get("record") == "vm_files"]
    done = [e for e in events if e["kind"] == "action_done"]
    # Each VM's files are journaled before the VM is unregistered.
    for record in files:
        first_done = next(
            i for i, e in enumerate(events) if e["kind"] == "action_done" and e["action"]["targets"] == [record["vm"]]
        )
        assert events.index(record) < first_done
        assert any(f["path"].endswith(".vmdk") for f in record["files"])
    assert len(done) == 2

    listing = CliRunner().invoke(cli, ["runs", "-o", "json"])
    assert [r["outcome"] for r in json.loads(listing.output)["result"]["runs"]] == ["succeeded"]
    one = CliRunner().invoke(cli, ["runs", report["run_id"]], terminal_width=200)
    assert one.exit_code == 0 and "orphans.unregister" in one.output and "succeeded" in one.output

    html = (run_dir / "report.html").read_text()
    assert_well_formed_html(html)
    assert "orphans.unregister" in html and "mail04" in html and "<svg" in html and "succeeded" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # no external assets
    again = CliRunner().invoke(cli, ["runs", report["run_id"], "--report"])
    assert again.exit_code == 0 and again.output.strip() == str(run_dir / "report.html")


def test_unknown_step_option_is_a_usage_error(shared_lab: LabConfig, tmp_path: Path, home: Path) -> None:
    rb = str(write_runbook(tmp_path / "rb.yaml"))
    result = CliRunner().invoke(cli, ["failback", rb, "--lab", shared_lab.directory, "--steps", "orphans.zap"])
    assert result.exit_code == 2 and "unknown step 'orphans.zap'" in result.stderr


def test_resume_unknown_run_is_reported(home: Path) -> None:
    result = CliRunner().invoke(cli, ["resume", "20990101T000000Z-nope-0000", "--yes"])
    assert result.exit_code == 1 and "no run 20990101T000000Z-nope-0000" in result.stderr


def test_runs_says_why_a_run_failed_before_its_first_step(shared_lab: LabConfig, tmp_path: Path, home: Path) -> None:
    rb = str(write_runbook(tmp_path / "rb.yaml", RunbookSpec(vms=("[red]ghost01",))))
    failed = CliRunner().invoke(cli, ["failback", rb, "--lab", shared_lab.directory, "--yes", "-o", "json"])
    assert failed.exit_code != 0
    error = json.loads(failed.output)["error"]["message"]
    run_id = json.loads(CliRunner().invoke(cli, ["runs", "-o", "json"]).output)["result"]["runs"][0]["run_id"]
    as_json = json.loads(CliRunner().invoke(cli, ["runs", run_id, "-o", "json"]).output)["result"]
    assert as_json["outcome"] == "failed" and as_json["error"] == error
    shown = CliRunner().invoke(cli, ["runs", run_id], terminal_width=400)
    assert "why: " in shown.output and "[red]ghost01" in shown.output  # the name is text, not markup
