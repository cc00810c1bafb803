"""One VM's part in a plan run (test or recovery): what SRM does when that VM fails, when it was recovered
by an earlier run, and when it has no placeholder.

- A VM that fails does not stop the others: SRM records the error against that VM and goes on; the run
  ends with errors (srm-api-v2 ``RecoveryPlanVmInfo.status`` RECOVERY_ERROR / TEST_ERROR; the plan
  INCOMPLETE_RECOVERY: "The recovery operation encountered errors").
- Running the recovery again leaves the VMs recovered before alone: INCOMPLETE_RECOVERY "Virtual machines
  that have already been successfully recovered will not be affected by running the recovery again".
- A VM whose placeholder is gone is not recovered: "When you recover a protected virtual machine by testing
  or running a recovery plan, Site Recovery Manager replaces the placeholder with the recovered virtual
  machine" (SRM administration, "About Placeholder Virtual Machines"), and a VM whose placeholder was
  deleted is PLACEHOLDER_VM_DELETED until restore-all-placeholders repairs it (spec,
  ``VmProtectionStatusDetails``).

A test can make one VM fail with a task fault whose pattern matches :func:`fault_description` (``POST
/srmsim/task-faults``, ``{"task": "Recover VM web01"}``).
"""

from __future__ import annotations

from srmctl.srmsim.model import SimGroup, SimVm
from srmctl.srmsim.world import Failed, World


def fault_description(role: str, vm: SimVm) -> str:
    """What a task fault names to make ``vm`` fail in a recovery (``Recover VM x``) or a test (``Test VM x``)."""
    return f"{'Test' if role == 'test' else 'Recover'} VM {vm.name}"


def injected(world: World, role: str, vm: SimVm) -> None:
    """Fail ``vm``'s recovery when a task fault names it (tests)."""
    with world.lock:
        fault = world.take_task_fault(fault_description(role, vm))
    if fault is not None and fault.kind == "error":
        raise Failed(f"VM {vm.name}: {fault.message}")


def recovered_copy(world: World, vm: SimVm, target: str) -> SimVm | None:
    """``vm``'s recovered VM at ``target`` registered by an earlier run (the same protected VM: its original
    instance UUID), if any. Caller holds the world lock."""
    identity = vm.original_uuid or vm.instance_uuid
    return next(
        (
            v
            for v in world.site(target).vms.values()
            if v.role == "replica" and v.registered and v.name == vm.name and v.original_uuid == identity
        ),
        None,
    )


def missing_placeholder(world: World, group: SimGroup | None, vm: SimVm, target: str) -> str:
    """Why ``vm`` cannot be recovered without a placeholder at ``target``."""
    status, errors = (group.configured.get(vm.id) if group else None) or ("PLACEHOLDER_VM_DELETED", [])
    if status == "OK":
        status, errors = "PLACEHOLDER_VM_DELETED", ["the placeholder VM was deleted"]
    detail = f": {'; '.join(errors)}" if errors else ""
    return (
        f"VM {vm.name} has no placeholder VM at {target} ({status}{detail}); "
        "repair it with restore-all-placeholders or configure-all-vms"
    )


def failed_vms(failures: dict[str, str]) -> Failed:
    """The run's error once every VM has had its turn: each failed VM with its reason."""
    listed = "; ".join(f"{name}: {reason}" for name, reason in sorted(failures.items()))
    return Failed(f"{len(failures)} VM(s) failed: {listed}")
