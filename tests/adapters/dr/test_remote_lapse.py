"""Remote sessions expire on their own (srmsim ``remote_session_ttl``). Neither spec names the answer to a call
whose remote login lapsed, so srmsim answers what it is configured to (401, 400 or 500: srmsim/remote.py) and
srmctl must renew the remote login once on each, counted with the retries; never without remembered remote
credentials, never twice, and never when the remote login lives (a genuine refusal)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from srmsim_fixtures import launch, logged_in, make_client

from srmctl.adapters.dr import DrApiError
from srmctl.errors import AuthenticationFailed

pytestmark = pytest.mark.lab

REMOTE_LOGIN = "POST /pairings/{pairing_id}/remote-session"
REPLICATED = "GET /pairings/{pairing_id}/vcenters/{vcenter_id}/replicated-vms"
DATASTORES = "GET /pairings/{pairing_id}/vcenters/{vcenter_id}/datastores"


@pytest.mark.parametrize("status", [401, 400, 500])
def test_a_lapsed_remote_login_is_renewed_and_the_call_retried(tmp_path: Path, status: int) -> None:
    sim = launch(tmp_path, page_size=500, remote_session_ttl=0.3, remote_lapse_status=status)
    try:
        nj = sim.sites["new-jersey"].vc_guid
        srm, vr = logged_in(sim, "new-york"), logged_in(sim, "new-york", "vr")
        srm.replicated_vms(nj), vr.datastores(nj)  # the paired vCenter: needs the remote login
        time.sleep(0.6)  # the remote logins lapse; the local sessions live on
        srm.replicated_vms(nj), vr.datastores(nj)
    finally:
        sim.stop()
    for client, call in ((srm, REPLICATED), (vr, DATASTORES)):
        assert client.calls[REMOTE_LOGIN] == 2  # logged in there once more
        if status == 401:  # a rejected session: a fresh login, which logs in to the paired site too
            assert client.calls["POST /session"] == 2 and client.calls[call] == 3
        else:
            assert client.calls["POST /session"] == 1
            assert client.retry_stats.by_reason.get("RemoteLoginLapsed") == 1
        if status == 400:
            assert client.calls[call] == 3  # once, then refused and retried once


@pytest.mark.parametrize("status", [401, 400, 500])
def test_the_remote_renewal_is_tried_once_and_only_with_remembered_credentials(tmp_path: Path, status: int) -> None:
    # Every remote login has lapsed by the next call.
    sim = launch(tmp_path, page_size=500, remote_session_ttl=0, remote_lapse_status=status)
    try:
        nj = sim.sites["new-jersey"].vc_guid
        srm = logged_in(sim, "new-york")
        with pytest.raises((DrApiError, AuthenticationFailed)):
            srm.replicated_vms(nj)
        never = make_client(sim, "new-york")  # never logged in to new-jersey: nothing to renew
        with pytest.raises((DrApiError, AuthenticationFailed)):
            never.replicated_vms(nj)
    finally:
        sim.stop()
    assert srm.calls[REMOTE_LOGIN] == 2  # renewed once, not again
    assert never.calls[REMOTE_LOGIN] == 0


def test_a_genuine_refusal_renews_nothing(tmp_path: Path) -> None:
    """A 400 while the remote login lives (the plan is not running) is the answer, not a lapse."""
    sim = launch(tmp_path, page_size=500, remote_lapse_status=400)
    try:
        srm = logged_in(sim, "new-york")
        plan = srm.plan_by_name("VR Failover")
        with pytest.raises(DrApiError, match="PLAN_NOT_RUNNING"):
            srm.cancel_plan(plan.id)
    finally:
        sim.stop()
    assert srm.calls[REMOTE_LOGIN] == 1 and srm.retry_stats.by_reason.get("RemoteLoginLapsed") is None
