"""Finding the runbook's VMs in a site's inventory: by name, and by instance UUID when the runbook gives one."""

from __future__ import annotations

from srmctl.adapters.vcenter.inventory import Inventory, VmRecord
from srmctl.runbook import Vm


def matching(inventory: Inventory, vm: Vm) -> tuple[VmRecord, ...]:
    """Registered VMs that are ``vm``. SRM placeholders and templates are never the VM itself."""
    return tuple(
        record
        for record in inventory.vms_named(vm.name)
        if not record.is_placeholder
        and not record.template
        and (vm.instance_uuid is None or record.instance_uuid.lower() == vm.instance_uuid)
    )


def describe(vm: Vm) -> str:
    return vm.name + (f" (instance UUID {vm.instance_uuid})" if vm.instance_uuid else "")
