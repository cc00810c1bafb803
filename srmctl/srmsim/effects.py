"""What SRM and VR do to VMs, in srmsim's state and, through the world's mirror, in the sites' vCenters:
power, register a replica (or a test copy) from its files, unregister, VR's footprint and events.

State changes happen under the world lock; vCenter calls happen outside it (they take milliseconds to
seconds and REST handlers must not wait for them). With the in-memory :class:`NullMirror` the vCenter side is
a no-op and ids are srmsim's own, exactly as before the mirror existed.

IP customisation (:func:`srmctl.srmsim.recovery_settings.recovery_ip`): a recovered or test VM carries the
NIC settings SRM applied to it as extraConfig ``srmsim.ip.<device_id>`` = the ``IpSettings`` object as
compact JSON with sorted keys (``{"ip_v4":{"ip_address":"10.10.0.21",...}}``), readable through pyvmomi
(``config.extraConfig``), and in srmsim's state (``SimVm.guest_ip``, ``/srmsim/state``'s ``guest_ip``). No
key: SRM changed nothing (no MANUAL settings for that NIC). The keys are srmsim's own, so they are never
copied from a replica's .vmx; each recovery sets them afresh.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from srmctl.srmsim.model import SimDisk, SimReplication, SimVm
from srmctl.srmsim.provision import ReplicationConfig
from srmctl.srmsim.vcenter import Registration, disks_at
from srmctl.srmsim.world import Failed, World

# Test copies: files in "<home>-test/" (SRM tests on a writable snapshot), registered under the VM's own name in
# the placeholder's place: "When you recover a protected virtual machine by testing or running a recovery plan,
# Site Recovery Manager replaces the placeholder with the recovered virtual machine" (SRM administration, "About
# Placeholder Virtual Machines"). A test VM is told apart only by being the plan's while it is tested.
TEST_SUFFIX = "-test"
IDENTITY_KEYS = ("srmsim.original_instance_uuid", "srmsim.original_moref", "srmsim.protected_vm_id")


def set_power(world: World, vms: list[SimVm], on: bool) -> None:
    state = "POWERED_ON" if on else "POWERED_OFF"
    with world.lock:
        changed = [vm for vm in vms if vm.power_state != state and vm.registered]
        for vm in changed:
            vm.power_state = state
    world.parallel(lambda vm: world.mirror.power(vm.site, vm.moref, on), [vm for vm in changed if vm.moref])


def unregister(world: World, vm: SimVm) -> None:
    """Out of the inventory, files kept (SRM's reprotect, test cleanup); powered off first, as vCenter requires."""
    with world.lock:
        vm.registered, vm.power_state = False, "POWERED_OFF"
    if vm.moref:
        world.mirror.unregister(vm.site, vm.moref)


IP_KEY = "srmsim.ip."


def register_copy(
    world: World,
    vm: SimVm,
    replication: SimReplication,
    target: str,
    role: str,
    folder: str | None = None,
    pool: str = "",
    ip: dict[int, str] | None = None,
) -> SimVm:
    """Register ``vm``'s replica at ``target`` (role ``replica``) or a copy of it for a test (role ``test``).

    It lands in ``folder`` (a path) and ``pool`` (MoRef) at ``target``: where the VM's placeholder was, from
    the inventory mappings. The replica is registered from its .vmx in the replica's home folder; a VM
    already registered from that path fails the recovery, as on real SRM (srmctl unregisters orphans
    first). A test copy gets its own folder so that cleanup can remove it without touching a replica file.
    """
    with world.lock:
        site = world.site(target)
        capacity = {d.device_key: d.capacity for d in vm.disks}
        vmx_name = vm.vmx_file.rsplit("/", 1)[-1]
        home = f"{vm.home}{TEST_SUFFIX}" if role == "test" else vm.home
        home_ds = site.datastores[replication.home_datastore_id]
        disks = [
            SimDisk(
                device_key=d.device_key,
                capacity=capacity.get(d.device_key, 0),
                filename=f"{home}/{Path(d.filename).name}" if role == "test" else d.filename,
            )
            for d in replication.disks
        ]
        sources = [site.datastores[d.datastore_id].directory / d.filename for d in replication.disks]
        vmx_path = site.ds_path(home_ds.id, f"{home}/{vmx_name}")
        config = dict(replication.vmx_config)
    moref = None
    if world.mirror.enabled:
        if role == "test":
            _copy_for_test(home_ds.directory / vm.home, home_ds.directory / home, sources, vm.name)
        existing = world.mirror.registered(target, vmx_path)
        if existing:
            with world.lock:
                earlier = site.vms.get(site.vm_id(existing))
            if (
                role == "replica"
                and earlier is not None
                and earlier.role == "replica"
                and earlier.original_uuid == (vm.original_uuid or vm.instance_uuid)
            ):
                return earlier  # a re-run of an interrupted recovery: this VM was recovered already
            raise Failed(
                f"cannot register {vm.name} at {target}: a VM ({existing}) is already registered from "
                f"{vmx_path}; unregister it first"
            )
        annotation = config.pop("annotation", None)
        identity = (vm.original_uuid or vm.instance_uuid, vm.moref, vm.id)
        moref = world.mirror.register(
            target,
            Registration(
                name=vm.name,
                vmx_path=vmx_path,
                folder=vm.folder if folder is None else folder,
                pool=pool,
                disks=disks_at(home_ds.name, [(d.device_key, d.capacity, d.filename) for d in disks]),
                # Test copies keep vcsim's own UUID, so name + instance UUID never matches two running VMs.
                instance_uuid=vm.instance_uuid if role == "replica" else None,
                extra_config=(
                    *config.items(),
                    *zip(IDENTITY_KEYS, identity, strict=True),
                    *((f"{IP_KEY}{nic}", text) for nic, text in sorted((ip or {}).items())),
                ),
                annotation=annotation,
            ),
        )
    with world.lock:
        copy = SimVm(
            id=site.vm_id(moref) if moref else site.next_vm_id(),
            name=vm.name,
            instance_uuid=vm.instance_uuid,
            site=target,
            datastore_id=home_ds.id,
            folder=vm.folder if folder is None else folder,
            pool=pool,
            disks=disks,
            role=role,
            moref=moref or "",
            vmx=f"{home}/{vmx_name}" if vm.vmx else "",
            original_uuid=vm.original_uuid or vm.instance_uuid,
            guest_ip=dict(ip or {}),
        )
        site.vms[copy.id] = copy
        return copy


def _copy_for_test(replica_home: Path, test_home: Path, disks: list[Path], name: str) -> None:
    """A writable copy of the replica for a test VM (SRM uses a snapshot): home files and disks. The NVRAM
    file is named after the VM, as vcsim's RegisterVM looks for ``<name>.nvram``."""
    test_home.mkdir(parents=True, exist_ok=True)
    for item in replica_home.iterdir():
        if item.is_file() and not item.name.endswith(".vmdk"):
            shutil.copyfile(item, test_home / (f"{name}.nvram" if item.suffix == ".nvram" else item.name))
    for descriptor in disks:
        for part in (descriptor, flat_file(descriptor)):
            if part.is_file():
                shutil.copyfile(part, test_home / part.name)


def remove_test_copy(world: World, vm: SimVm) -> None:
    """Unregister a test VM and delete its copy's folder; never a replica file (the guard is the role and the
    test folder suffix, which only :func:`register_copy` creates)."""
    unregister(world, vm)
    with world.lock:
        world.site(vm.site).vms.pop(vm.id, None)
        folder = world.site(vm.site).datastores[vm.datastore_id].directory / vm.home
    if world.mirror.enabled and vm.role == "test" and vm.home.endswith(TEST_SUFFIX):
        shutil.rmtree(folder, ignore_errors=True)


def flat_file(descriptor: Path) -> Path:
    """vcsim disks keep their bytes in ``<disk>-flat.vmdk`` beside the ``<disk>.vmdk`` descriptor."""
    return descriptor.with_name(descriptor.name.removesuffix(".vmdk") + "-flat.vmdk")


# --- VR's footprint on the source VM ----------------------------------------------------------------


def footprint(world: World, replication: SimReplication, active: bool) -> None:
    """Set (``active``) or clear the source VM's ``config.repConfig`` and ``hbr_filter.*`` keys."""
    with world.lock:
        vm = _source(world, replication)
        if vm is None:
            return
        config = ReplicationConfig(
            replication_id=replication.id,
            destination=f"vr-{replication.target_site}.lab",
            rpo_minutes=replication.rpo,
            quiesce=replication.quiesce,
            network_compression=replication.compression,
            disks=tuple((d.device_key, f"RDID-{d.device_key}-{replication.id}") for d in replication.disks),
            generation=replication.generation,
        )
    world.mirror.set_replication(vm.site, vm.moref, config if active else None)


def event(world: World, replication: SimReplication, message: str) -> None:
    """Post a VR event about the source VM to its vCenter's event log."""
    with world.lock:
        vm = _source(world, replication)
    if vm is not None:
        world.mirror.event(vm.site, vm.moref, vm.name, f"vSphere Replication: {message}")


def _source(world: World, replication: SimReplication) -> SimVm | None:
    site = world.site(replication.source_site)
    vm = site.vms.get(replication.vm_id)
    if vm is None or not vm.moref or not vm.registered or not site.up:
        return None
    return vm
