"""The plan states of a site pair's two SRM servers (srmsim/peers.py): RECOVERY_STARTED when the sites
disconnect during a recovery, SYNC_CONFLICT after edits at both sites while disconnected, PARTIAL_RECOVERY and
DIRECTION_ERROR when another plan recovered or reprotected a shared group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from server_http import NJ, NY, PLANS, Server, is_response_error
from srmsim_fixtures import launch

pytestmark = pytest.mark.lab


def _status(server: Server, plan: str) -> str:
    return str(server.named(PLANS, plan)["status"])


def _run(server: Server, plan: str, action: str, body: dict[str, Any] | None = None) -> Any:
    plan_id = server.named(PLANS, plan)["id"]
    return server.post(f"{PLANS}/{plan_id}/actions/{action}", body or {})


def test_a_recovery_the_disconnection_stopped_is_recovery_started_until_the_recovery_site_completes_it(
    tmp_path: Path,
) -> None:
    sim = launch(tmp_path, page_size=50)
    try:
        ny, nj = Server(sim, NY, "srm"), Server(sim, NJ, "srm")
        sim.link(False, during="BEFORE_PREPARE_STORAGE")
        planned = {"planned_failover": True, "sync_data": True}
        stopped = nj.finished(_run(nj, "VR Failover", "recovery", planned).json())
        states = (_status(ny, "VR Failover"), _status(nj, "VR Failover"))
        at_protected = _run(ny, "VR Failover", "recovery", planned)
        disconnected = _run(nj, "VR Failover", "recovery", planned)  # a planned migration needs the peer
        sim.link(True)
        completed = nj.finished(_run(nj, "VR Failover", "recovery", planned).json())
        after = _status(ny, "VR Failover")
    finally:
        sim.stop()
    assert stopped["status"] == "ERROR"
    assert states == ("RECOVERY_STARTED", "RECOVERY_STARTED")
    assert at_protected.status_code == 400 and "log into the recovery site" in at_protected.json()["message"]
    assert disconnected.status_code == 400 and is_response_error(disconnected)
    assert completed["status"] == "SUCCESS" and after == "RECOVERY_COMPLETE"


def test_recovery_settings_edited_at_both_sites_while_disconnected_conflict_until_edited(tmp_path: Path) -> None:
    sim = launch(tmp_path, page_size=50)
    try:
        ny, nj = Server(sim, NY, "srm"), Server(sim, NJ, "srm")

        def priority(server: Server, value: str) -> None:
            plan = server.named(PLANS, "VR Failover")["id"]
            vm = server.listed(f"{PLANS}/{plan}/vms")[0]["id"]
            answer = server.http.put(
                f"/pairings/{server.pid}{PLANS}/{plan}/vms/{vm}/recovery-settings/priority", json={"priority": value}
            )
            assert server.finished(answer.json())["status"] == "SUCCESS"

        def settings_status(server: Server) -> str:
            plan = server.named(PLANS, "VR Failover")["id"]
            vm = server.listed(f"{PLANS}/{plan}/vms")[0]["id"]
            return str(server.get(f"{PLANS}/{plan}/vms/{vm}/recovery-settings").json()["status"])

        sim.link(False)
        priority(ny, "P2")
        one_side = _status(ny, "VR Failover")
        sim.link(True)
        after_one_side = _status(nj, "VR Failover")
        sim.link(False)
        priority(ny, "P2")
        priority(nj, "P4")
        sim.link(True)
        conflict = (_status(ny, "VR Failover"), _status(nj, "VR Failover"), settings_status(nj))
        refused = _run(ny, "VR Failover", "test", {"sync_data": False})
        priority(nj, "P4")  # an edit resolves it
        resolved = (_status(ny, "VR Failover"), settings_status(ny))
    finally:
        sim.stop()
    assert (one_side, after_one_side) == ("READY_STATE", "READY_STATE")  # edits at one site only: no conflict
    assert conflict == ("SYNC_CONFLICT", "SYNC_CONFLICT", "SYNC_CONFLICT")
    assert refused.status_code == 400 and is_response_error(refused)
    assert resolved == ("READY_STATE", "OK")


def test_another_plans_recovery_and_reprotect_of_a_shared_group(tmp_path: Path) -> None:
    sim = launch(tmp_path, page_size=50)
    try:
        ny, nj = Server(sim, NY, "srm"), Server(sim, NJ, "srm")
        plan = ny.named(PLANS, "VR Failover")
        group = ny.listed(f"{PLANS}/{plan['id']}/protection-groups")[0]["id"]
        body = {"name": "Shared", "protected_vc_guid": plan["protected_vc_guid"], "protection_groups": [group]}
        assert ny.finished(ny.post(PLANS, body).json())["status"] == "SUCCESS"
        planned = {"planned_failover": True, "sync_data": True}
        assert nj.finished(_run(nj, "VR Failover", "recovery", planned).json())["status"] == "SUCCESS"
        partial = _status(nj, "Shared")
        test_refused = _run(nj, "Shared", "test", {"sync_data": False})
        assert nj.finished(_run(nj, "VR Failover", "reprotect").json())["status"] == "SUCCESS"
        direction = (_status(ny, "Shared"), _status(nj, "VR Failover"))
        recovery_refused = _run(nj, "Shared", "recovery", planned)
    finally:
        sim.stop()
    assert partial == "PARTIAL_RECOVERY"
    assert test_refused.status_code == 400 and is_response_error(test_refused)
    assert direction == ("DIRECTION_ERROR", "READY_STATE")
    assert recovery_refused.status_code == 400 and is_response_error(recovery_refused)
