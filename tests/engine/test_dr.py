"""SRM/VR clients from a lab (and from a runbook), logged in to both sites of the pairing."""

from __future__ import annotations

from pathlib import Path

from srmctl.engine.dr import dr_sites
from srmctl.lab.config import LabConfig


def test_lab_dr_sites_share_one_pairing_and_see_the_protected_world(shared_lab: LabConfig) -> None:
    with dr_sites(None, Path(shared_lab.directory), ["new-york", "new-jersey"]) as sites:
        ny, nj = sites["new-york"], sites["new-jersey"]
        assert shared_lab.srmsim is not None
        assert ny.pairing_id == nj.pairing_id == shared_lab.srmsim.pairing_id
        assert ny.local_vc_guid == nj.remote_vc_guid != ny.remote_vc_guid
        groups = ny.srm.groups(ny.pairing_id)
        assert {g.name for g in groups} == {"VR mail", "VR web"}
        assert [p.name for p in ny.srm.plans(ny.pairing_id)] == ["VR Failover"]
        assert len(nj.vr.replications(nj.pairing_id)) == 4
