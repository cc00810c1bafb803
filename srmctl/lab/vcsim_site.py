"""One lab site's vCenter: its vcsim process (own credentials and TLS certificate), and the topology's
datacenter, clusters, datastores (directories in the lab folder), folders and VMs built in it, with real
bytes in the VMs' disks so replication has data to move."""

from __future__ import annotations

import concurrent.futures
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyVmomi import vim

from srmctl.adapters.vcenter import operations
from srmctl.adapters.vcenter.connection import VCenterSession
from srmctl.adapters.vcenter.inventory import disk_file, split_datastore_path
from srmctl.lab.config import LabEndpoint, LabSite
from srmctl.lab.processes import start_vcsim
from srmctl.labkit.certs import make_certificate, write_private
from srmctl.labkit.topology import TopologySite, TopologyVm
from srmctl.srmsim import provision

BUILD_SESSIONS = 4  # vCenter sessions creating the protected site's VMs side by side


def start_vcsim_site(directory: Path, name: str, site: TopologySite) -> LabSite:
    site_dir = directory / name
    cert, key, thumbprint = make_certificate(site_dir, f"vc-{name}.lab")
    password_file = site_dir / "vcenter.password"
    write_private(password_file, secrets.token_urlsafe(18).encode())
    user = f"administrator@{name}.lab"
    hosts = max(c.hosts for c in site.clusters)
    proc = start_vcsim(
        site_dir / "vcsim",
        user=user,
        password_file=password_file,
        cert=cert,
        key=key,
        clusters=len(site.clusters),
        hosts=hosts,
    )
    datastores = {ds: str(site_dir / "datastores" / ds) for ds in site.datastores}
    return LabSite(
        datacenter=site.datacenter,
        vcenter=LabEndpoint(
            host="127.0.0.1",
            port=proc.port,
            user=user,
            password_file=str(password_file),
            thumbprint=thumbprint,
            ca_file=str(cert),
        ),
        datastores=datastores,
        pids={"vcsim": proc.pid},
        identities={"vcsim": proc.identity},
    )


def build_site(
    session: VCenterSession,
    site_dir: Path,
    site: TopologySite,
    vms: list[TopologyVm],
    more: Callable[[], VCenterSession] | None = None,
) -> None:
    """The site's datacenter, clusters, datastores, folders and ``vms``; VMs are created by a few sessions
    side by side (``more`` opens one), since each CreateVM task is awaited."""
    dc = next(e for e in session.content.rootFolder.childEntity if isinstance(e, vim.Datacenter))
    provision.rename(session, dc, site.datacenter)
    clusters = [c for c in dc.hostFolder.childEntity if isinstance(c, vim.ClusterComputeResource)]
    for cluster, spec in zip(sorted(clusters, key=lambda c: c.name), site.clusters, strict=False):
        provision.rename(session, cluster, spec.name)
    hosts = [h for c in clusters for h in c.host]
    for ds in site.datastores:
        path = site_dir / "datastores" / ds
        path.mkdir(parents=True, exist_ok=True)
        provision.mount_local_datastore(session, hosts, ds, str(path))
    folders = {"": dc.vmFolder._moId}
    for folder in site.folders:
        folders[folder] = operations.create_folder(session, site.datacenter, folder)
    cluster = sorted(clusters, key=lambda c: c.name)[0]
    hosts = list(cluster.host)  # managed objects go over any session's stub as their MoRef
    workers = min(BUILD_SESSIONS, max(1, len(vms) // 50)) if more else 1
    chunks = [list(enumerate(vms))[i::workers] for i in range(workers)]

    def build(chunk: list[tuple[int, TopologyVm]]) -> list[str]:
        own = more() if more and workers > 1 else session
        try:
            powered = []
            for index, vm in chunk:
                obj = provision.create_vm(
                    own,
                    name=vm.name,
                    folder=vim.Folder(folders[vm.folder], own.stub),
                    pool=cluster.resourcePool,
                    host=hosts[index % len(hosts)],
                    datastore=vm.datastore,
                    disk_sizes=[d.size for d in vm.disks],
                )
                fill_disks(obj, site_dir / "datastores")
                if vm.power == "on":
                    powered.append(str(obj._moId))
            return powered
        finally:
            if own is not session:
                own.close()

    with concurrent.futures.ThreadPoolExecutor(workers) as executor:
        powered = [moref for result in executor.map(build, chunks) for moref in result]
    if powered:
        provision.power_on_all(session, [vim.VirtualMachine(moref, session.stub) for moref in powered])


def fill_disks(vm: Any, datastores_dir: Path) -> None:
    """Write real random bytes into each disk's flat file, so replication has data to move."""
    for device in vm.config.hardware.device:
        if isinstance(device, vim.vm.device.VirtualDisk):
            ds, path = split_datastore_path(disk_file(device))
            flat = datastores_dir / ds / path.replace(".vmdk", "-flat.vmdk")
            with flat.open("wb") as handle:
                remaining = int(device.capacityInBytes or device.capacityInKB * 1024)
                while remaining > 0:
                    chunk = min(remaining, 1 << 20)
                    handle.write(os.urandom(chunk))
                    remaining -= chunk
