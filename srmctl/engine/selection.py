"""``select:``: the VMs a runbook names by what protects them (a recovery plan or protection group), as
VM names. The one place this is resolved; ``run`` journals the result, ``check`` reports on it."""

from __future__ import annotations

from srmctl.adapters.dr.site import DrSite
from srmctl.runbook import Runbook


def selected_vm_names(runbook: Runbook, dr: DrSite) -> tuple[str, ...]:
    """The runbook's VM names: listed ones as given, selected ones read from SRM (sorted, no repeats)."""
    if runbook.select is None:
        return runbook.vm_names
    if runbook.select.recovery_plan:
        plan = dr.srm.plan_by_name(runbook.select.recovery_plan)
        names = [vm.name for vm in dr.srm.plan_vms(plan.id)]
    else:
        assert runbook.select.protection_group is not None
        group = dr.srm.group_by_name(runbook.select.protection_group)
        names = [vm.name for vm in dr.srm.group_vms(group.id)]
    return tuple(sorted(set(names)))
