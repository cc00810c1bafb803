"""VCenterOps keeps its inventory between steps only while this process changed nothing (the change
generation of adapters/guard.py), against a real vcsim."""

from __future__ import annotations

from srmctl.adapters.vcenter.connection import connect
from srmctl.adapters.vcenter.facade import VCenterOps
from srmctl.lab.config import LabConfig


def test_the_inventory_is_kept_until_a_change_then_read_again(fresh_lab: LabConfig) -> None:
    session = connect(fresh_lab.vcenter_endpoint("new-york"))
    try:
        ops, other_site = VCenterOps(session, "new-york"), VCenterOps(session, "new-york")
        first = ops.inventory()
        ops.invalidate_if_changed()
        assert ops.inventory() is first  # nothing changed: no second PropertyCollector retrieval
        other_site.set_marker("srmctl.test", "changed")  # a change through another facade counts too
        ops.invalidate_if_changed()
        again = ops.inventory()
        assert again is not first and {v.name for v in again.vms} == {v.name for v in first.vms}
        ops.invalidate_if_changed()
        assert ops.inventory() is again
    finally:
        session.close()
