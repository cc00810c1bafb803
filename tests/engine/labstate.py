"""Helpers for engine tests: put a real vcsim lab into the "after failover" state and write runbooks.

The failover condition is made with real vCenter calls: VMs of the same name are created and powered on at
new-jersey (where they now "run"), and the originals at new-york are powered off (planned migration) or left
on (disaster recovery with the old site back).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from pyVmomi import vim

from srmctl.adapters.vcenter import operations, provision
from srmctl.adapters.vcenter.connection import connect
from srmctl.adapters.vcenter.inventory import Inventory, read_inventory
from srmctl.lab.config import LabConfig

ALL_VMS = ("mail04", "db01", "web01", "web02")


def make_failover(lab: LabConfig, vms: Iterable[str] = ALL_VMS, *, stale_powered_on: bool = False) -> None:
    nj = connect(lab.vcenter_endpoint("new-jersey"))
    ny = connect(lab.vcenter_endpoint("new-york"))
    try:
        dc = next(e for e in nj.content.rootFolder.childEntity if isinstance(e, vim.Datacenter))
        cluster = next(c for c in dc.hostFolder.childEntity if isinstance(c, vim.ClusterComputeResource))
        ny_inv = read_inventory(ny)
        for name in vms:
            provision.create_vm(nj, name=name, folder=dc.vmFolder, pool=cluster.resourcePool,
                                host=cluster.host[0], datastore="ESX3_LOCAL", disk_sizes=[1 << 20], power_on=True)
            if not stale_powered_on:
                operations.power_off(ny, ny_inv.vm(name).moref)
    finally:
        nj.close()
        ny.close()


def inventory(lab: LabConfig, site: str) -> Inventory:
    session = connect(lab.vcenter_endpoint(site))
    try:
        return read_inventory(session)
    finally:
        session.close()


def snapshot(lab: LabConfig) -> dict[str, Any]:
    """Everything observable at both sites (round trips aside), to compare before/after a dry run."""
    result = {}
    for site in lab.sites:
        inv = asdict(inventory(lab, site))
        inv.pop("round_trips")
        result[site] = inv
    return result


def datastore_files(lab: LabConfig, site: str) -> list[str]:
    """Every file under the site's datastore directories (to prove nothing was deleted)."""
    return sorted(str(p.relative_to(Path(d))) for d in lab.sites[site].datastores.values()
                  for p in Path(d).rglob("*") if p.is_file())


@dataclass(frozen=True)
class RunbookSpec:
    vms: tuple[str, ...] = ALL_VMS
    scenario: str = "planned-migration"
    concurrency: int = 4
    confirm_power_off: bool = False
    steps: tuple[str, ...] | None = ("preflight.check", "orphans.unregister")
    name: str = "mail-back"


def write_runbook(path: Path, spec: RunbookSpec = RunbookSpec()) -> Path:
    def site(tag: str) -> dict[str, Any]:
        vc = {"host": f"vc-{tag}.corp.local", "user": "administrator@vsphere.local",
              "password_env": f"SRMCTL_TEST_{tag.upper()}_PASSWORD"}
        return {"vcenter": vc, "srm": {"host": f"srm-{tag}.corp.local"}, "vr": {"host": f"vr-{tag}.corp.local"}}

    doc: dict[str, Any] = {
        "version": 1, "name": spec.name, "scenario": spec.scenario,
        "sites": {"new-york": site("ny"), "new-jersey": site("nj")},
        "failback": {"from": "new-jersey", "to": "new-york"},
        "vms": [{"name": n} for n in spec.vms],
        "replication": {"rpo": "15m"}, "protection_group": {"name": "VR mail"},
        "recovery_plan": {"name": "VR Failover"}, "concurrency": spec.concurrency,
    }
    if spec.steps is not None:
        doc["steps"] = list(spec.steps)
    if spec.confirm_power_off:
        doc["confirm"] = {"power_off_stale_vms": True}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path
