"""srmsim's protection-group and recovery-plan state machines (srmsim/states.py, vm_recovery.py), on an
in-memory world seeded from the default topology plus a second plan, "Web only", that shares "VR web":
groups in use refuse edits and make the other plan PROTECTION_GROUPS_IN_USE, a failed cleanup leaves the
groups Testing, a VM that fails does not stop the others and a re-run recovers only it, a cancelled run ends
CANCELLED, test VMs take their placeholder's place under the VM's own name, and a deleted placeholder is
reported and stops that VM's recovery."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from srmctl.labkit.topology import Topology, load_topology
from srmctl.srmsim import groups, placeholders, plans, render, reprotect, runs, seed
from srmctl.srmsim.model import SimError, SimPlan, SimTask, TaskFault
from srmctl.srmsim.world import World

NY, NJ = "new-york", "new-jersey"
USER = "tester@vsphere.local"


def shared_topology() -> Topology:
    data: dict[str, Any] = load_topology().model_dump()
    data["recovery_plans"].append({"name": "Web only", "protection_groups": ["VR web"]})
    return Topology.model_validate(data)


@pytest.fixture
def world(tmp_path: Path) -> World:
    world = World(tick=0.001)
    seed.build(world, shared_topology(), tmp_path / "datastores", {})
    world.auto_dismiss_prompts = True
    return world


def plan_named(world: World, name: str) -> SimPlan:
    return next(p for p in world.plans.values() if p.name == name)


def group_id(world: World, name: str) -> str:
    return next(g.id for g in world.groups.values() if g.name == name)


def status(world: World, name: str) -> str:
    return str(render.plan(world, plan_named(world, name))["status"])


def group_states(world: World) -> dict[str, str]:
    return {g.name: g.status for g in world.groups.values()}


def done(world: World, task: SimTask) -> SimTask:
    world.wait_idle(timeout=30)
    return task


def test_a_plan_sharing_a_group_with_a_tested_plan_is_in_use_and_nothing_edits_the_group(world: World) -> None:
    failover = plan_named(world, "VR Failover")
    assert done(world, runs.run_test(world, NY, failover.id, {"sync_data": False}, user=USER)).status == "SUCCESS"
    assert status(world, "VR Failover") == "TEST_COMPLETE"
    assert status(world, "Web only") == "PROTECTION_GROUPS_IN_USE"
    web = group_id(world, "VR web")
    refusals = [
        lambda: runs.run_test(world, NY, plan_named(world, "Web only").id, {}, user=USER),
        lambda: runs.run_recovery(world, NJ, plan_named(world, "Web only").id, {"planned_failover": True}, user=USER),
        lambda: groups.reconfigure_group(world, NY, web, {"name": "VR web", "description": "changed"}),
        lambda: groups.reconfigure_group(world, NY, web, {"name": "VR web", "hbr_spec": {"vms": []}}),
        lambda: groups.delete_group(world, NY, web),
        lambda: placeholders.configure_all(world, NY, web),
        lambda: plans.reconfigure_plan(world, NY, plan_named(world, "Web only").id, {"protection_groups": []}),
    ]
    for refused in refusals:
        with pytest.raises(SimError) as error:
            refused()
        assert error.value.status == 400
    assert done(world, runs.run_cleanup(world, NY, failover.id, {}, user=USER)).status == "SUCCESS"
    assert (status(world, "VR Failover"), status(world, "Web only")) == ("READY_STATE", "READY_STATE")
    assert set(group_states(world).values()) == {"OK"}
    assert done(world, runs.run_test(world, NY, plan_named(world, "Web only").id, {}, user=USER)).status == "SUCCESS"
    assert status(world, "VR Failover") == "PROTECTION_GROUPS_IN_USE"


def test_a_failed_cleanup_leaves_the_groups_testing_until_a_cleanup_succeeds(world: World) -> None:
    failover = plan_named(world, "VR Failover")
    done(world, runs.run_test(world, NY, failover.id, {}, user=USER))
    world.add_task_fault(TaskFault(pattern="Cleanup recovery plan*", kind="error", count=1, message="storage"))
    assert done(world, runs.run_cleanup(world, NY, failover.id, {}, user=USER)).status == "ERROR"
    assert status(world, "VR Failover") == "CLEANUP_INCOMPLETE"
    assert group_states(world) == {"VR mail": "TESTING", "VR web": "TESTING"}
    assert status(world, "Web only") == "PROTECTION_GROUPS_IN_USE"
    assert done(world, runs.run_cleanup(world, NY, failover.id, {}, user=USER)).status == "SUCCESS"
    assert set(group_states(world).values()) == {"OK"}
    assert status(world, "Web only") == "READY_STATE"


def test_test_vms_take_their_placeholders_place_under_the_vm_name(world: World) -> None:
    failover = plan_named(world, "VR Failover")
    nj = world.site(NJ)
    names = {"mail04", "db01", "web01", "web02"}
    done(world, runs.run_test(world, NY, failover.id, {}, user=USER))
    registered = [v for v in nj.vms.values() if v.registered]
    assert {v.name for v in registered if v.role == "test"} == names
    assert not [v for v in registered if v.role == "placeholder"]
    done(world, runs.run_cleanup(world, NY, failover.id, {}, user=USER))
    registered = [v for v in nj.vms.values() if v.registered]
    assert {v.name for v in registered if v.role == "placeholder"} == names
    assert not [v for v in nj.vms.values() if v.role == "test"]


def test_recovered_groups_only_lose_vms_and_a_plan_sharing_them_is_partially_recovered(world: World) -> None:
    failover = plan_named(world, "VR Failover")
    task = runs.run_recovery(world, NJ, failover.id, {"planned_failover": True, "sync_data": True}, user=USER)
    assert done(world, task).status == "SUCCESS"
    assert status(world, "Web only") == "PARTIAL_RECOVERY"
    web = world.group(group_id(world, "VR web"))
    mail04 = next(v.id for v in world.site(NY).vms.values() if v.name == "mail04")
    with pytest.raises(SimError, match="can only be removed"):
        groups.reconfigure_group(world, NY, web.id, {"name": "VR web", "hbr_spec": {"vms": [*web.vm_ids, mail04]}})
    with pytest.raises(SimError, match="cannot be configured"):
        placeholders.configure_all(world, NY, web.id)
    done(world, groups.reconfigure_group(world, NY, web.id, {"name": "VR web", "hbr_spec": {"vms": web.vm_ids[:2]}}))
    assert len(web.vm_ids) == 2
    # Running the sharing plan recovers nothing twice: each VM has one recovered VM at new-jersey.
    task = runs.run_recovery(world, NJ, plan_named(world, "Web only").id, {"planned_failover": True}, user=USER)
    assert done(world, task).status == "SUCCESS"
    assert status(world, "Web only") == "RECOVERY_COMPLETE"
    replicas = Counter(v.name for v in world.site(NJ).vms.values() if v.role == "replica" and v.registered)
    assert set(replicas.values()) == {1} and len(replicas) == 4


def test_a_vm_that_fails_does_not_stop_the_others_and_a_rerun_recovers_only_it(world: World) -> None:
    failover = plan_named(world, "VR Failover")
    world.add_task_fault(TaskFault(pattern="Recover VM web02", kind="error", count=1, message="no host"))
    spec = {"planned_failover": True, "sync_data": True}
    task = done(world, runs.run_recovery(world, NJ, failover.id, spec, user=USER))
    assert task.status == "ERROR" and task.error is not None and "web02: VM web02: no host" in task.error
    assert status(world, "VR Failover") == "INCOMPLETE_RECOVERY"
    assert group_states(world) == {"VR mail": "PARTIALLY_RECOVERED", "VR web": "PARTIALLY_RECOVERED"}
    vm_states = {v["name"]: v["status"] for v in _plan_vms(world, failover)}
    assert vm_states == {
        "db01": "RECOVERY_SUCCEEDED",
        "mail04": "RECOVERY_SUCCEEDED",
        "web01": "RECOVERY_SUCCEEDED",  # P3 like web02, and depends on it: SRM still tries it
        "web02": "RECOVERY_ERROR",
    }
    recovered = {v.name for v in world.site(NJ).vms.values() if v.role == "replica"}
    assert recovered == {"db01", "mail04", "web01"}
    assert done(world, runs.run_recovery(world, NJ, failover.id, spec, user=USER)).status == "SUCCESS"
    assert status(world, "VR Failover") == "RECOVERY_COMPLETE"
    replicas = Counter(v.name for v in world.site(NJ).vms.values() if v.role == "replica")
    assert replicas == Counter({"db01": 1, "mail04": 1, "web01": 1, "web02": 1})


def test_a_cancelled_test_ends_cancelled_and_needs_a_cleanup(world: World) -> None:
    world.auto_dismiss_prompts = False  # the plan waits at its first prompt
    failover = plan_named(world, "VR Failover")
    task = runs.run_test(world, NY, failover.id, {}, user=USER)
    deadline = time.monotonic() + 20
    while failover.status != "WAITING_FOR_USER_INPUT":
        assert time.monotonic() < deadline, "the test never reached its prompt"
        time.sleep(0.005)
    runs.cancel(world, failover.id)
    done(world, task)
    assert (task.status, task.error) == ("CANCELLED", "cancelled by user")
    assert world.history[-1].result_state == "CANCELLED"
    assert "CANCELLED" in failover.step_status["test"].values()
    assert status(world, "VR Failover") == "TEST_INTERRUPTED"
    assert set(group_states(world).values()) == {"TESTING"}
    world.auto_dismiss_prompts = True
    assert done(world, runs.run_cleanup(world, NY, failover.id, {}, user=USER)).status == "SUCCESS"
    assert status(world, "VR Failover") == "READY_STATE"


def test_a_deleted_placeholder_is_reported_and_that_vm_is_not_recovered(world: World) -> None:
    failover = plan_named(world, "VR Failover")
    nj = world.site(NJ)
    gone = next(v for v in nj.vms.values() if v.role == "placeholder" and v.name == "web01")
    del nj.vms[gone.id]  # someone deleted it at new-jersey
    web = world.group(group_id(world, "VR web"))
    placeholders.check_deleted(world, [web.id])
    statuses = {world.find_vm(v).name: render.group_vm(world, web, v)["protection_status_details"] for v in web.vm_ids}
    assert statuses["web01"]["status"] == "PLACEHOLDER_VM_DELETED"
    assert web.status == "NOT_CONFIGURED"
    task = runs.run_recovery(world, NJ, failover.id, {"planned_failover": True}, user=USER)
    assert done(world, task).status == "ERROR" and "web01 has no placeholder VM" in (task.error or "")
    assert {v.name for v in nj.vms.values() if v.role == "replica"} == {"db01", "mail04", "web02"}


def test_a_reprotect_that_cannot_place_a_placeholder_is_incomplete_then_completes(world: World) -> None:
    failover = plan_named(world, "VR Failover")
    done(world, runs.run_recovery(world, NJ, failover.id, {"planned_failover": True}, user=USER))
    sharing = plan_named(world, "Web only")
    done(world, runs.run_recovery(world, NJ, sharing.id, {"planned_failover": True}, user=USER))
    done(world, plans.reconfigure_plan(world, NJ, sharing.id, {"protection_groups": []}))
    ny_datastores = world.placeholder_datastores.pop(NY)  # new-york has no placeholder datastore (yet)
    task = done(world, reprotect.run_reprotect(world, NJ, failover.id, {}, user=USER))
    assert task.status == "ERROR" and "placeholder VMs could not be created" in (task.error or "")
    assert status(world, "VR Failover") == "INCOMPLETE_REPROTECT"
    assert set(group_states(world).values()) == {"PARTIALLY_REPROTECTED"}
    world.placeholder_datastores[NY] = ny_datastores
    assert done(world, reprotect.run_reprotect(world, NJ, failover.id, {}, user=USER)).status == "SUCCESS"
    assert status(world, "VR Failover") == "READY_STATE"
    assert set(group_states(world).values()) == {"OK"}


def test_the_scenarios_recover_each_plan_sharing_a_group_once(world: World) -> None:
    world.auto_dismiss_prompts = False
    seed.reach(world, "planned-migration")
    assert (status(world, "VR Failover"), status(world, "Web only")) == ("RECOVERY_COMPLETE", "RECOVERY_COMPLETE")
    replicas = Counter(v.name for v in world.site(NJ).vms.values() if v.role == "replica")
    assert replicas == Counter({"db01": 1, "mail04": 1, "web01": 1, "web02": 1})


def _plan_vms(world: World, plan: SimPlan) -> list[dict[str, Any]]:
    return [render.plan_vm(world, plan, vm, g) for vm, g in plans.plan_vms(world, plan)]
