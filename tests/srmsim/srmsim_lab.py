"""Helpers for srmsim against a real lab (two vcsim sites + srmsim): the lab per scenario, SRM/VR clients
logged in to both sites, and vCenter views of each site."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from srmctl.adapters.dr.site import DrSite
from srmctl.adapters.vcenter import operations
from srmctl.adapters.vcenter.connection import VCenterSession, connect
from srmctl.adapters.vcenter.inventory import Inventory, VmRecord, read_inventory
from srmctl.lab import lab
from srmctl.lab.config import LabConfig
from srmctl.labkit.topology import load_topology
from srmctl.srmsim.app import READY
from srmctl.srmsim.launcher import SrmsimHandle

NY, NJ = "new-york", "new-jersey"
SITES = [NY, NJ]


@dataclass
class Lab:
    config: LabConfig
    directory: Path

    def dr(self) -> AbstractContextManager[dict[str, DrSite]]:
        from edge import dr_sites  # tests/fixtures: endpoints from the lab, as the CLI builds them

        return dr_sites(self.directory, SITES)

    def session(self, site: str) -> VCenterSession:
        return connect(self.config.vcenter_endpoint(site))

    def inventory(self, site: str) -> Inventory:
        session = self.session(site)
        try:
            return read_inventory(session)
        finally:
            session.close()

    def vm(self, site: str, name: str) -> VmRecord:
        return self.inventory(site).vm(name)

    def vm_props(self, site: str, name: str, paths: list[str]) -> dict[str, Any]:
        session = self.session(site)
        try:
            return operations.vm_properties(session, read_inventory(session).vm(name).moref, paths)
        finally:
            session.close()

    def extra_config(self, site: str, name: str) -> dict[str, str]:
        props = self.vm_props(site, name, ["config.extraConfig"])
        return {o.key: str(o.value) for o in props.get("config.extraConfig") or []}

    def events(self, site: str, name: str) -> list[str]:
        from pyVmomi import vim

        session = self.session(site)
        try:
            vm = operations.vm_object(session, read_inventory(session).vm(name).moref)
            spec = vim.event.EventFilterSpec(entity=vim.event.EventFilterSpec.ByEntity(entity=vm, recursion="self"))
            return [str(e.fullFormattedMessage or "") for e in session.content.eventManager.QueryEvents(spec)]
        finally:
            session.close()

    def datastore_dir(self, site: str, datastore: str) -> Path:
        return Path(self.config.sites[site].datastores[datastore])

    def srmsim(self) -> SrmsimHandle:
        first = (self.directory / "srmsim" / "srmsim.out").read_text().splitlines()[0]
        return SrmsimHandle(None, json.loads(first[len(READY) :]))

    def state(self) -> dict[str, Any]:
        return self.srmsim().state()


LabFactory = Callable[[str], Lab]


@pytest.fixture
def make_lab(tmp_path: Path) -> Iterator[LabFactory]:
    """Start a lab in a scenario (one at a time per test); stopped and removed at the end."""
    started: list[Path] = []

    def start(scenario: str) -> Lab:
        directory = tmp_path / f"lab-{scenario}-{len(started)}"
        started.append(directory)
        return Lab(lab.up(directory, load_topology(), scenario=scenario), directory)

    yield start
    for directory in started:
        lab.down(directory)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(directory: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file below a directory."""
    return {str(p.relative_to(directory)): digest(p) for p in sorted(directory.rglob("*")) if p.is_file()}
