"""Remote sessions expire on their own (srmsim ``remote_session_ttl``): a call refused with 400
``REMOTE_SITE_NOT_AUTHENTICATED`` while the local session lives logs in to the paired site again and is retried
once, counted with the retries; never without remembered remote credentials, never twice."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from srmsim_fixtures import launch, logged_in, make_client

from srmctl.adapters.dr import DrApiError

pytestmark = pytest.mark.lab

REMOTE_LOGIN = "POST /pairings/{pairing_id}/remote-session"
REPLICATED = "GET /pairings/{pairing_id}/vcenters/{vcenter_id}/replicated-vms"
DATASTORES = "GET /pairings/{pairing_id}/vcenters/{vcenter_id}/datastores"


def test_a_lapsed_remote_login_is_renewed_and_the_call_retried(tmp_path: Path) -> None:
    sim = launch(tmp_path, page_size=500, remote_session_ttl=0.3)
    try:
        nj = sim.sites["new-jersey"].vc_guid
        srm, vr = logged_in(sim, "new-york"), logged_in(sim, "new-york", "vr")
        srm.replicated_vms(nj), vr.datastores(nj)  # the paired vCenter: needs the remote login
        time.sleep(0.6)  # the remote logins lapse; the local sessions live on
        srm.replicated_vms(nj), vr.datastores(nj)
    finally:
        sim.stop()
    for client, call in ((srm, REPLICATED), (vr, DATASTORES)):
        assert client.calls[REMOTE_LOGIN] == 2 and client.calls["POST /session"] == 1
        assert client.calls[call] == 3  # once, then refused and retried once
        assert client.retry_stats.by_reason == {"RemoteLoginLapsed": 1}


def test_the_remote_renewal_is_tried_once_and_only_with_remembered_credentials(tmp_path: Path) -> None:
    sim = launch(tmp_path, page_size=500, remote_session_ttl=0)  # every remote login has lapsed by the next call
    try:
        nj = sim.sites["new-jersey"].vc_guid
        srm = logged_in(sim, "new-york")
        with pytest.raises(DrApiError, match="REMOTE_SITE_NOT_AUTHENTICATED"):
            srm.replicated_vms(nj)
        never = make_client(sim, "new-york")  # never logged in to new-jersey: nothing to renew
        with pytest.raises(DrApiError, match="REMOTE_SITE_NOT_AUTHENTICATED"):
            never.replicated_vms(nj)
    finally:
        sim.stop()
    assert srm.calls[REMOTE_LOGIN] == 2 and srm.calls[REPLICATED] == 2
    assert never.calls[REMOTE_LOGIN] == 0 and never.calls[REPLICATED] == 1
    assert never.retry_stats.retries == 0
