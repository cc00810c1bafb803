"""``lab.yaml``: what a running lab offers (endpoints, users, password files, thumbprints, pids)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field

from srmctl.adapters.endpoints import Secret, ServiceEndpoint
from srmctl.adapters.tls import TlsPolicy
from srmctl.errors import LabError, NotFound
from srmctl.lab.processes import PID_LIMIT, ProcessIdentity
from srmctl.runbook.files import write_atomically

LAB_FILE = "lab.yaml"
MANIFEST_FILE = "lab-manifest.yaml"  # what 'lab up' created in the lab folder: all that 'lab down' removes
SRMSIM_DIR = "srmsim"
LOGS_DIR = "logs"  # where a failed 'lab up' keeps the simulators' logs (the rest of what it created is removed)
# Entries of the lab folder that are not per-site folders; a site may not be named like one of them.
RESERVED_ENTRIES = (LAB_FILE, MANIFEST_FILE, SRMSIM_DIR, "lab.tmp", LOGS_DIR)


class _LabModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LabEndpoint(_LabModel):
    host: str
    port: int
    user: str
    password_file: str
    thumbprint: str
    ca_file: str

    def password(self) -> str:
        return Path(self.password_file).read_text().strip()


#: A process id as Linux gives them; anything else in lab.yaml is an edit, and os.pidfd_open would fail on it.
Pid = Annotated[int, Field(ge=1, le=PID_LIMIT)]


class LabSite(_LabModel):
    datacenter: str
    vcenter: LabEndpoint
    datastores: dict[str, str]  # name → local directory
    pids: dict[str, Pid]
    # What each process was when 'lab up' started it, so that 'lab down' never signals a reused pid.
    identities: dict[str, ProcessIdentity] = {}
    srm: LabEndpoint | None = None  # SRM and VR REST (srmsim serves both API roots on one port per site)
    vr: LabEndpoint | None = None


class LabSrmsim(_LabModel):
    pid: Annotated[int, Field(ge=0, le=PID_LIMIT)]  # 0 while it starts
    pairing_id: str  # the first site's SRM pairing (each server has its own id: srmsim World.pairing_at)
    vr_pairing_id: str = ""  # the first site's VR pairing (its own object and id)
    scenario: str
    config: str  # the srmsim config file, for tests that attach to it
    latency: str = "fast"  # srmsim's task-latency profile (srmsim/latency.py), also in its config file
    identity: ProcessIdentity | None = None


class LabConfig(_LabModel):
    version: int = 1
    directory: str
    protected_site: str
    sites: dict[str, LabSite]
    srmsim: LabSrmsim | None = None

    def site(self, name: str) -> LabSite:
        if name not in self.sites:
            raise NotFound(f"site {name!r} is not in the lab (sites: {', '.join(sorted(self.sites))})")
        return self.sites[name]

    def vcenter_endpoint(self, site: str) -> ServiceEndpoint:
        e = self.site(site).vcenter
        return ServiceEndpoint(
            host=e.host,
            port=e.port,
            user=e.user,
            secret=Secret.known(e.password(), f"vCenter {e.host}"),
            tls=TlsPolicy(thumbprint=e.thumbprint),
        )

    def dr_endpoint(self, site: str, service: str) -> LabEndpoint:
        """The SRM (``service="srm"``) or VR endpoint of a site."""
        endpoint = self.site(site).srm if service == "srm" else self.site(site).vr
        if endpoint is None:
            raise LabError(f"the lab in {self.directory} has no {service.upper()} endpoint for {site}")
        return endpoint

    @property
    def pids(self) -> list[int]:
        return [pid for s in self.sites.values() for pid in s.pids.values()] + (
            [self.srmsim.pid] if self.srmsim else []
        )

    @property
    def recovery_site(self) -> str:
        return next(name for name in self.sites if name != self.protected_site)


def lab_file(directory: Path) -> Path:
    return directory / LAB_FILE


def load_lab(directory: Path) -> LabConfig:
    path = lab_file(directory)
    if not path.is_file():
        raise LabError(
            f"no lab in {directory}: {LAB_FILE} not found (start one with 'srmctl lab up --dir {directory}')"
        )
    try:
        return LabConfig.model_validate(yaml.safe_load(path.read_text()))
    except (yaml.YAMLError, ValueError) as error:
        raise LabError(f"{path}: not a valid lab file: {error}") from error


def save_lab(config: LabConfig) -> Path:
    path = lab_file(Path(config.directory))
    # Atomic (readers never see half a file), and never through a symlink planted at a temporary name.
    return write_atomically(path, yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False), durable=False)


def safe_component(name: str, what: str) -> str:
    """``name`` if it can be one folder name inside the lab folder; a clear LabError otherwise (a site
    called ``../x`` must not make the lab create, or delete, a folder outside its own)."""
    if (
        name in ("", ".", "..")
        or name.startswith(".")
        or any(c in name for c in "/\\\0")
        or any(ord(c) < 32 for c in name)
        or len(name) > 100
    ):
        raise LabError(
            f"{what} name {name!r} cannot be a folder name in the lab folder (no '/', '\\', "
            "control characters or leading '.', at most 100 characters)"
        )
    return name


class LabManifest(_LabModel):
    """The entries of the lab folder that 'lab up' created (written before it creates any of them)."""

    version: int = 1
    created: list[str]


def manifest_file(directory: Path) -> Path:
    return directory / MANIFEST_FILE


def write_manifest(directory: Path, entries: list[str]) -> None:
    for entry in entries:
        safe_component(entry, "lab folder entry")
    manifest = LabManifest(created=sorted({MANIFEST_FILE, *entries}))
    write_atomically(
        manifest_file(directory), yaml.safe_dump(manifest.model_dump(mode="json"), sort_keys=False), durable=False
    )


def read_manifest(directory: Path) -> LabManifest | None:
    """The manifest, or None when the folder has none; a manifest naming anything but plain entries of
    the folder is refused (it would make 'lab down' delete outside the folder)."""
    path = manifest_file(directory)
    if not path.is_file():
        return None
    try:
        manifest = LabManifest.model_validate(yaml.safe_load(path.read_text()))
    except (yaml.YAMLError, ValueError) as error:
        raise LabError(f"{path}: not a valid lab manifest: {error}") from error
    for entry in manifest.created:
        safe_component(entry, f"{path}: entry")
    return manifest
