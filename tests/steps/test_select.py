"""Runbooks that select their VMs by recovery plan or protection group (the disaster playbook does)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from drlab import planned_migration_lab, runbook
from edge import dry_run

from srmctl.errors import StepFailed
from srmctl.runbook import load_runbook

pytestmark = pytest.mark.lab


@pytest.mark.parametrize("select", [{"recovery_plan": "VR Failover"}, {"protection_group": "VR web"}])
def test_select_resolves_to_the_vms_of_the_plan_or_group(tmp_path: Path, select: dict[str, str]) -> None:
    listed = runbook(tmp_path)
    doc = yaml.safe_load((tmp_path / "rb.yaml").read_text())
    doc.pop("vms")
    doc["select"] = select
    if "protection_group" in select:  # the group srmctl rebuilds is the one selected
        doc["protection_group"] = {"name": select["protection_group"]}
    path = tmp_path / "select.yaml"
    path.write_text(yaml.safe_dump(doc))
    with planned_migration_lab(tmp_path / "lab") as lab:
        if "protection_group" in select:
            # One group of a two-group plan: refused before anything changes (a plan is failed back whole,
            # docs/runbook.md), naming the group left behind, so the selection resolved to VR web's VMs.
            with pytest.raises(StepFailed, match=r"'VR mail' \(mail04\) are not in it"):
                dry_run(load_runbook(path), lab.directory)
            return
        plan = dry_run(load_runbook(path), lab.directory)
    unregistered = {t for s in plan.steps if s.name == "orphans.unregister" for a in s.actions for t in a.targets}
    assert unregistered == set(listed.vm_names)
