"""``lab.yaml``: what a running lab offers (endpoints, users, password files, thumbprints, pids)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from srmctl.adapters.tls import TlsPolicy
from srmctl.adapters.vcenter.connection import VCenterEndpoint
from srmctl.errors import LabError, NotFound

LAB_FILE = "lab.yaml"


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


class LabSite(_LabModel):
    datacenter: str
    vcenter: LabEndpoint
    datastores: dict[str, str]  # name → local directory
    pids: dict[str, int]
    srm: LabEndpoint | None = None  # SRM and VR REST (srmsim serves both API roots on one port per site)
    vr: LabEndpoint | None = None


class LabSrmsim(_LabModel):
    pid: int
    pairing_id: str
    scenario: str
    config: str  # the srmsim config file, for tests that attach to it


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

    def vcenter_endpoint(self, site: str) -> VCenterEndpoint:
        e = self.site(site).vcenter
        return VCenterEndpoint(host=e.host, port=e.port, user=e.user, password=e.password(),
                               tls=TlsPolicy(thumbprint=e.thumbprint))

    def dr_endpoint(self, site: str, service: str) -> LabEndpoint:
        """The SRM (``service="srm"``) or VR endpoint of a site."""
        endpoint = self.site(site).srm if service == "srm" else self.site(site).vr
        if endpoint is None:
            raise LabError(f"the lab in {self.directory} has no {service.upper()} endpoint for {site}")
        return endpoint

    @property
    def pids(self) -> list[int]:
        return [pid for s in self.sites.values() for pid in s.pids.values()] + (
            [self.srmsim.pid] if self.srmsim else [])

    @property
    def recovery_site(self) -> str:
        return next(name for name in self.sites if name != self.protected_site)


def lab_file(directory: Path) -> Path:
    return directory / LAB_FILE


def load_lab(directory: Path) -> LabConfig:
    path = lab_file(directory)
    if not path.is_file():
        raise LabError(f"no lab in {directory}: {LAB_FILE} not found "
                       f"(start one with 'srmctl lab up --dir {directory}')")
    try:
        return LabConfig.model_validate(yaml.safe_load(path.read_text()))
    except (yaml.YAMLError, ValueError) as error:
        raise LabError(f"{path}: not a valid lab file: {error}") from error


def save_lab(config: LabConfig) -> Path:
    path = lab_file(Path(config.directory))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    tmp.replace(path)  # atomic: readers never see half a file
    return path
