"""A disk extended at the recovery site during the outage (the topology's ``grow_after_failover``): after the
scenario's failover, the recovered VM's disk grows there, in srmsim's state, in its flat file and in vCenter.
The old disk at home then no longer matches it in size, so it is no seed for it (VR admin guide, "Replicating
Virtual Machines Using Replication Seeds"; srmsim/replication_seeds.py)."""

from __future__ import annotations

import os

from srmctl.labkit.topology import Topology
from srmctl.srmsim.replication_seeds import data_file
from srmctl.srmsim.world import World


def grow_recovered_disks(world: World, topology: Topology) -> None:
    recovery = world.site(topology.recovery_site)
    with world.lock:
        recovered = {vm.name: vm for vm in recovery.vms.values() if vm.role == "replica" and vm.registered}
    for vm_model in topology.vms:
        vm = recovered.get(vm_model.name)
        if vm is None:
            continue
        for model, disk in zip(vm_model.disks, sorted(vm.disks, key=lambda d: d.device_key), strict=False):
            if not model.grow_after_failover:
                continue
            path = data_file(recovery.datastores[vm.datastore_id].directory / disk.filename)
            with path.open("ab") as handle:  # what the guest wrote into the new space
                handle.write(os.urandom(model.grow_after_failover))
            with world.lock:
                disk.capacity = path.stat().st_size
            if vm.moref:
                world.mirror.grow_disk(recovery.name, vm.moref, disk.device_key, disk.capacity)
