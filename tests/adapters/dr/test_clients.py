"""SrmClient / VrClient against a real srmsim process: sessions, paging, retries, faults, TLS pinning."""

from __future__ import annotations

import time

import pytest
from srmsim_fixtures import PASSWORD, logged_in, make_client

from srmctl.adapters.dr import Credentials, DrApiError
from srmctl.adapters.dr.models import PlanStatus, Task
from srmctl.adapters.tls import TlsPolicy
from srmctl.errors import (
    Ambiguous,
    AuthenticationFailed,
    ConnectionFailed,
    NotFound,
    OperationFailed,
    ThumbprintMismatch,
    TlsVerificationFailed,
)

PLANS = "GET /pairings/{pairing_id}/recovery-management/plans"
GROUPS = "GET /pairings/{pairing_id}/protection-management/groups"


def test_login_and_paging_follow_next_links(srmsim):
    srm = make_client(srmsim, "new-york")
    groups = srm.groups()
    # page_size is 1 and the default topology has 2 groups: two pages, both fetched
    assert sorted(g.name for g in groups) == ["VR mail", "VR web"]
    assert srm.calls[GROUPS] == 2
    assert srm.calls["POST /session"] == 1
    vr = make_client(srmsim, "new-york", "vr")
    vms = vr.vms(srmsim.sites["new-york"].vc_guid)
    assert len(vms) == 4 and all(vm.disks for vm in vms)


def test_lookup_by_name_never_guesses(srmsim):
    srm = make_client(srmsim, "new-york")
    assert srm.plan_by_name("VR Failover").status == PlanStatus.READY_STATE
    with pytest.raises(NotFound):
        srm.plan_by_name("No Such Plan")
    vr = make_client(srmsim, "new-york", "vr")
    with pytest.raises(NotFound):
        vr.vm_by_name(srmsim.sites["new-york"].vc_guid, "ghost")


def test_ambiguous_lookup_lists_candidates():
    from srmctl.adapters.dr import pick_one
    from srmctl.adapters.dr.models import ProtectionGroup

    groups = [ProtectionGroup(id="g1", name="dup"), ProtectionGroup(id="g2", name="dup")]
    with pytest.raises(Ambiguous) as caught:
        pick_one(groups, "protection group", lambda g: g.name, "dup")
    assert caught.value.candidates == ["g1", "g2"]


@pytest.mark.parametrize("status,retry_after", [(503, None), (500, None), (429, 1)])
def test_transient_http_errors_are_retried(srmsim, status, retry_after):
    srm = make_client(srmsim, "new-york")
    srm.login()
    srmsim.fail_http(
        "/pairings/*/recovery-management/plans", method="GET", status=status, count=2, retry_after=retry_after
    )
    started = time.monotonic()
    plans = srm.plans()
    assert [p.name for p in plans] == ["VR Failover"]
    assert srm.calls[PLANS] == 3
    assert srm.retry_stats.retries == 2
    assert srm.retry_stats.by_reason == {f"http_{status}": 2}
    if retry_after:
        assert time.monotonic() - started >= 2 * retry_after  # Retry-After honoured


def test_persistent_5xx_gives_up(srmsim):
    srm = make_client(srmsim, "new-york")
    srm.login()
    srmsim.fail_http("/pairings/*/recovery-management/plans", method="GET", status=503, count=10)
    with pytest.raises(ConnectionFailed):
        srm.plans()
    assert srm.calls[PLANS] == 4  # bounded: FAST_RETRY.max_attempts


def test_4xx_is_not_retried(srmsim):
    srm = make_client(srmsim, "new-york")
    srm.login()
    srmsim.fail_http("/pairings/*/recovery-management/plans", method="GET", status=400, count=1)
    with pytest.raises(DrApiError) as caught:
        srm.plans()
    assert caught.value.status == 400 and caught.value.error_code == "INJECTED_FAULT"
    assert srm.calls[PLANS] == 1


def test_dropped_connection_is_retried(srmsim):
    srm = make_client(srmsim, "new-york")
    srm.login()
    srmsim.drop_connections("/pairings/*/recovery-management/plans", count=1)
    assert len(srm.plans()) == 1
    assert srm.calls[PLANS] == 2
    assert srm.retry_stats.retries == 1


def test_expired_session_relogs_in_including_remote(srmsim):
    srm = logged_in(srmsim, "new-york")
    srm.plans()
    assert srmsim.expire_sessions() > 0
    srm.plans()
    assert srm.calls["POST /session"] == 2
    assert srm.calls["POST /pairings/{pairing_id}/remote-session"] == 2


def test_bad_credentials_fail_authentication(srmsim):
    endpoint = srmsim.sites["new-york"]
    srm = make_client(srmsim, "new-york", credentials=Credentials(endpoint.user, "wrong"))
    with pytest.raises(AuthenticationFailed):
        srm.plans()
    good = make_client(srmsim, "new-york")
    with pytest.raises(AuthenticationFailed):
        good.login_remote(Credentials(endpoint.user, "wrong"))


def test_thumbprint_mismatch_names_both(srmsim):
    wrong = "sha256:" + "ab" * 32
    srm = make_client(srmsim, "new-york", tls=TlsPolicy(thumbprint=wrong))
    with pytest.raises(ThumbprintMismatch) as caught:
        srm.plans()
    assert wrong in str(caught.value) and srmsim.sites["new-york"].thumbprint in str(caught.value)
    assert srm.http.conn.session is None  # refused before credentials were sent


def test_tls_verified_by_default_and_with_ca_file(srmsim):
    endpoint = srmsim.sites["new-york"]
    with pytest.raises(TlsVerificationFailed):
        make_client(srmsim, "new-york", tls=TlsPolicy()).plans()
    trusted = make_client(srmsim, "new-york", tls=TlsPolicy(ca_file=endpoint.cert))
    assert len(trusted.plans()) == 1
    insecure = make_client(srmsim, "new-york", tls=TlsPolicy(insecure=True))
    assert len(insecure.plans()) == 1


def test_site_down_is_a_connection_failure(srmsim):
    srmsim.site_down("new-jersey")
    try:
        with pytest.raises(ConnectionFailed):
            make_client(srmsim, "new-jersey").plans()
    finally:
        srmsim.site_up("new-jersey")


def test_task_error_raises_operation_failed(srmsim):
    srm = logged_in(srmsim, "new-york")
    plan = srm.plan_by_name("VR Failover")
    srmsim.fail_task("Test recovery plan*", message="storage exploded")
    with pytest.raises(OperationFailed, match="storage exploded"):
        srm.test_plan(plan.id, timeout=30)
    assert srm.plan(plan.id).status == "TEST_INTERRUPTED"
    srm.cleanup_plan(plan.id)
    assert srm.plan(plan.id).status == PlanStatus.READY_STATE


def test_task_progress_callbacks_and_timeout(srmsim):
    srm = logged_in(srmsim, "new-york")
    plan = srm.plan_by_name("VR Failover")
    seen: list[Task] = []
    task = srm.test_plan(plan.id, wait=False)
    dismissed = answer_prompts(srm, plan.id, task, seen)
    assert dismissed >= 1  # the default topology's plan has PROMPT callouts
    assert seen and seen[-1].status == "SUCCESS" and seen[-1].progress == 100
    assert len({t.progress for t in seen}) >= 2
    srmsim.slow_tasks("Cleanup recovery plan*", factor=400)
    task = srm.cleanup_plan(plan.id, wait=False)
    with pytest.raises(OperationFailed, match="still"):
        srm.wait_task(task, timeout=0.2)
    srm.wait_task(task, timeout=60)
    assert srm.plan(plan.id).status == PlanStatus.READY_STATE


def answer_prompts(srm, plan_id, task, seen):
    """Wait for a plan task, dismissing each prompt it raises; returns how many were dismissed."""
    dismissed = 0
    deadline = time.monotonic() + 60
    while not task.done and time.monotonic() < deadline:
        for prompt in srm.user_prompts(plan_id):
            srm.dismiss_prompt(plan_id, prompt.id)
            dismissed += 1
        task = srm.get_task(task.id)
        seen.append(task)
        time.sleep(0.02)
    srm.wait_task(task, timeout=1)
    return dismissed


def test_unknown_enum_values_are_kept():
    from srmctl.adapters.dr.models import Replication, text

    replication = Replication.model_validate({"id": "r", "status": {"status": "RECONFIGURING"}})
    assert replication.state == "RECONFIGURING"
    plan_status = Task.model_validate({"id": "t", "status": "PAUSED_BY_ADMIN"}).status
    assert text(plan_status) == "PAUSED_BY_ADMIN"


def test_remote_session_required_for_group_creation(srmsim):
    srm = make_client(srmsim, "new-york")
    # srmsim's default answer for a missing remote login is 401: still refused after a fresh local login.
    with pytest.raises(AuthenticationFailed, match="not authenticated after a fresh login"):
        srm.create_group("x", srmsim.sites["new-york"].vc_guid, [])
    assert PASSWORD  # credentials come from the fixture, never from the test body


def test_bound_and_read_only_copies_share_one_connection_and_lock(srmsim):
    from concurrent.futures import ThreadPoolExecutor

    from srmctl.adapters.guard import ReadOnlyViolation

    unbound = make_client(srmsim, "new-york", pairing_id=None)
    assert unbound.find_pairing().pairing_id == srmsim.pairing_id  # pairing discovery needs no binding
    with pytest.raises(ValueError, match="bound to a pairing"):
        unbound.plans()
    srm = unbound.bound(srmsim.pairing_id)
    view = srm.read_only_view()
    assert view.lock is srm.lock is unbound.lock and view.calls is srm.calls is unbound.calls
    assert [p.name for p in view.plans()] == ["VR Failover"]
    with pytest.raises(ReadOnlyViolation, match=r"DELETE \S*/groups/\{group_id\} refused"):
        view.delete_group("g")
    assert srm.calls[PLANS] == 1 and not any(key.startswith("DELETE") for key in srm.calls)
    # Threads may share the client: their calls overlap on its one connection pool.
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: len(srm.plans()), range(8)))
    assert results == [1] * 8 and srm.calls[PLANS] == 9
    srm.close()


def test_tls_messages_name_the_runbook_keys_not_a_flag(srmsim, caplog):
    # There is no --insecure flag: TLS trust is set per service in the runbook (issue 13).
    where = "sites.new-york.srm"
    with caplog.at_level("WARNING"):
        make_client(srmsim, "new-york", tls=TlsPolicy(insecure=True, where=where)).plans()
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert f"({where}.insecure: true)" in warned and "--insecure" not in warned
    with pytest.raises(TlsVerificationFailed) as caught:
        make_client(srmsim, "new-york", tls=TlsPolicy(where=where)).plans()
    assert f"{where}.thumbprint" in str(caught.value) and f"{where}.insecure: true" in str(caught.value)
