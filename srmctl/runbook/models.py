"""Typed models of the runbook format, version 1 (DESIGN §5).

The models are the single source of truth for the format: the loader validates YAML against them,
``srmctl schema`` exports them as JSON Schema, and the engine reads them. All models are frozen (a runbook
never changes during a run) and reject unknown keys (a misspelt key must never be silently ignored).

Checks that only need one value or one small mapping live here as validators so that their errors carry the
exact key path. Checks spanning several top-level keys (site references, "vms or select", duplicate VMs) live
in :mod:`srmctl.runbook.checks`, which works on plain data so the loader can report them even when other keys
are invalid.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from srmctl.runbook.checks import cross_checks

FORMAT_VERSION = 1

StepName = Literal[
    "preflight.check",
    "metadata.snapshot",
    "orphans.unregister",
    "replication.cleanup",
    "plan.detach_groups",
    "groups.delete",
    "replication.reverse",
    "groups.create",
    "plan.attach_groups",
    "metadata.restore",
    "plan.test",
    "plan.cleanup",
    "plan.migrate",
    "protection.restore",
    "plan.reprotect",
]
#: Every step srmctl knows, in the default order of ``srmctl failback`` (DESIGN §4).
STEP_NAMES: tuple[str, ...] = get_args(StepName)
#: The sequence ``srmctl failback`` runs when a runbook lists no ``steps`` (``plan.reprotect`` is only used
#: by the reprotect/auto strategies).
DEFAULT_STEPS: tuple[str, ...] = STEP_NAMES[:-1]
#: srmctl's own rebuild of the protection in the failback direction (DESIGN §1 steps 1-6).
REBUILD_STEPS: tuple[str, ...] = ("orphans.unregister", "replication.cleanup", "plan.detach_groups",
                                  "groups.delete", "replication.reverse", "groups.create", "plan.attach_groups")
#: Step order under ``strategy: reprotect|auto``: SRM's own reprotect takes the place of the rebuild (with
#: ``auto`` it runs the rebuild itself when reprotect fails), then the same test, migration and restore.
REPROTECT_ORDER: tuple[str, ...] = ("preflight.check", "metadata.snapshot", "plan.reprotect", *REBUILD_STEPS,
                                    "metadata.restore", "plan.test", "plan.cleanup", "plan.migrate",
                                    "protection.restore")
REPROTECT_STEPS: tuple[str, ...] = tuple(s for s in REPROTECT_ORDER if s not in REBUILD_STEPS)

Scenario = Literal["planned-migration", "disaster-recovery"]
Strategy = Literal["rebuild", "reprotect", "auto"]
SeedPolicy = Literal["required", "preferred", "none"]

# --- durations ---------------------------------------------------------------------------------------------

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
DURATION_PATTERN = r"^(?=\d)(\d+d)?(\d+h)?(\d+m)?(\d+s)?$"
_DURATION_RE = re.compile(DURATION_PATTERN)
_DURATION_HINT = "expected a duration such as 300s, 15m, 1h, 1d or 1h30m"


def parse_duration(value: object) -> timedelta:
    """``"1h30m"`` → ``timedelta(minutes=90)``. Bare numbers are refused: ``rpo: 15`` could mean seconds or
    minutes, and guessing wrong changes data-loss exposure."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"{_DURATION_HINT}; a bare number has no unit")
    text = value.strip()
    if not _DURATION_RE.match(text):
        raise ValueError(f"{_DURATION_HINT}, got {value!r}")
    seconds = sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)([dhms])", text))
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest spelling :func:`parse_duration` reads back: ``timedelta(minutes=90)`` → ``"1h30m"``."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in _UNITS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "examples": ["15m", "1h", "1d"]}),
]


def duration_between(low: str, high: str) -> Any:
    """A validator keeping a duration in ``[low, high]``, naming the bounds as the user writes them."""
    lo, hi = parse_duration(low), parse_duration(high)

    def check(value: timedelta) -> timedelta:
        if not lo <= value <= hi:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return check


# --- small value types -------------------------------------------------------------------------------------

THUMBPRINT_PATTERN = r"^sha256:([0-9a-fA-F]{64}|([0-9a-fA-F]{2}:){31}[0-9a-fA-F]{2})$"
_THUMBPRINT_RE = re.compile(THUMBPRINT_PATTERN)
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
#: What each pattern means, so errors say it in words rather than as a regular expression.
PATTERN_HINTS: dict[str, str] = {
    ENV_NAME_PATTERN: "must be an environment variable name (letters, digits, '_'; no leading digit)",
    NAME_PATTERN: "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
    UUID_PATTERN: "must be a UUID such as 5003c1b2-1a2b-3c4d-5e6f-0123456789ab",
}


def _normalise_thumbprint(value: object) -> object:
    """Accept ``sha256:`` + 64 hex digits, also in openssl's colon-separated form; store lower-case without
    colons, so that comparing with the presented certificate is plain string equality."""
    if not isinstance(value, str):
        return value  # the str type check reports it
    if not _THUMBPRINT_RE.match(value):
        raise ValueError("must be 'sha256:' followed by 64 hex digits (colon-separated pairs are accepted)")
    return "sha256:" + value[len("sha256:") :].replace(":", "").lower()


Thumbprint = Annotated[
    str,
    BeforeValidator(_normalise_thumbprint),
    WithJsonSchema({"type": "string", "pattern": THUMBPRINT_PATTERN}),
]
NonEmpty = Annotated[str, Field(min_length=1)]
# Paths come from YAML as strings; strict mode would otherwise insist on a Path object.
FilePath = Annotated[Path, Strict(False)]

# Sequences are tuples (the runbook is immutable) that YAML writes as lists; Strict(False) lets the list in
# while the items stay strictly typed.
Names = Annotated[tuple[NonEmpty, ...], Strict(False)]
Steps = Annotated[tuple[StepName, ...], Strict(False)]


def _resolve(value: Path, info: ValidationInfo) -> Path:
    """Relative paths are relative to the runbook's directory (passed by the loader as ``base_dir``), so a
    runbook means the same thing whatever directory cron starts srmctl in."""
    base = (info.context or {}).get("base_dir")
    if base is not None and not value.is_absolute():
        return Path(base) / value
    return value


class Model(BaseModel):
    # strict: YAML already types scalars; coercing "8" to 8 or 1 to "1" would hide mistakes such as an
    # unquoted VM name 001 silently becoming "1".
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


# --- sites -------------------------------------------------------------------------------------------------


class Endpoint(Model):
    """Connection settings of one appliance. TLS is verified by default."""

    host: NonEmpty = Field(description="Host name or IP address (no scheme, no path).")
    port: int = Field(default=443, ge=1, le=65535, description="HTTPS port.")
    user: NonEmpty | None = Field(default=None, description="User name, e.g. administrator@vsphere.local.")
    password_env: str | None = Field(
        default=None,
        pattern=ENV_NAME_PATTERN,
        description="Name of the environment variable holding the password.",
    )
    password_file: FilePath | None = Field(
        default=None,
        description="File holding the password (first line). Must not be readable by group or others. "
        "Relative to the runbook's directory.",
    )
    thumbprint: Thumbprint | None = Field(
        default=None, description="Pin the server certificate: 'sha256:' + 64 hex digits (colons allowed)."
    )
    ca_file: FilePath | None = Field(
        default=None,
        description="PEM bundle of CAs to trust instead of the system store. Relative to the runbook.",
    )
    insecure: bool = Field(default=False, description="Skip TLS verification entirely (lab use only; warns).")

    @field_validator("host")
    @classmethod
    def _plain_host(cls, value: str) -> str:
        if "://" in value or "/" in value:
            raise ValueError("must be a host name or address, not a URL (use 'port' for the port)")
        return value

    @field_validator("password_file", "ca_file")
    @classmethod
    def _relative_to_runbook(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else _resolve(value, info)

    @model_validator(mode="after")
    def _consistent(self) -> Endpoint:
        if self.password_env is not None and self.password_file is not None:
            raise ValueError("set only one of password_env and password_file")
        if self.insecure and self.thumbprint is not None:
            raise ValueError("insecure: true disables the check that thumbprint pins; remove one of them")
        return self

    @property
    def has_password_source(self) -> bool:
        return self.password_env is not None or self.password_file is not None


class VCenterEndpoint(Endpoint):
    """The site's vCenter. Its credentials are also the default for SRM and VR (one SSO domain)."""

    user: NonEmpty = Field(description="User name, e.g. administrator@vsphere.local.")


class Site(Model):
    """One site: a vCenter, an SRM server and a vSphere Replication management server."""

    vcenter: VCenterEndpoint = Field(description="The site's vCenter Server.")
    srm: Endpoint = Field(description="The site's SRM server. Credentials default to the vCenter's.")
    vr: Endpoint = Field(
        description="The site's vSphere Replication server. Credentials default to the vCenter's."
    )

    def credentials(self, service: Literal["vcenter", "srm", "vr"]) -> Endpoint:
        """The endpoint of ``service`` with the vCenter's user and password source filled in when it names
        none of its own (SRM and VR normally share vCenter's SSO domain)."""
        endpoint: Endpoint = getattr(self, service)
        if endpoint.user is not None or endpoint.has_password_source:
            return endpoint
        vc = self.vcenter
        return endpoint.model_copy(
            update={"user": vc.user, "password_env": vc.password_env, "password_file": vc.password_file}
        )


class Failback(Model):
    """The direction of the failback: VMs move from the site where they now run to the original site."""

    from_: NonEmpty = Field(alias="from", description="Site where the VMs run now (the recovery site).")
    to: NonEmpty = Field(description="Site the VMs go back to (the original protected site).")


# --- what to move ------------------------------------------------------------------------------------------


class Vm(Model):
    """A VM to bring back, identified by name (and instance UUID when names are not unique)."""

    name: NonEmpty = Field(description="VM name as shown in vCenter.")
    instance_uuid: str | None = Field(
        default=None, pattern=UUID_PATTERN, description="vCenter instance UUID; disambiguates equal names."
    )
    datastore: NonEmpty | None = Field(
        default=None,
        description="Datastore at the 'to' site the VM goes back to. Default: where its orphan lives.",
    )
    folder: NonEmpty | None = Field(
        default=None, description="VM folder at the 'to' site ('/'-separated). Default: the orphan's folder."
    )

    @field_validator("instance_uuid")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.lower() if value else value


Vms = Annotated[tuple[Vm, ...], Strict(False)]


class Select(Model):
    """Choose the VMs by what already protects them instead of listing them. Exactly one key."""

    protection_group: NonEmpty | None = Field(default=None, description="All VMs of this protection group.")
    recovery_plan: NonEmpty | None = Field(default=None, description="All VMs of this recovery plan.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Select:
        if (self.protection_group is None) == (self.recovery_plan is None):
            raise ValueError("set exactly one of protection_group and recovery_plan")
        return self


# --- how to protect ----------------------------------------------------------------------------------------


class Replication(Model):
    """vSphere Replication settings for the reversed and the restored replication."""

    rpo: Annotated[Duration, AfterValidator(duration_between("5m", "24h"))] = Field(
        description="Recovery point objective, 5m to 24h."
    )
    quiesce: bool = Field(default=False, description="Quiesce the guest file system (VMware Tools).")
    network_compression: bool = Field(default=False, description="Compress replication traffic.")
    seeds: SeedPolicy = Field(
        default="preferred",
        description="Use the orphaned VMs' disks as seeds: 'required' fails when a disk has none, "
        "'preferred' falls back to a full copy, 'none' always copies in full.",
    )


class ProtectionGroup(Model):
    """The vSphere Replication protection group srmctl creates for the VMs."""

    name: NonEmpty = Field(description="Protection group name.")


class RecoveryPlan(Model):
    """The recovery plan whose direction is flipped and whose metadata is preserved."""

    name: NonEmpty = Field(description="Recovery plan name.")
    metadata: FilePath | None = Field(
        default=None,
        description="Also write the plan-metadata snapshot to this YAML file (relative to the runbook).",
    )

    @field_validator("metadata")
    @classmethod
    def _relative_to_runbook(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else _resolve(value, info)


class Prompts(Model):
    """Which SRM prompt steps srmctl may answer during test and migration; others stop the run."""

    dismiss: Names = Field(default=(), description="Glob patterns (fnmatch) of prompt names to dismiss.")


class Confirm(Model):
    """Explicit opt-ins for actions that can hurt a live VM."""

    power_off_stale_vms: bool = Field(
        default=False,
        description="disaster-recovery only: allow powering off and unregistering stale VMs that were "
        "powered on again at the site the VMs left (the live copy runs at the other site).",
    )


class SnapshotPolicy(Model):
    """Freshness of the plan-metadata snapshot, for ``srmctl check``."""

    max_age: Duration | None = Field(
        default=None, description="Not ready when the snapshot is older. Default: not checked."
    )


# --- the runbook -------------------------------------------------------------------------------------------


class Runbook(Model):
    """A failback runbook, format version 1."""

    version: Literal[1] = Field(description="Runbook format version. Always 1.")
    name: str = Field(pattern=NAME_PATTERN, description="Runbook name: letters, digits, '.', '_', '-'.")
    description: str | None = Field(default=None, description="Free text for operators.")
    scenario: Scenario = Field(description="How the VMs reached the site they run at now.")
    sites: dict[NonEmpty, Site] = Field(min_length=2, description="The sites, by name (e.g. new-york).")
    failback: Failback = Field(description="Direction of the failback.")
    vms: Vms | None = Field(default=None, min_length=1, description="The VMs to bring back (or use select).")
    select: Select | None = Field(
        default=None, description="Choose the VMs by protection group or recovery plan."
    )
    replication: Replication = Field(description="Replication settings.")
    protection_group: ProtectionGroup = Field(description="Protection group to create.")
    recovery_plan: RecoveryPlan = Field(description="Recovery plan to flip and preserve.")
    strategy: Strategy = Field(
        default="rebuild",
        description="'rebuild' runs srmctl's step sequence, 'reprotect' uses SRM's reprotect, 'auto' tries "
        "reprotect and falls back to rebuild.",
    )
    prompts: Prompts = Field(default=Prompts(), description="Prompts srmctl may dismiss.")
    concurrency: int = Field(default=8, ge=1, le=64, description="Maximum parallel per-VM operations.")
    steps: Steps | None = Field(
        default=None, min_length=1, description="Run only these steps (in the default order). Default: all."
    )
    confirm: Confirm = Field(default=Confirm(), description="Explicit opt-ins for risky actions.")
    snapshot: SnapshotPolicy = Field(default=SnapshotPolicy(), description="Snapshot freshness policy.")

    @field_validator("steps")
    @classmethod
    def _no_repeats(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None:
            repeated = sorted({s for s in value if value.count(s) > 1})
            if repeated:
                raise ValueError(f"steps listed more than once: {', '.join(repeated)}")
        return value

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> Runbook:
        # The loader runs these checks itself on the raw YAML (so they are reported alongside every other
        # error, with positions) and turns them off here; direct construction in Python still gets them.
        if (info.context or {}).get("skip_cross_checks"):
            return self
        problems = cross_checks(self.model_dump(by_alias=True))
        if problems:
            raise ValueError("; ".join(f"{p.keypath}: {p.message}" for p in problems))
        return self

    # --- convenience accessors -----------------------------------------------------------------------------

    def site(self, name: str) -> Site:
        try:
            return self.sites[name]
        except KeyError:
            raise KeyError(f"no site named {name!r} in runbook {self.name!r}") from None

    @property
    def source_site_name(self) -> str:
        """Where the VMs run now (``failback.from``)."""
        return self.failback.from_

    @property
    def target_site_name(self) -> str:
        """Where the VMs go back to (``failback.to``)."""
        return self.failback.to

    @property
    def source_site(self) -> Site:
        return self.site(self.failback.from_)

    @property
    def target_site(self) -> Site:
        return self.site(self.failback.to)

    @property
    def vm_names(self) -> tuple[str, ...]:
        """Names of the listed VMs; empty when VMs are chosen with ``select``."""
        return tuple(vm.name for vm in self.vms or ())

    @property
    def effective_steps(self) -> tuple[str, ...]:
        """The steps to run, in the strategy's order, whatever order the runbook listed them in."""
        if self.steps is None:
            return DEFAULT_STEPS if self.strategy == "rebuild" else REPROTECT_STEPS
        chosen = set(self.steps)
        return tuple(step for step in self.step_order if step in chosen)

    @property
    def step_order(self) -> tuple[str, ...]:
        """Every step name in the order this runbook's strategy runs them."""
        return STEP_NAMES if self.strategy == "rebuild" else REPROTECT_ORDER

    @property
    def selection_summary(self) -> str:
        """One phrase saying which VMs the runbook moves, for summaries and logs."""
        if self.vms is not None:
            return f"{len(self.vms)} VM" + ("" if len(self.vms) == 1 else "s")
        assert self.select is not None  # guaranteed by cross_checks
        if self.select.protection_group is not None:
            return f"VMs of protection group {self.select.protection_group!r}"
        return f"VMs of recovery plan {self.select.recovery_plan!r}"
