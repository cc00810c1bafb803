"""SRM/VR facades from a lab, logged in to both sites of the pairing."""

from __future__ import annotations

from edge import dr_sites

from srmctl.lab.config import LabConfig


def test_lab_dr_sites_share_one_pairing_and_see_the_protected_world(shared_lab: LabConfig) -> None:
    with dr_sites(shared_lab.directory, ["new-york", "new-jersey"]) as sites:
        ny, nj = sites["new-york"], sites["new-jersey"]
        assert shared_lab.srmsim is not None
        # Each server has its own pairing id: srmctl finds each site's through that site's API.
        assert ny.pairing.srm_pairing_id != nj.pairing.srm_pairing_id
        assert ny.pairing.srm_pairing_id == shared_lab.srmsim.pairing_id  # the first site's
        # VR pairings are separate objects with their own ids: srmctl finds the VR one through the VR API.
        assert ny.pairing.vr_pairing_id == shared_lab.srmsim.vr_pairing_id != nj.pairing.vr_pairing_id
        assert ny.pairing.vr_pairing_id != ny.pairing.srm_pairing_id
        assert ny.local_vc_guid == nj.remote_vc_guid != ny.remote_vc_guid
        groups = ny.srm.groups()
        assert {g.name for g in groups} == {"VR mail", "VR web"}
        assert [p.name for p in ny.srm.plans()] == ["VR Failover"]
        assert len(nj.vr.replications()) == 4
