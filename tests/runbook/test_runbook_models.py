"""The typed runbook: durations, accessors, invariants under direct construction, and the import boundary."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from srmctl.runbook import DEFAULT_STEPS, STEP_NAMES, Runbook, format_duration, load_runbook, parse_duration

GOOD = Path(__file__).parent / "good"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("300s", 300), ("15m", 900), ("1h", 3600), ("1d", 86400), ("1h30m", 5400), ("1d2h3m4s", 93784)],
)
def test_durations_parse_and_print_back(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert parse_duration(format_duration(timedelta(seconds=seconds))) == timedelta(seconds=seconds)


@pytest.mark.parametrize("bad", ["15", "15 m", "m", "", "1.5h", "1m1h", 15, True, None])
def test_durations_need_a_unit_and_order(bad: Any) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_full_runbook_accessors() -> None:
    rb = load_runbook(GOOD / "full.yaml")
    assert rb.source_site_name == "new-jersey" and rb.target_site_name == "new-york"
    assert rb.source_site is rb.site("new-jersey") and rb.target_site is rb.site("new-york")
    assert rb.vm_names == ("mail04", "mail05", "007")
    assert rb.vms is not None and rb.vms[0].instance_uuid == "5003c1b2-1a2b-3c4d-5e6f-0123456789ab"
    assert rb.replication.rpo == timedelta(minutes=90)
    assert rb.snapshot.max_age == timedelta(days=1)
    assert rb.confirm.power_off_stale_vms is True
    assert rb.reprotect.force is True
    # Thumbprints are normalised so that pinning compares plain strings.
    assert rb.site("new-jersey").vr.thumbprint == "sha256:" + "0123456789abcdef" * 4
    # Relative paths are relative to the runbook, not to the working directory.
    assert rb.site("new-jersey").vcenter.password_file == GOOD / "secrets" / "nj.password"
    assert rb.recovery_plan.metadata == GOOD / "snapshots" / "vr-failover.yaml"
    with pytest.raises(KeyError, match="no site named 'paris'"):
        rb.site("paris")


def test_srm_and_vr_inherit_vcenter_credentials_unless_they_name_their_own() -> None:
    rb = load_runbook(GOOD / "full.yaml")
    ny, nj = rb.site("new-york"), rb.site("new-jersey")
    assert ny.credentials("srm").user == "administrator@vsphere.local"
    assert ny.credentials("srm").password_env == "SRMCTL_TEST_NY_PASSWORD"
    assert ny.credentials("srm").host == "srm-ny.corp.local"
    assert nj.credentials("srm").user == "srm-admin@vsphere.local"
    assert nj.credentials("srm").password_env == "SRMCTL_TEST_NJ_SRM"


def test_steps_run_in_canonical_order() -> None:
    rb = load_runbook(GOOD / "anchors.yaml")
    assert rb.effective_steps == ("preflight.check", "plan.reprotect")
    assert load_runbook(GOOD / "minimal.yaml").effective_steps == DEFAULT_STEPS
    assert STEP_NAMES[:-1] == DEFAULT_STEPS
    assert "plan.reprotect" not in DEFAULT_STEPS


def test_merge_keys_fill_in_and_explicit_keys_win() -> None:
    rb = load_runbook(GOOD / "anchors.yaml")
    assert rb.site("ny").vr.host == "vr-ny.lab" and rb.site("ny").vr.port == 8043
    assert rb.site("ny").vr.password_env == "SRMCTL_TEST_NY"
    assert rb.selection_summary == "VMs of recovery plan 'Web failover'"


def test_reprotect_force_defaults_to_false_and_must_be_a_boolean() -> None:
    assert load_runbook(GOOD / "minimal.yaml").reprotect.force is False
    data = _data("minimal.yaml")
    data["reprotect"] = {"force": "sometimes"}
    with pytest.raises(ValueError, match="reprotect"):
        Runbook.model_validate(data)
    data["reprotect"] = {"forced": True}
    with pytest.raises(ValueError, match="forced"):
        Runbook.model_validate(data)


def test_runbook_is_frozen() -> None:
    rb = load_runbook(GOOD / "minimal.yaml")
    with pytest.raises(ValidationError):
        rb.concurrency = 2  # type: ignore[misc]


def _data(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((GOOD / name).read_text())
    return loaded


def test_direct_construction_enforces_cross_checks() -> None:
    data = _data("minimal.yaml")
    data["failback"] = {"from": "ny", "to": "ny"}
    with pytest.raises(ValidationError, match=r"failback\.to: must differ from failback\.from"):
        Runbook.model_validate(data)


def test_direct_construction_of_a_good_runbook_round_trips() -> None:
    rb = Runbook.model_validate(_data("full.yaml"))
    dumped = rb.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert dumped["replication"]["rpo"] == "1h30m"
    assert dumped["failback"] == {"from": "new-jersey", "to": "new-york"}
    assert Runbook.model_validate(dumped) == rb


def test_runbook_package_imports_neither_click_nor_rich() -> None:
    code = "import srmctl.runbook, sys; assert 'click' not in sys.modules and 'rich' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
