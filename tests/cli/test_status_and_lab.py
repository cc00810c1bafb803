from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from srmctl import __version__
from srmctl.cli.main import cli
from srmctl.lab.config import LabConfig, load_lab
from srmctl.labkit.processes import is_running


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_status_table_lists_both_sites_vms(shared_lab: LabConfig) -> None:
    result = CliRunner().invoke(cli, ["status", "--lab", shared_lab.directory], terminal_width=160)
    assert result.exit_code == 0, result.output
    assert "new-york" in result.output and "new-jersey" in result.output
    for name in ("mail04", "db01", "web01", "web02"):
        assert name in result.output
    assert "Web/Frontend" in result.output and "ESX1_LOCAL" in result.output


def test_status_json_is_a_versioned_envelope(shared_lab: LabConfig) -> None:
    result = CliRunner().invoke(cli, ["status", "--lab", shared_lab.directory, "-o", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["srmctl"] == 1 and doc["ok"] is True and doc["command"] == "status"
    sites = {s["site"]: s for s in doc["result"]["sites"]}
    ny_vms = {v["name"]: v for v in sites["new-york"]["vms"]}
    assert ny_vms["mail04"]["power_state"] == "poweredOn" and ny_vms["mail04"]["folder"] == "Mail"
    assert ny_vms["web01"]["datastores"] == ["NY-SAN-01"]
    # new-jersey holds nothing but SRM's placeholders of the VMs it protects.
    assert {(v["name"], v["placeholder"]) for v in sites["new-jersey"]["vms"]} == {
        (n, True) for n in ("db01", "mail04", "web01", "web02")
    }


def test_bad_password_exits_5_with_one_line(fresh_lab: LabConfig) -> None:
    password_file = Path(fresh_lab.sites["new-york"].vcenter.password_file)
    password_file.write_text("not-the-password")
    result = CliRunner().invoke(cli, ["status", "--lab", fresh_lab.directory])
    assert result.exit_code == 5
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("srmctl: error: vCenter 127.0.0.1:")
    assert "login failed for user 'administrator@new-york.lab'" in lines[0]


def test_bad_password_json_error_envelope(fresh_lab: LabConfig) -> None:
    Path(fresh_lab.sites["new-york"].vcenter.password_file).write_text("nope")
    result = CliRunner().invoke(cli, ["status", "--lab", fresh_lab.directory, "-o", "json"])
    assert result.exit_code == 5
    doc = json.loads(result.output)
    assert doc["ok"] is False and doc["error"]["code"] == "authentication_failed"
    assert doc["error"]["exit_code"] == 5


def test_status_without_a_lab_is_a_usage_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SRMCTL_LAB"}
    result = CliRunner(env=env).invoke(cli, ["status"])
    assert result.exit_code == 2 and "--lab" in result.stderr
    missing = CliRunner().invoke(cli, ["status", "--lab", str(tmp_path)])
    assert missing.exit_code == 1 and "lab.yaml not found" in missing.stderr


@pytest.mark.lab
def test_lab_up_status_down_cycle(tmp_path: Path) -> None:
    runner = CliRunner()
    directory = tmp_path / "L"
    up = runner.invoke(cli, ["lab", "up", "--dir", str(directory), "-o", "json"])
    assert up.exit_code == 0, up.output
    config = load_lab(directory)
    pids = config.pids
    assert len(pids) == 3 and all(is_running(p) for p in pids)  # two vcsim, one srmsim
    for site in config.sites.values():
        assert oct(Path(site.vcenter.password_file).stat().st_mode & 0o777) == "0o600"
        assert oct((directory / Path(site.vcenter.ca_file).parent.name / "key.pem").stat().st_mode & 0o777) == "0o600"

    again = runner.invoke(cli, ["lab", "up", "--dir", str(directory)])
    assert again.exit_code == 1 and "already running" in again.stderr

    status = runner.invoke(cli, ["lab", "status", "--dir", str(directory), "-o", "json"])
    assert status.exit_code == 0
    assert all(p["running"] for p in json.loads(status.output)["result"]["processes"]), status.output

    down = runner.invoke(cli, ["lab", "down", "--dir", str(directory)])
    assert down.exit_code == 0 and "stopped 3" in down.output
    assert not any(is_running(p) for p in pids)
    assert list(directory.iterdir()) == []
    assert runner.invoke(cli, ["lab", "down", "--dir", str(directory)]).exit_code == 0  # idempotent


def _explicit_runbook(tmp_path: Path, lab: LabConfig) -> Path:
    """A runbook whose sites: point straight at the lab's vCenters (no --lab), as in production."""

    def site(name: str) -> dict[str, object]:
        vc, srm = lab.sites[name].vcenter, lab.dr_endpoint(name, "srm")
        dr = {"host": srm.host, "port": srm.port, "thumbprint": srm.thumbprint}
        return {
            "vcenter": {
                "host": vc.host,
                "port": vc.port,
                "user": vc.user,
                "password_file": vc.password_file,
                "thumbprint": vc.thumbprint,
            },
            "srm": dr,
            "vr": dr,
        }

    doc = {
        "version": 1,
        "name": "explicit",
        "scenario": "planned-migration",
        "sites": {"new-york": site("new-york"), "new-jersey": site("new-jersey")},
        "failback": {"from": "new-jersey", "to": "new-york"},
        "vms": [{"name": "mail04"}],
        "replication": {"rpo": "15m"},
        "protection_group": {"name": "VR mail"},
        "recovery_plan": {"name": "VR Failover"},
    }
    path = tmp_path / "explicit.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_status_with_a_runbooks_explicit_endpoints(tmp_path: Path, shared_lab: LabConfig) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SRMCTL_LAB"}
    result = CliRunner(env=env).invoke(cli, ["status", str(_explicit_runbook(tmp_path, shared_lab)), "-o", "json"])
    assert result.exit_code == 0, result.output
    sites = {s["site"]: s for s in json.loads(result.output)["result"]["sites"]}
    assert {v["name"] for v in sites["new-york"]["vms"]} == {"mail04", "db01", "web01", "web02"}
    assert len(json.loads(result.output)["result"]["replications"]) == 4  # SRM/VR reached through the runbook


def test_status_shows_replications_groups_and_plans(shared_lab: LabConfig) -> None:
    result = CliRunner().invoke(cli, ["status", "--lab", shared_lab.directory, "-o", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)["result"]
    # SRM's placeholders at the recovery site are powered off and named as the running VMs: never orphans.
    assert doc["dr_available"] is True and doc["orphans"] == []
    assert sorted(doc["placeholders"]) == [f"{n} at new-jersey" for n in ("db01", "mail04", "web01", "web02")]
    new_jersey = next(s for s in doc["sites"] if s["site"] == "new-jersey")
    assert {(v["name"], v["placeholder"], v["orphan"]) for v in new_jersey["vms"]} == {
        (n, True, False) for n in ("db01", "mail04", "web01", "web02")
    }
    text = CliRunner().invoke(cli, ["status", "--lab", shared_lab.directory], env={"COLUMNS": "200"})
    assert text.exit_code == 0, text.output
    rows = [line for line in text.output.splitlines() if line.startswith("│ mail04 ")][:2]  # the two sites
    assert sorted("placeholder" in row for row in rows) == [False, True], text.output
    assert "orphan" not in text.output.replace("orphans", "")
    assert {(r["vm"], r["source"], r["target"], r["status"]) for r in doc["replications"]} == {
        (vm, "new-york", "new-jersey", "OK") for vm in ("mail04", "db01", "web01", "web02")
    }
    assert [(p["name"], p["status"], p["protected_site"]) for p in doc["plans"]] == [
        ("VR Failover", "READY_STATE", "new-york")
    ]
    assert {g["name"]: g["status"] for g in doc["groups"]} == {"VR mail": "OK", "VR web": "OK"}
