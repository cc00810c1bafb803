"""Where SRM will put each VM's placeholder, and what would stop it: part of ``preflight.check``.

SRM creates a placeholder VM at the recovery site for every VM of a protection group, in the folder and
resource pool (and on the networks) the protected site's SRM maps the VM's own to, on one of the recovery
site's placeholder datastores. A missing mapping makes the VM ``MISSING_MAPPING``; no placeholder datastore
leaves it ``NOT_CONFIGURED``; a VM of the same name already in the mapped folder makes it
``PLACEHOLDER_CREATION_ERROR`` (SRM REST API ``VmProtectionStatusDetails``; docs/architecture.md, failback
sequence). Two directions matter to a failback:

- the reverse one (the site the VMs run at protecting them to their home site), which ``groups.create`` (or
  SRM's reprotect) needs: placeholders at home, where ``orphans.unregister`` has removed the VMs' stale
  copies by then, so those copies never count as blocking;
- the original one (home protecting them to the other site again), which ``protection.restore`` needs once
  the VMs are home, in the objects the reverse mappings put them in.

Nothing here changes anything; every problem is returned, so that preflight lists them all at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from srmctl.adapters.dr.srm_mappings import InventoryMappings
from srmctl.adapters.vcenter.inventory import Inventory, VmRecord
from srmctl.runbook import Vm
from srmctl.steps.context import StepContext
from srmctl.steps.vms import describe, matching


@dataclass(frozen=True)
class _Direction:
    protected: str  # the site whose SRM maps its objects (where the VMs run while protected)
    recovery: str  # where the placeholders go
    mappings: InventoryMappings  # the protected site's SRM
    recovery_datastores: int  # placeholder datastores configured at the recovery site
    needed_by: str  # the step that needs it, for the messages

    def label(self) -> str:
        return f"{self.protected} -> {self.recovery}, needed by {self.needed_by}"


def placement_problems(ctx: StepContext, vms: Iterable[Vm]) -> list[str]:
    """Every missing mapping, missing placeholder datastore and same-named VM in the way, for the directions
    this run's steps need; none when the run does not connect to SRM (vCenter-only steps)."""
    runbook = ctx.runbook
    running, home = ctx.source, ctx.target
    if running not in ctx.dr_sites or home not in ctx.dr_sites:
        return []
    steps = set(runbook.effective_steps)
    reverse_needed = "groups.create" in steps or "plan.reprotect" in steps
    original_needed = "protection.restore" in steps
    if not (reverse_needed or original_needed):
        return []
    at = {site: ctx.dr(site).srm.inventory_mappings() for site in (running, home)}
    inventories = {running: ctx.ops(running).inventory(), home: ctx.ops(home).inventory()}
    reverse = _Direction(
        running,
        home,
        at[running],
        len(at[home].placeholder_datastores),
        "groups.create" if "groups.create" in steps else "plan.reprotect",
    )
    original = _Direction(home, running, at[home], len(at[running].placeholder_datastores), "protection.restore")
    problems = [
        f"no placeholder datastore is configured at {d.recovery} (its SRM's inventory mappings) for the "
        f"placeholders of the VMs protected at {d.protected} ({d.label()})"
        for d, needed in ((reverse, reverse_needed), (original, original_needed))
        if needed and d.recovery_datastores == 0
    ]
    for vm in vms:
        live = matching(inventories[running], vm)
        if len(live) != 1:
            continue  # not running there (home already, or reported by preflight) or ambiguous (reported)
        record = live[0]
        stale = matching(inventories[home], vm)
        # Reverse: the VM as it runs now; its placeholder at home must not meet a VM other than its orphans.
        folder, pool, networks, found = _mapped(
            reverse,
            vm,
            (record.folder_moref, record.folder or "vm"),
            (record.resource_pool_moref, record.resource_pool),
            record.networks,
        )
        if reverse_needed:
            problems += found
            problems += _blockers(reverse, vm, inventories[home], folder, allowed=stale)
        if original_needed and folder and pool:
            # Original: the VM at home sits in the objects the reverse mappings gave it.
            back_folder, _, _, found = _mapped(
                original,
                vm,
                (folder, _name(reverse, "folders", folder)),
                (pool, _name(reverse, "resources", pool)),
                networks,
            )
            problems += found
            problems += _blockers(original, vm, inventories[running], back_folder, allowed=live)
    return problems


def _name(direction: _Direction, kind: str, target_moref: str) -> str:
    mapping = next((m for m in getattr(direction.mappings, kind) if m.target_moref == target_moref), None)
    return (mapping.secondary_object_name if mapping else None) or target_moref


def _mapped(
    direction: _Direction, vm: Vm, folder: tuple[str, str], pool: tuple[str, str], networks: tuple[tuple[str, str], ...]
) -> tuple[str, str, tuple[tuple[str, str], ...], list[str]]:
    """Where ``direction``'s mappings send the VM's folder, resource pool and networks ((MoRef, name) at the
    protected site; MoRefs at the recovery site, "" when unmapped), and one problem per missing mapping."""
    problems = []
    where = f"at {direction.protected}'s SRM ({direction.label()})"
    folder_map = direction.mappings.target("folders", folder[0])
    if folder_map is None:
        problems.append(f"VM {describe(vm)}: no folder mapping for folder {folder[1]} ({folder[0]}) {where}")
    pool_map = direction.mappings.target("resources", pool[0])
    if pool_map is None:
        problems.append(f"VM {describe(vm)}: no resource mapping for resource pool {pool[1]} ({pool[0]}) {where}")
    mapped_networks = []
    for moref, name in networks:
        network_map = direction.mappings.target("networks", moref)
        if network_map is None:
            problems.append(f"VM {describe(vm)}: no network mapping for network {name} ({moref}) {where}")
        else:
            mapped_networks.append((network_map.target_moref, network_map.secondary_object_name or ""))
    return (
        folder_map.target_moref if folder_map else "",
        pool_map.target_moref if pool_map else "",
        tuple(mapped_networks),
        problems,
    )


def _blockers(
    direction: _Direction, vm: Vm, recovery: Inventory, folder: str, allowed: tuple[VmRecord, ...]
) -> list[str]:
    """Same-named VMs in the placeholder's folder at the recovery site, other than SRM's own placeholders and
    the VM's copies srmctl (or SRM) moves out of the way first."""
    if not folder:
        return []
    skip = {r.moref for r in allowed}
    return [
        f"VM {describe(vm)}: {r.name} ({r.moref}) in folder {r.folder or 'vm'} at {direction.recovery} would "
        f"block its placeholder ({direction.label()}): it is not a copy of {vm.name} that srmctl removes; "
        "rename or move it, or map the folder elsewhere"
        for r in recovery.vms_named(vm.name)
        if r.folder_moref == folder and not r.is_placeholder and r.moref not in skip
    ]
