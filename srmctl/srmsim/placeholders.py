"""SRM placeholder VMs: for every VM of a protection group SRM keeps a placeholder at the recovery site, in
the folder and resource pool the site pair's inventory mappings give, on a placeholder datastore, managed by
SRM's extension (``managedBy`` {com.vmware.vcDr, placeholderVm}, see vcenter.py) and named as the VM.

The VM's protection status follows the spec's ``VmProtectionStatusDetails`` enum: "MISSING_MAPPING - The
VM has a missing mapping", "PLACEHOLDER_CREATION_ERROR - Creation of the placeholder VM failed" (a VM of that
name already in the mapped folder: vCenter refuses a duplicate name in one folder), "NOT_CONFIGURED - The VM
has just become part of a protection group" (no placeholder datastore yet), "PLACEHOLDER_VM_DELETED -
Someone has deleted the placeholder VM". ``configure-all-vms`` ("Configure protection for all virtual
machines that are part of the protection group") and ``restore-all-placeholders`` ("Repair placeholder VMs
... Placeholder creation failed. Placeholder was deleted ... can be called only on the recovery site") start
one task per VM that needs it.
"""

from __future__ import annotations

from srmctl.srmsim import effects, mappings, states
from srmctl.srmsim.model import SimError, SimGroup, SimTask, SimVm
from srmctl.srmsim.world import Failed, TaskContext, World

OK: tuple[str, list[str]] = ("OK", [])


def placeholder_of(world: World, vm_id: str) -> SimVm | None:
    """The registered placeholder of a protected VM (at the other site), if any."""
    return registered_placeholders(world).get(vm_id)


def registered_placeholders(world: World) -> dict[str, SimVm]:
    """Protected VM id -> its registered placeholder, in one pass (work over a whole group looks up each VM
    here rather than scanning every VM once per VM)."""
    return {
        vm.protects: vm
        for site in world.sites.values()
        for vm in site.vms.values()
        if vm.role == "placeholder" and vm.registered
    }


def _name_taken(world: World, site: str, folder: str, name: str) -> bool:
    """A VM named ``name`` registered in folder ``folder`` of the site's vCenter (live when mirrored:
    srmctl registers and unregisters VMs behind srmsim's back)."""
    live = world.mirror.name_taken(site, folder, name)
    if live is not None:
        return live
    with world.lock:
        return any(v.name == name and v.folder == folder and v.registered for v in world.site(site).vms.values())


def configure_vm(
    world: World, group: SimGroup, vm_id: str, known: dict[str, SimVm] | None = None
) -> tuple[str, list[str]]:
    """Create ``vm_id``'s placeholder at the recovery site; record and return its protection status.
    ``known``: :func:`registered_placeholders`, read once for a whole group."""
    with world.lock:
        vm = world.find_vm(vm_id)
        recovery = world.site(world.other(group.protected_site))
        existing = known.get(vm_id) if known is not None else placeholder_of(world, vm_id)
        if existing is not None:
            group.configured[vm_id] = OK
            return OK
        folder, pool, problems = mappings.placement(world, vm)
        datastores = world.placeholder_datastores.get(recovery.name, [])
        if not datastores:
            result = ("NOT_CONFIGURED", [f"no placeholder datastore is configured at site {recovery.name}"])
        elif problems:
            result = ("MISSING_MAPPING", problems)
        else:
            result = OK
        if result != OK:
            group.configured[vm_id] = result
            return result
        datastore = recovery.datastores[datastores[0]]
    if _name_taken(world, recovery.name, folder, vm.name):
        result = (
            "PLACEHOLDER_CREATION_ERROR",
            [
                f"cannot create placeholder VM {vm.name} in folder {folder or 'vm'} of site {recovery.name}: a VM "
                "with that name already exists in that folder"
            ],
        )
        with world.lock:
            group.configured[vm_id] = result
        return result
    moref, vmx = world.mirror.create_placeholder(recovery.name, vm.name, folder, pool, datastore.name)
    with world.lock:
        placeholder = SimVm(
            id=recovery.vm_id(moref) if moref else recovery.next_vm_id(),
            name=vm.name,
            instance_uuid="",
            site=recovery.name,
            datastore_id=datastore.id,
            folder=folder,
            disks=[],
            role="placeholder",
            moref=moref,
            pool=pool,
            protects=vm_id,
            vmx=vmx.split("] ", 1)[1] if vmx else f"{vm.name}/{vm.name}.vmx",
        )
        recovery.vms[placeholder.id] = placeholder
        group.configured[vm_id] = OK
    return OK


def configure_group(world: World, group: SimGroup) -> None:
    """Every VM of the group not configured yet (run inside a task); placeholders are created side by side,
    as SRM creates them through vCenter tasks that run together."""
    with world.lock:
        known = registered_placeholders(world)
        todo = [vm_id for vm_id in group.vm_ids if group.configured.get(vm_id) != OK]
        first: dict[str, str] = {}  # VM name -> the first VM of that name
        for vm_id in todo:
            first.setdefault(world.find_vm(vm_id).name, vm_id)
        chosen = set(first.values())
    # VMs of one name go one after another: the second must see the first's placeholder (a duplicate name).
    world.parallel(lambda vm_id: configure_vm(world, group, vm_id, known), [v for v in todo if v in chosen])
    for vm_id in [v for v in todo if v not in chosen]:
        configure_vm(world, group, vm_id, known)
    with world.lock:
        group.status = "OK" if all(group.configured.get(v) == OK for v in group.vm_ids) else "NOT_CONFIGURED"


def configure_all(world: World, site: str, group_id: str, *, restore: bool = False) -> list[SimTask]:
    """One task per VM that needs its placeholder (re)created; none when every VM is configured."""
    group = world.group(group_id)
    recovery = world.other(group.protected_site)
    if restore and site != recovery:
        raise SimError(
            400, "NOT_RECOVERY_SITE", f"restore-all-placeholders can be called only on the recovery site ({recovery})"
        )
    states.require_group_configurable(group)
    check_deleted(world, [group.id])
    tasks = []
    for vm_id in [v for v in group.vm_ids if group.configured.get(v) != OK]:
        vm = world.find_vm(vm_id)

        def work(ctx: TaskContext, vm_id: str = vm_id) -> None:
            ctx.pause()
            status, errors = configure_vm(world, group, vm_id)
            with world.lock:
                group.status = "OK" if all(group.configured.get(v) == OK for v in group.vm_ids) else "NOT_CONFIGURED"
            if (status, errors) != OK:
                raise Failed(f"{status}: {'; '.join(errors)}")

        verb = "Restore placeholder" if restore else "Configure protection"
        tasks.append(
            world.start_task(site, "srm", f"{verb} for {vm.name}", vm.id, vm.name, work, kind="srm.placeholder")
        )
    return tasks


def swap_out(world: World, vm_id: str) -> tuple[str, str] | None:
    """Take ``vm_id``'s placeholder out of the recovery site's inventory (files kept) so that the recovered
    or test VM takes its place; returns the placeholder's (folder path, resource pool) or None."""
    with world.lock:
        placeholder = placeholder_of(world, vm_id)
        if placeholder is None:
            return None
        where = (placeholder.folder, placeholder.pool)
    effects.unregister(world, placeholder)
    return where


def put_back(world: World, vm_id: str) -> None:
    """After a test cleanup: the placeholder is registered again where it was, managed by SRM again."""
    with world.lock:
        kept = next(
            (
                v
                for s in world.sites.values()
                for v in s.vms.values()
                if v.role == "placeholder" and v.protects == vm_id and not v.registered
            ),
            None,
        )
        if kept is None:
            return
        site = world.site(kept.site)
        vmx_path = site.ds_path(kept.datastore_id, kept.vmx)
    moref = world.mirror.register_placeholder(kept.site, kept.name, vmx_path, kept.folder, kept.pool)
    with world.lock:
        site.vms.pop(kept.id, None)
        kept.id, kept.moref, kept.registered = (site.vm_id(moref) if moref else kept.id), moref, True
        site.vms[kept.id] = kept


def remove(world: World, vm_ids: list[str]) -> None:
    """Removing protection removes the placeholders (reference: remove-protection "deletes placeholder");
    srmsim unregisters them and keeps their small files."""
    for vm_id in vm_ids:
        swap_out(world, vm_id)
        forget(world, vm_id)


def forget(world: World, vm_id: str) -> None:
    """Drop srmsim's records of ``vm_id``'s placeholders (unregistered ones: swapped for the recovered VM)."""
    with world.lock:
        for site in world.sites.values():
            for key in [
                k for k, v in site.vms.items() if v.role == "placeholder" and v.protects == vm_id and not v.registered
            ]:
                del site.vms[key]


def check_deleted(world: World, group_ids: list[str], only: str | None = None) -> None:
    """Re-read from the recovery site's vCenter whether the placeholders of these groups' VMs are still
    registered (someone may delete one behind SRM's back): an idle group's VM whose placeholder is gone is
    PLACEHOLDER_VM_DELETED ("Someone has deleted the placeholder VM") at once, not only at the next
    configure-all-vms, and a plan run does not recover it (srmsim/vm_recovery.py). ``only``: one VM's
    placeholder (a read of one group VM re-reads one placeholder, never the group's: linear at 1,000 VMs)."""
    with world.lock:
        groups = [world.groups[g] for g in group_ids if g in world.groups]
        wanted = {vm_id for g in groups for vm_id in g.vm_ids if only is None or vm_id == only}
        by_site: dict[str, list[str]] = {}
        for site in world.sites.values():
            for vm in site.vms.values():
                if vm.role == "placeholder" and vm.registered and vm.moref and vm.protects in wanted:
                    by_site.setdefault(site.name, []).append(vm.moref)
    for site_name, morefs in by_site.items():
        world.refresh(site_name, morefs)
    with world.lock:
        known = registered_placeholders(world)
        for group in groups:
            if group.status not in ("OK", "NOT_CONFIGURED"):
                continue  # a test or recovery took the placeholders out itself
            for vm_id in group.vm_ids:
                if vm_id in wanted and group.configured.get(vm_id) == OK and vm_id not in known:
                    group.configured[vm_id] = ("PLACEHOLDER_VM_DELETED", ["the placeholder VM was deleted"])
            if any(group.configured.get(v) != OK for v in group.vm_ids):
                group.status = "NOT_CONFIGURED"
