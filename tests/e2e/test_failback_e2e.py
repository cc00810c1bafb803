"""End to end: ``srmctl failback`` on a planned-migration lab reaches the target end state of DESIGN §2."""

from __future__ import annotations

from pathlib import Path

import pytest
from drlab import planned_migration_lab
from labstate import ALL_VMS, RunbookSpec, datastore_files, inventory, write_runbook

from srmctl import engine
from srmctl.engine.dr import dr_sites
from srmctl.runbook import DEFAULT_STEPS, load_runbook
from srmctl.steps import available_steps

pytestmark = pytest.mark.slow


def test_failback_and_protection_restore_reach_the_end_state(tmp_path: Path) -> None:
    implemented = {s.name for s in available_steps()}
    steps = tuple(s for s in DEFAULT_STEPS if s in implemented)
    path = write_runbook(tmp_path / "rb.yaml", RunbookSpec(steps=steps))
    text = path.read_text() + 'prompts: {dismiss: ["Call the mail team", "Check mail flow"]}\n'
    path.write_text(text)
    with planned_migration_lab(tmp_path / "lab") as lab:
        directory = Path(lab.directory)
        files = {site: set(datastore_files(lab, site)) for site in lab.sites}
        report = engine.start(path, directory, tmp_path / "home", confirm=lambda _plan: True)
        assert report.outcome == "succeeded", report.error
        assert all(s.status == "verified" for s in report.steps)

        ny, nj = inventory(lab, "new-york"), inventory(lab, "new-jersey")
        assert all(any(v.powered_on for v in ny.vms_named(name)) for name in ALL_VMS)  # running at home
        assert not any(nj.vms_named(name) for name in ALL_VMS)  # no orphans at the recovery site
        for site in lab.sites:  # nothing deleted from any datastore
            assert files[site] <= set(datastore_files(lab, site))
        with dr_sites(None, directory, ["new-york"]) as dr:
            site = dr["new-york"]
            plan = site.srm.plan_by_name(site.pairing_id, "VR Failover")
            assert plan.status == "READY_STATE" and plan.protected_vc_guid == site.local_vc_guid
            out = site.vr.replications(site.pairing_id, source_vc_guid=site.local_vc_guid)
            assert sorted(r.name for r in out) == sorted(ALL_VMS) and {r.state for r in out} == {"OK"}
            assert {r.rpo for r in out} == {15}
            group = site.srm.group_by_name(site.pairing_id, "VR mail")
            assert group.protected_vc_guid == site.local_vc_guid
            assert {v.status for v in site.srm.group_vms(site.pairing_id, group.id)} == {"OK"}

        # Idempotent: planning the same runbook again finds nothing to do.
        assert engine.dry_run(load_runbook(path), directory).action_count == 0
