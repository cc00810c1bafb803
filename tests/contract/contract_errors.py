"""Real error answers, at least one per API family, provoked through srmctl's own clients with requests the
spec accepts (so only the answer is an error) and recorded for the contract tests."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from contract_spec import Operation
from srmsim_fixtures import PASSWORD, make_client

from srmctl.adapters.dr import Credentials, DrApiError, SrmClient, VrClient
from srmctl.adapters.dr.models import CalloutSpec, ConfigureReplicationSpec, ReplicationDiskSpec
from srmctl.errors import AuthenticationFailed

# API families, by the first path fragment that names one (more specific fragments first).
_FAMILIES = (
    ("/session", "sessions"),
    ("/remote-session", "sessions"),
    ("/recovery-settings", "recovery settings"),
    ("/recovery-steps", "recovery steps"),
    ("/protection-management/groups", "groups"),
    ("/recovery-management/plans", "plans"),
    ("/replicated-vms", "replications"),
    ("/replications", "replications"),
    ("/vms", "inventory"),
    ("/datastores", "inventory"),
    ("/tasks/", "tasks"),
    ("/pairings", "pairings"),
    ("/server/info", "pairings"),
    ("/info", "pairings"),
)
FAMILIES = {
    "srm": {"sessions", "pairings", "groups", "plans", "recovery settings", "recovery steps", "replications", "tasks"},
    "vr": {"sessions", "pairings", "replications", "inventory", "tasks"},
}


def family(operation: Operation) -> str:
    _, _, path = operation
    return next(name for fragment, name in _FAMILIES if fragment in path)


def _refused(call: Callable[[], Any], status: int, code: str | None = None) -> None:
    try:
        call()
    except DrApiError as error:
        assert error.status == status and (code is None or error.error_code == code), error
    except AuthenticationFailed:
        # POST /session's documented refusal, or a call refused 401 again after a fresh login (no remote login:
        # srmsim's default lapse answer, srmsim/remote.py).
        assert (status, code) in ((400, "UNAUTHENTICATED"), (401, None))
    else:
        raise AssertionError(f"expected HTTP {status} {code or ''}")


def provoke_errors(sim: Any, hooks: dict[str, Any]) -> None:
    """One or more spec-documented error answers per family; 400s carry the ResponseError body, 404s none."""
    for kind in ("srm", "vr"):
        wrong = make_client(
            sim,
            "new-york",
            kind,
            event_hooks=hooks,
            credentials=Credentials(sim.sites["new-york"].user, "not-the-password"),
        )
        _refused(wrong.login, 400, "UNAUTHENTICATED")
        local = make_client(sim, "new-york", kind, event_hooks=hooks)  # not logged in to new-jersey
        _refused(local.bound("no-such-pairing").pairing, 404)
        _refused(partial(local.get_task, "no-such-task"), 404)
        (_srm_errors if kind == "srm" else _vr_errors)(sim, local, hooks)
        wrong.close()
        local.close()


def _srm_errors(sim: Any, srm: SrmClient, hooks: dict[str, Any]) -> None:
    _refused(partial(srm.replicated_vms, sim.sites["new-jersey"].vc_guid), 401)
    srm.login_remote(Credentials(sim.sites["new-jersey"].user, PASSWORD))
    plan = srm.plan_by_name("VR Failover")
    # The peer server's ids are not this server's (srmsim/ids.py): in the URL 404, in a body 400.
    peer = make_client(sim, "new-jersey", "srm", event_hooks=hooks)
    peer.login_remote(Credentials(sim.sites["new-york"].user, PASSWORD))
    peer_plan, peer_group = peer.plan_by_name("VR Failover"), peer.plan_groups(peer.plan_by_name("VR Failover").id)[0]
    peer.close()
    _refused(partial(srm.plan, peer_plan.id), 404)
    _refused(partial(srm.reconfigure_plan, plan.id, protection_groups=[peer_group.id]), 400, "INVALID_ID")
    _refused(partial(srm.cancel_plan, plan.id), 400, "PLAN_NOT_RUNNING")
    _refused(partial(srm.delete_group, srm.plan_groups(plan.id)[0].id), 400, "GROUP_IN_USE")
    first, second = srm.plan_vms(plan.id)[:2]
    before = [d.id for d in srm.dependent_vms(plan.id, first.id)]
    srm.set_dependent_vms(plan.id, first.id, [second.id])
    _refused(partial(srm.set_dependent_vms, plan.id, second.id, [first.id]), 400, "CYCLE_DETECTED")
    srm.set_dependent_vms(plan.id, first.id, before)
    callout = CalloutSpec(name="x", content="x", callout_type="RUN_ON_SRM_SERVER", timeout_seconds=5, position=0)
    _refused(partial(srm.create_plan_callout, plan.id, "cleanup", callout), 400, "INVALID_VIEW_MODE")
    _refused(partial(srm.history_report, plan.id, "999999"), 404)
    _refused(partial(srm.history_reports, plan.id, start_ms=2, end_ms=1), 400, "INVALID_PARAMETER")


def _vr_errors(sim: Any, vr: VrClient, hooks: dict[str, Any]) -> None:
    ny, nj = sim.sites["new-york"].vc_guid, sim.sites["new-jersey"].vc_guid
    _refused(partial(vr.datastores, nj), 401)
    vm = vr.vms(ny)[0]  # the remote check comes before any other
    spec = ConfigureReplicationSpec(
        vm_id=vm.id,
        target_vc_id=nj,
        rpo=15,
        disks=(
            ReplicationDiskSpec(
                vm_disk=vm.disks[0].model_dump(mode="json", exclude_none=True), destination_datastore_id="datastore-1"
            ),
        ),
    )
    _refused(partial(vr.configure_replications, [spec]), 401)
