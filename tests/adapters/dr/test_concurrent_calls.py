"""Calls from several threads through one DR client overlap on the wire, and a session rejected under all of
them is renewed by one login (against a real srmsim)."""

from __future__ import annotations

import threading
from typing import Any

from srmsim_fixtures import logged_in

from srmctl.adapters.dr.transport import READS_IN_FLIGHT

SETTINGS = "GET /pairings/{pairing_id}/recovery-management/plans/{plan_id}/vms/{vm_id}/recovery-settings"
SETTINGS_PATH = "/pairings/*/recovery-management/plans/*/vms/*/recovery-settings"


class InFlight:
    """httpx event hooks counting the requests sent and not yet answered; remembers the most at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0

    def sent(self, request: Any) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def answered(self, response: Any) -> None:
        with self._lock:
            self.now -= 1

    def hooks(self) -> dict[str, list[Any]]:
        return {"request": [self.sent], "response": [self.answered]}


def _plan_and_vms(srm: Any) -> tuple[str, list[str]]:
    plan = srm.plans()[0]
    return plan.id, [vm.id for vm in srm.plan_vms(plan.id)]


def test_settings_reads_overlap_but_stay_within_the_bound(srmsim) -> None:
    flight = InFlight()
    srm = logged_in(srmsim, "new-york", event_hooks=flight.hooks())
    plan_id, vm_ids = _plan_and_vms(srm)
    assert len(vm_ids) >= 2
    # Each GET waits a second in front of srmsim's handlers: one after another, never two in flight.
    srmsim.delay(SETTINGS_PATH, 1.0, count=len(vm_ids))
    states = srm.recovery_settings_of(plan_id, vm_ids)
    assert 2 <= flight.most <= READS_IN_FLIGHT
    assert srm.calls[SETTINGS] == len(vm_ids)
    assert {vm_id: srm.recovery_settings(plan_id, vm_id) for vm_id in vm_ids} == states


def test_replicated_disks_reads_overlap_but_stay_within_the_bound(srmsim) -> None:
    """metadata.snapshot reads every VM's replicated disks (VR lists them one replication at a time): at a
    thousand VMs, one after another cost 80 s of a failback."""
    flight = InFlight()
    vr = logged_in(srmsim, "new-york", "vr", event_hooks=flight.hooks())
    ids = [r.id for r in vr.replications()]
    assert len(ids) >= 2
    srmsim.delay("/pairings/*/replications/*/disks", 1.0, count=len(ids))
    disks = vr.replication_disks_of(ids)
    assert 2 <= flight.most <= READS_IN_FLIGHT
    # one listing per replication (more than one GET where srmsim's one-item pages split a VM's disks)
    assert vr.calls["GET /pairings/{pairing_id}/replications/{replication_id}/disks"] >= len(ids)
    assert disks == {replication_id: vr.replication_disks(replication_id) for replication_id in ids}


def test_calls_rejected_together_log_in_again_once(srmsim) -> None:
    srm = logged_in(srmsim, "new-york")
    plan_id, vm_ids = _plan_and_vms(srm)
    assert srmsim.expire_sessions() > 0
    srmsim.delay(SETTINGS_PATH, 0.5, count=len(vm_ids))  # all of them in flight with the dead session
    srm.recovery_settings_of(plan_id, vm_ids)
    assert srm.calls["POST /session"] == 2
    assert srm.calls["POST /pairings/{pairing_id}/remote-session"] == 2
