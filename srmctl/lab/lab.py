"""``srmctl lab up|down|status``: a two-site lab of real simulators on loopback.

Each site is its own vcsim process with its own credentials and TLS certificate (so thumbprints differ)
and its own shape (so a MoRef from one site is wrong on the other, as in real life). Datastores are
directories inside the lab folder, so replicated files and seeds are real files that tests can inspect.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from pyVmomi import vim

from srmctl.adapters.vcenter import operations, provision
from srmctl.adapters.vcenter.connection import VCenterSession, connect
from srmctl.adapters.vcenter.inventory import disk_file, split_datastore_path
from srmctl.errors import LabError
from srmctl.lab.config import LabConfig, LabEndpoint, LabSite, LabSrmsim, lab_file, load_lab, save_lab
from srmctl.lab.processes import start_vcsim
from srmctl.labkit.certs import make_certificate, write_private
from srmctl.labkit.processes import is_running, stop_process
from srmctl.labkit.topology import Topology, TopologySite, TopologyVm
from srmctl.srmsim.launcher import start_detached

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ProcessStatus:
    site: str
    service: str
    pid: int
    running: bool
    endpoint: str


def up(directory: Path, topology: Topology, *, scenario: str = "protected",
       progress: Progress | None = None) -> LabConfig:
    """Start both sites' vCenters, build the topology's ``protected`` world, then start srmsim (SRM and VR of
    both sites), which reaches ``scenario`` by running its own recovery. Returns the lab config."""
    say = progress or (lambda _msg: None)
    directory = directory.resolve()
    if lab_file(directory).exists():
        existing = load_lab(directory)
        if any(is_running(pid) for pid in existing.pids):
            raise LabError(f"a lab is already running in {directory}; run 'srmctl lab down --dir {directory}' first")
    directory.mkdir(parents=True, exist_ok=True)
    sites: dict[str, LabSite] = {}
    try:
        for name, site in topology.sites.items():
            say(f"starting vCenter simulator for {name}")
            sites[name] = _start_site(directory, name, site)
            # Saved after every site so that 'lab down' can stop what did start if a later step fails.
            save_lab(LabConfig(directory=str(directory), protected_site=topology.protected_site, sites=sites))
        config = LabConfig(directory=str(directory), protected_site=topology.protected_site, sites=sites)
        for name, site in topology.sites.items():
            say(f"building inventory of {name}")
            session = connect(config.vcenter_endpoint(name))
            try:
                _build_site(session, directory / name, site,
                            [vm for vm in topology.vms] if name == topology.protected_site else [])
            finally:
                session.close()
        say(f"starting SRM and vSphere Replication simulator ({scenario})")
        config = _start_srmsim(config, topology, scenario)
    except BaseException:
        down(directory)
        raise
    save_lab(config)
    return config


def _start_srmsim(config: LabConfig, topology: Topology, scenario: str) -> LabConfig:
    """srmsim serves SRM and VR for both sites; each site gets its own certificate, and SSO users are the
    vCenter's (as SRM and VR authenticate against the vCenter's SSO)."""
    directory = Path(config.directory)
    workdir = directory / "srmsim"
    topology_file = workdir / "topology.yaml"
    workdir.mkdir(parents=True, exist_ok=True)
    topology_file.write_text(yaml.safe_dump(topology.model_dump(mode="json"), sort_keys=False))
    certs = {name: make_certificate(workdir / "certs" / name, f"srm-{name}.lab") for name in config.sites}
    sim_config = {
        "topology": topology_file.name,
        "scenario": scenario,
        "sites": {name: {"user": site.vcenter.user, "password_file": site.vcenter.password_file,
                         "cert": str(certs[name][0]), "key": str(certs[name][1]), "thumbprint": certs[name][2],
                         "vcenter": site.vcenter.model_dump()}
                  for name, site in config.sites.items()},
        # srmsim adopts the lab's vCenters: their VMs, and these directories behind their datastores.
        "datastores": {name: dict(site.datastores) for name, site in config.sites.items()},
    }
    config_file = workdir / "srmsim.yaml"
    write_private(config_file, yaml.safe_dump(sim_config, sort_keys=False).encode())
    # Recorded before it starts, so that 'lab down' stops it even if it fails half-way.
    save_lab(config.model_copy(update={"srmsim": LabSrmsim(pid=0, pairing_id="", scenario=scenario,
                                                            config=str(config_file))}))
    handle = start_detached(config_file, workdir)
    sites = {}
    for name, site in config.sites.items():
        info = handle.sites[name]
        endpoint = LabEndpoint(host=info.host, port=info.port, user=info.user,
                               password_file=site.vcenter.password_file, thumbprint=info.thumbprint,
                               ca_file=info.cert)
        sites[name] = site.model_copy(update={"srm": endpoint, "vr": endpoint})
    return config.model_copy(update={
        "sites": sites,
        "srmsim": LabSrmsim(pid=handle.pid, pairing_id=handle.pairing_id, scenario=scenario,
                            config=str(config_file))})


def _start_site(directory: Path, name: str, site: TopologySite) -> LabSite:
    site_dir = directory / name
    cert, key, thumbprint = make_certificate(site_dir, f"vc-{name}.lab")
    password_file = site_dir / "vcenter.password"
    write_private(password_file, secrets.token_urlsafe(18).encode())
    user = f"administrator@{name}.lab"
    hosts = max(c.hosts for c in site.clusters)
    proc = start_vcsim(site_dir / "vcsim", user=user, password_file=password_file, cert=cert, key=key,
                       clusters=len(site.clusters), hosts=hosts)
    datastores = {ds: str(site_dir / "datastores" / ds) for ds in site.datastores}
    return LabSite(
        datacenter=site.datacenter,
        vcenter=LabEndpoint(host="127.0.0.1", port=proc.port, user=user, password_file=str(password_file),
                            thumbprint=thumbprint, ca_file=str(cert)),
        datastores=datastores,
        pids={"vcsim": proc.pid},
    )


def _build_site(session: VCenterSession, site_dir: Path, site: TopologySite, vms: list[TopologyVm]) -> None:
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
    host_cycle = itertools.cycle(cluster.host)
    created: list[Any] = []
    for vm in vms:
        obj = provision.create_vm(
            session, name=vm.name, folder=vim.Folder(folders[vm.folder], session.stub),
            pool=cluster.resourcePool, host=next(host_cycle), datastore=vm.datastore,
            disk_sizes=[d.size for d in vm.disks])
        _fill_disks(obj, site_dir / "datastores")
        if vm.power == "on":
            created.append(obj)
    if created:
        provision.power_on_all(session, created)


def _fill_disks(vm: Any, datastores_dir: Path) -> None:
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


def down(directory: Path) -> list[ProcessStatus]:
    """Stop every process the lab started (by pid) and remove the lab's files. Idempotent."""
    directory = directory.resolve()
    if not lab_file(directory).exists():
        return []
    config = load_lab(directory)
    stopped = []
    for process in _processes(config):
        stop_process(process.pid)
        stopped.append(replace(process, running=False))
    for site_name in config.sites:
        shutil.rmtree(directory / site_name, ignore_errors=True)
    shutil.rmtree(directory / "srmsim", ignore_errors=True)
    lab_file(directory).unlink(missing_ok=True)
    return stopped


def status(directory: Path) -> list[ProcessStatus]:
    return _processes(load_lab(directory.resolve()))


def _processes(config: LabConfig) -> list[ProcessStatus]:
    rows = [ProcessStatus(name, service, pid, running=is_running(pid),
                          endpoint=f"https://{site.vcenter.host}:{site.vcenter.port}/sdk")
            for name, site in config.sites.items() for service, pid in site.pids.items()]
    if config.srmsim and config.srmsim.pid:
        endpoints = ", ".join(f"https://{s.srm.host}:{s.srm.port}/api/rest/{{srm,vr}}/v2"
                              for s in config.sites.values() if s.srm)
        rows.append(ProcessStatus("both", "srmsim", config.srmsim.pid, running=is_running(config.srmsim.pid),
                                  endpoint=endpoints))
    return rows
