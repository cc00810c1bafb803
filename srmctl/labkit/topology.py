"""The lab topology file: sites, datastores, folders, VMs with disks, protection groups and
recovery plans with their metadata. The per-VM and plan-level metadata keys are the snapshot format's,
so one vocabulary serves the lab, snapshots and runbooks; this module only checks their outer shape.
Its keys are a contract (extend them, never rename one); see docs/architecture.md.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from srmctl.labkit.topology_checks import ROOT_FOLDER as ROOT_FOLDER  # the mappings' name for the VM folder
from srmctl.labkit.topology_checks import topology_problems
from srmctl.runbook.problems import Problem
from srmctl.runbook.source import Document, YamlRejected, load_file, model_problems, parse, reject

_SIZE = re.compile(r"^\s*(\d+)\s*(B|KiB|MiB|GiB)?\s*$")
_UNITS = {None: 1, "B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


def parse_size(value: str | int) -> int:
    """``"32MiB"`` → bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(value) if isinstance(value, str) else None  # a float or a list is no size either
    if not match:
        raise ValueError(f"size {value!r}: use a number with B, KiB, MiB or GiB")
    return int(match.group(1)) * _UNITS[match.group(2)]


class _TopologyModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TopologyCluster(_TopologyModel):
    name: str
    hosts: int = Field(2, ge=1, le=32)


class TopologySite(_TopologyModel):
    datacenter: str
    # The SRM site name chosen at installation; default: a vCenter host name unlike the site's key.
    srm_site_name: str | None = Field(None, min_length=1, max_length=80)
    clusters: list[TopologyCluster] = Field(min_length=1)
    datastores: list[str] = Field(min_length=1)
    folders: list[str] = []


class TopologyDisk(_TopologyModel):
    size: int
    grow_after_failover: int = Field(
        default=0,
        ge=0,
        description=(
            "Grow this disk of the recovered VM at the recovery site by this much once the scenario's failover "
            "has run (e.g. 1MiB): an operator extended it during the outage, so the old disk at home is no "
            "longer a seed of its size."
        ),
    )

    @field_validator("size", "grow_after_failover", mode="before")
    @classmethod
    def _size(cls, value: Any) -> int:
        return parse_size(value)


class TopologyMpit(_TopologyModel):
    """Multiple point-in-time instances: how many per day, kept for how many days (VR's mpit_*)."""

    instances: int = Field(ge=1, le=24)
    days: int = Field(ge=1, le=30)


class TopologyVmReplication(_TopologyModel):
    target_datastore: str
    rpo: str = "15m"
    quiesce: bool = False
    network_compression: bool = False
    encryption: bool = False
    auto_replicate_new_disks: bool = True
    mpit: TopologyMpit | None = None


class TopologyVm(_TopologyModel):
    name: str
    folder: str = ""
    datastore: str
    disks: list[TopologyDisk] = [TopologyDisk(size=1024**2)]
    power: Literal["on", "off"] = "on"
    replication: TopologyVmReplication | None = None

    @field_validator("power", mode="before")
    @classmethod
    def _power(cls, value: Any) -> Any:
        # YAML 1.1 reads a bare on/off as a boolean; the topology vocabulary means a power state.
        if isinstance(value, bool):
            return "on" if value else "off"
        return value


class TopologyGroup(_TopologyModel):
    name: str
    vms: list[str] = Field(min_length=1)
    description: str = ""


class TopologyPlan(_TopologyModel):
    name: str
    description: str = ""
    protection_groups: list[str] = []
    vms: dict[str, dict[str, Any]] = {}  # per-VM metadata, snapshot vocabulary
    steps: dict[str, list[dict[str, Any]]] = {}  # plan-level custom steps by view mode


class TopologyMappings(_TopologyModel):
    """SRM inventory mappings of one direction: what protecting the VMs of the site that keys it at the
    other site needs (that site's SRM holds the mappings; the placeholder datastores are the other site's)."""

    folders: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "VM folder of this site -> VM folder of the other site, as paths below the datacenter's VM folder "
            "('Web/Frontend'); '/' is the VM folder itself. SRM puts each VM's placeholder, and the recovered "
            "VM, in the folder its own folder maps to. Mappings do not inherit: map every folder that holds a VM."
        ),
    )
    resource_pools: dict[str, str] = Field(
        default_factory=dict,
        description=("Cluster of this site -> cluster of the other site: maps the clusters' root resource pools."),
    )
    networks: dict[str, str] = Field(
        default_factory=dict,
        description=("Network of this site -> network of the other site, by name (vcsim's is 'VM Network')."),
    )
    placeholder_datastores: list[str] = Field(
        default_factory=list,
        description=(
            "Datastores of the other site that keep this direction's placeholder VMs (configured on the other "
            "site's SRM); SRM uses the first."
        ),
    )


class Topology(_TopologyModel):
    sites: dict[str, TopologySite]
    protected_site: str
    vms: list[TopologyVm]
    protection_groups: list[TopologyGroup] = []
    recovery_plans: list[TopologyPlan] = []
    inventory_mappings: dict[str, TopologyMappings] = Field(
        default_factory=dict,
        description=(
            "SRM inventory mappings per direction, keyed by the site whose VMs they protect. A direction not "
            "listed gets what an administrator sets up when pairing the sites: every folder mapped to the "
            "other site's folder of the same path (or its VM folder when it has none), the i-th cluster's "
            "resource pool to the other site's i-th (or last) cluster's, every network to the other site's "
            "network of the same name (or its first), and the other site's first datastore as placeholder "
            "datastore. A direction listed gets exactly what it lists, so leaving an object out reproduces "
            "SRM's MISSING_MAPPING."
        ),
    )

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> Topology:
        # The loader passes a list in the context to get the findings located (file:line:col); built in code,
        # a topology with problems is refused outright.
        problems = topology_problems(self)
        collect = info.context.get("problems") if isinstance(info.context, dict) else None
        if isinstance(collect, list):
            collect.extend(problems)
        elif problems:
            raise ValueError("; ".join(f"{p.keypath}: {p.message}" for p in problems))
        return self

    @property
    def recovery_site(self) -> str:
        return next(name for name in self.sites if name != self.protected_site)

    @property
    def recovery_site_model(self) -> TopologySite:
        return self.sites[self.recovery_site]


def load_topology(path: Path | None = None) -> Topology:
    """Load a topology file, or the default one shipped in the package. Files are read under the runbook's
    limits (1 MiB, regular files, UTF-8, 64 levels; see docs/runbook.md) and every problem is reported as
    ``path:LINE:COL: key.path: message`` in :class:`RunbookInvalid`."""
    try:
        if path is None:
            source = "default-topology.yaml"
            doc = parse(resources.files("srmctl.labkit").joinpath(source).read_text(), "topology")
        else:
            source = str(path)
            doc = load_file(source, "topology")
    except YamlRejected as rejected:
        reject(source, Document(None), rejected.problems)
    sites = doc.data.get("sites") if isinstance(doc.data, dict) else None
    if isinstance(sites, dict) and len(sites) != 2:
        # Checked first: the model's reference checks look for "the other site" and fail without one.
        reject(source, doc, [*doc.problems, Problem(("sites",), "a lab has exactly two sites")])
    found: list[Problem] = []  # the reference and metadata checks' findings (topology_checks)
    try:
        topology = Topology.model_validate(doc.data, context={"problems": found})
    except ValidationError as error:
        reject(source, doc, [*doc.problems, *model_problems(error.errors())])
    except OverflowError as error:  # pydantic turns ValueError into findings, but not this
        reject(source, doc, [*doc.problems, Problem((), f"number out of range: {error}")])
    if doc.problems or found:
        reject(source, doc, [*doc.problems, *found])
    return topology


def scaled_topology(base: Topology, vm_count: int) -> Topology:
    """The base topology's sites with ``vm_count`` generated VMs (small disks), one protection group and
    one recovery plan: for scale tests and benchmarks."""
    protected = base.sites[base.protected_site]
    target_ds = base.recovery_site_model.datastores[0]
    folders = protected.folders or [""]
    vms = [
        TopologyVm(
            name=f"vm{i:04d}",
            folder=folders[i % len(folders)],
            datastore=protected.datastores[i % len(protected.datastores)],
            disks=[TopologyDisk(size=64 * 1024)],
            power="on",
            replication=TopologyVmReplication(target_datastore=target_ds, rpo="15m"),
        )
        for i in range(1, vm_count + 1)
    ]
    names = [vm.name for vm in vms]
    return Topology(
        sites=base.sites,
        protected_site=base.protected_site,
        vms=vms,
        protection_groups=[TopologyGroup(name="Scale PG", vms=names)],
        recovery_plans=[
            TopologyPlan(
                name="Scale Plan",
                protection_groups=["Scale PG"],
                vms={n: {"priority": f"P{(i % 5) + 1}"} for i, n in enumerate(names)},
            )
        ],
    )
