"""The plan-metadata snapshot: one YAML document per recovery plan, keyed by VM name (never MoRef).

The keys are those of the lab topology (see docs/architecture.md), so one vocabulary serves the lab, snapshots and
runbooks. IP settings are stored per NIC as ``recovery``/``protected`` relative to the plan's direction
*at capture time*, which the snapshot records (``plan.protected_site``/``plan.recovery_site``): after the
plan's direction flips, restore maps them back to the same physical site, so re-IP stays with its site.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from srmctl.metadata.replication import VmReplication
from srmctl.runbook.checks import duration_too_long
from srmctl.runbook.files import write_atomically
from srmctl.runbook.models import Duration
from srmctl.runbook.source import Document, YamlRejected, load_file, model_problems, parse, reject

FORMAT = "srmctl/plan-metadata/v1"

Priority = Literal["P1", "P2", "P3", "P4", "P5"]
CalloutType = Literal["RUN_ON_SRM_SERVER", "RUN_ON_VM", "PROMPT"]
ViewMode = Literal["recovery", "test", "cleanup", "reprotect"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _bounded(value: object) -> object:
    # Checked on the text, before it becomes a timedelta: 9999999999d would overflow it.
    message = duration_too_long(value)
    if message:
        raise ValueError(message)
    return value


SnapshotDuration = Annotated[Duration, BeforeValidator(_bounded)]


# Addresses are checked but kept as written, so a snapshot round-trips byte for byte. An empty string is how
# SRM leaves a field unset, and is kept too.
def _address(parse: Any, name: str) -> AfterValidator:
    def check(value: str | None) -> str | None:
        if value:
            try:
                parse(value)
            except ValueError:
                raise ValueError(f"{value!r} is not {name}") from None
        return value

    return AfterValidator(check)


def _netmask(value: str | None) -> str | None:
    if value:
        try:
            bits = int(ipaddress.IPv4Address(value))
        except ValueError:
            bits = -1
        host = bits ^ 0xFFFFFFFF
        if bits < 0 or host & (host + 1):  # the host part must be all ones after the network part
            raise ValueError(f"{value!r} is not an IPv4 netmask such as 255.255.255.0")
    return value


V4 = Annotated[str, _address(ipaddress.IPv4Address, "an IPv4 address")]
V6 = Annotated[str, _address(ipaddress.IPv6Address, "an IPv6 address")]
AnyIp = Annotated[str, _address(ipaddress.ip_address, "an IP address")]
Netmask = Annotated[str, AfterValidator(_netmask)]


class SnapshotCallout(_Model):
    """A pre/post power-on step: a command (on the SRM server or in the VM) or a prompt."""

    type: CalloutType
    name: str
    content: str = ""
    timeout: SnapshotDuration = timedelta(0)


class PlanStep(SnapshotCallout):
    """A plan-level custom recovery step in the plan's step list for one view mode.

    ``after`` is the title of the built-in step it follows ("" when it comes first): SRM's built-in steps
    differ by view mode and direction, so a restore places the step after the same built-in step in the
    target plan's live list. ``position`` is its zero-based index in the list at capture; snapshots written
    before ``after`` existed have only that, and are restored by it."""

    position: int = Field(ge=0)
    after: str | None = None


class Startup(_Model):
    action: Literal["POWER_ON", "DO_NOT_POWER_ON"] = "POWER_ON"
    tools_timeout: SnapshotDuration | None = None  # wait for VMware Tools; None = do not wait
    delay: SnapshotDuration | None = None  # delay before post-power-on steps and dependent VMs


class Shutdown(_Model):
    skip_guest: bool = False
    timeout: SnapshotDuration


class Ipv4(_Model):
    type: Literal["STATIC", "DHCP"] = "STATIC"
    address: V4 | None = None
    mask: Netmask | None = None
    gateway: V4 | None = None
    alternate_gateway: V4 | None = None


class Ipv6(_Model):
    type: Literal["STATIC", "DHCP"] = "STATIC"
    address: V6 | None = None
    prefix_length: int | None = Field(None, ge=0, le=128)
    gateway: V6 | None = None
    alternate_gateway: V6 | None = None


class Dns(_Model):
    type: Literal["STATIC", "DHCP"] = "STATIC"
    servers: tuple[AnyIp, ...] = ()
    suffixes: tuple[str, ...] = ()


class Wins(_Model):
    primary: V4 | None = None
    secondary: V4 | None = None


class IpConfig(_Model):
    ipv4: Ipv4 | None = None
    ipv6: Ipv6 | None = None
    dns: Dns | None = None
    wins: Wins | None = None


class NicIp(_Model):
    nic: int = Field(ge=0)
    recovery: IpConfig | None = None
    protected: IpConfig | None = None


class VmMetadata(_Model):
    instance_uuid: str | None = None
    priority: Priority = "P3"
    dependencies: tuple[str, ...] = ()  # VM names in the same priority group, started before this VM
    startup: Startup = Startup()
    shutdown: Shutdown | None = None
    pre_power_on: tuple[SnapshotCallout, ...] = ()
    post_power_on: tuple[SnapshotCallout, ...] = ()
    ip: tuple[NicIp, ...] = ()
    # How SRM customises IPs (MANUAL = the per-NIC settings above); None = SRM's default for the NICs given.
    ip_customization: Literal["AUTO", "NETWORK_MAPPING_LEVEL", "MANUAL", "NO_CUSTOMIZATION"] | None = None

    @field_validator("dependencies")
    @classmethod
    def _sorted(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # Dependencies are a set in SRM; a canonical order keeps diffs and round trips exact.
        return tuple(sorted(set(value)))


class PlanInfo(_Model):
    name: str
    description: str = ""
    protected_site: str
    recovery_site: str
    protection_groups: tuple[str, ...] = ()


class GroupInfo(_Model):
    """One protection group of the plan as the snapshot records it: the rebuild creates it again with this
    name, description and VMs (see docs/architecture.md, "Protection groups")."""

    type: str = "HBR"  # SRM's replication_type: HBR is vSphere Replication, the only kind srmctl rebuilds
    description: str = ""
    vms: tuple[str, ...] = ()  # VM names, sorted
    plans: tuple[str, ...] = ()  # the recovery plans holding the group, sorted

    @field_validator("vms", "plans")
    @classmethod
    def _sorted_set(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted(set(value)))


class Source(_Model):
    site: str
    srm: str
    plan_id: str = ""


class Snapshot(_Model):
    format: Literal["srmctl/plan-metadata/v1"] = "srmctl/plan-metadata/v1"
    taken_at: datetime
    source: Source
    plan: PlanInfo
    vms: dict[str, VmMetadata] = {}
    steps: dict[ViewMode, tuple[PlanStep, ...]] = {}
    #: The plan's protection groups by name; None in snapshots taken before srmctl recorded them (their group
    #: structure cannot be compared or rebuilt from the snapshot).
    groups: dict[str, GroupInfo] | None = None
    #: Each VM's vSphere Replication settings, by VM name; None in snapshots taken before srmctl recorded them.
    replication: dict[str, VmReplication] | None = None

    @property
    def richness(self) -> int:
        """How much customisation the snapshot holds; metadata.snapshot refuses to overwrite a richer
        snapshot with an emptier one (a plan whose groups were already removed has lost it)."""
        count = sum(len(s) for s in self.steps.values())
        for vm in self.vms.values():
            count += 1 + len(vm.dependencies) + len(vm.pre_power_on) + len(vm.post_power_on) + len(vm.ip)
        return count

    @property
    def direction(self) -> tuple[str, str]:
        return self.plan.protected_site, self.plan.recovery_site

    def oriented(self, direction: tuple[str, str]) -> Snapshot:
        """The same metadata expressed for a plan running in ``direction`` (protected, recovery): after the
        plan's direction flips, each NIC's ``protected``/``recovery`` settings swap, so every site keeps its
        own addresses. Raises ValueError for a direction between other sites."""
        if direction == self.direction:
            return self
        if direction != self.direction[::-1]:
            raise ValueError(f"snapshot direction {self.direction} does not match {direction}")
        vms = {
            name: vm.model_copy(
                update={"ip": tuple(NicIp(nic=n.nic, protected=n.recovery, recovery=n.protected) for n in vm.ip)}
            )
            for name, vm in self.vms.items()
        }
        plan = self.plan.model_copy(update={"protected_site": direction[0], "recovery_site": direction[1]})
        return self.model_copy(update={"vms": vms, "plan": plan})

    def content(self, *, groups: bool = True, replication: bool = True) -> dict[str, Any]:
        """What diff compares: the customisation and (``groups``, ``replication``, when recorded) the group
        structure and each VM's replication settings. Not
        compared: when and where the snapshot was taken, VM identities (instance UUIDs differ between a VM and
        its recovered copy), and ``plan.protection_groups`` (the same names are compared under ``groups``)."""
        data = self.model_dump(mode="json", exclude={"taken_at", "source", "format"})
        data["plan"].pop("protection_groups", None)
        if not groups or data.get("groups") is None:
            data.pop("groups", None)
        if not replication or data.get("replication") is None:
            data.pop("replication", None)
        for vm in data["vms"].values():
            vm.pop("instance_uuid", None)
        return data


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


class _Dumper(yaml.SafeDumper):
    """Readable unicode, but strings with control or line-separator characters are written double-quoted:
    PyYAML otherwise emits NEL (U+0085) unescaped in single quotes, and it reads back as a space."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    risky = any(ord(c) < 0x20 and c not in "\n" or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029\ufeff" for c in value)
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"' if risky else None)


_Dumper.add_representer(str, _represent_str)


def dump_snapshot(snapshot: Snapshot) -> str:
    data = snapshot.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


def write_snapshot(snapshot: Snapshot, path: Path) -> Path:
    """Write atomically with mode 0600 (snapshots can hold callout commands and addresses)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomically(path, dump_snapshot(snapshot))  # never through a planted symlink


def parse_snapshot(text: str, source: str = "<snapshot>") -> Snapshot:
    """The snapshot in ``text``; raises :class:`RunbookInvalid` with ``source:LINE:COL: key.path: message``
    for every problem (the runbook's YAML rules and limits, see docs/runbook.md)."""
    try:
        doc = parse(text, "snapshot")
    except YamlRejected as rejected:
        reject(source, Document(None), rejected.problems)
    return _validated(doc, source)


def read_snapshot(path: Path) -> Snapshot:
    """The snapshot file at ``path``: a regular file of at most 1 MiB (see docs/runbook.md, "Limits")."""
    try:
        doc = load_file(str(path), "snapshot")
    except YamlRejected as rejected:
        reject(str(path), Document(None), rejected.problems)
    return _validated(doc, str(path))


def _validated(doc: Document, source: str) -> Snapshot:
    try:
        snapshot = Snapshot.model_validate(doc.data)
    except ValidationError as error:
        reject(source, doc, [*doc.problems, *model_problems(error.errors())])
    if doc.problems:  # duplicate keys, unknown tags: valid data, but not what the file says
        reject(source, doc, doc.problems)
    return snapshot
