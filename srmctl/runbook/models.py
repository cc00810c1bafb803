"""Typed models of the runbook format, version 1.

The models are the single source of truth for the format: the loader validates YAML against them,
``srmctl schema`` exports them as JSON Schema, and the engine reads them. All models are frozen (a runbook
never changes during a run) and reject unknown keys (a misspelt key must never be silently ignored).

Checks that only need one value or one small mapping live with the models as validators so that their errors carry the
exact key path. Checks spanning several top-level keys (site references, "vms or select", duplicate VMs) live
in :mod:`srmctl.runbook.checks`, which works on plain data so the loader can report them even when other keys
are invalid.

The models are split by what they describe: :mod:`srmctl.runbook.values` (durations, patterns, the base
model), :mod:`srmctl.runbook.sites` (endpoints), :mod:`srmctl.runbook.step_names` (the steps and their
orders) and this module (the rest), which re-exports the others' names so that
``from srmctl.runbook.models import X`` works for every model and type.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, Strict, ValidationInfo, field_validator, model_validator

from srmctl.runbook.checks import cross_checks
from srmctl.runbook.sites import Endpoint, Site, VCenterEndpoint
from srmctl.runbook.step_names import (
    DEFAULT_STEPS,
    REBUILD_STEPS,
    REPROTECT_ORDER,
    REPROTECT_STEPS,
    STEP_NAMES,
    StepName,
    Steps,
)
from srmctl.runbook.values import (
    DURATION_PATTERN,
    ENV_NAME_PATTERN,
    NAME_PATTERN,
    PATTERN_HINTS,
    THUMBPRINT_PATTERN,
    UUID_PATTERN,
    Duration,
    FilePath,
    Model,
    Names,
    NonEmpty,
    Thumbprint,
    duration_between,
    format_duration,
    parse_duration,
    resolve_relative,
)

__all__ = [
    "DEFAULT_STEPS",
    "DURATION_PATTERN",
    "ENV_NAME_PATTERN",
    "FORMAT_VERSION",
    "NAME_PATTERN",
    "PATTERN_HINTS",
    "REBUILD_STEPS",
    "REPROTECT_ORDER",
    "REPROTECT_STEPS",
    "STEP_NAMES",
    "THUMBPRINT_PATTERN",
    "UUID_PATTERN",
    "Confirm",
    "Duration",
    "Endpoint",
    "Failback",
    "FilePath",
    "Model",
    "Names",
    "NonEmpty",
    "Prompts",
    "GroupSettings",
    "GroupsSettings",
    "PlanSettings",
    "ReplicationSettings",
    "Runbook",
    "Scenario",
    "SeedPolicy",
    "Select",
    "Site",
    "SnapshotPolicy",
    "StepName",
    "Steps",
    "Strategy",
    "Thumbprint",
    "VCenterEndpoint",
    "Vm",
    "Vms",
    "duration_between",
    "format_duration",
    "parse_duration",
]

FORMAT_VERSION = 1

Scenario = Literal["planned-migration", "disaster-recovery"]
Strategy = Literal["rebuild", "reprotect", "auto"]
SeedPolicy = Literal["required", "preferred", "none"]


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


class ReplicationSettings(Model):
    """vSphere Replication for the reversed and the restored replication. Each VM keeps the settings its
    replication had before the failback (recorded in the metadata snapshot); rpo, quiesce and
    network_compression are the defaults for VMs with no recorded settings, or, with override: true, applied
    to every VM."""

    rpo: Annotated[Duration, AfterValidator(duration_between("5m", "24h"))] | None = Field(
        default=None,
        description="Recovery point objective, 5m to 24h, for VMs with no recorded settings "
        "(every VM with override: true).",
    )
    quiesce: bool = Field(default=False, description="Quiesce the guest file system (VMware Tools).")
    network_compression: bool = Field(default=False, description="Compress replication traffic.")
    override: bool = Field(
        default=False,
        description="Apply rpo, quiesce and network_compression to every VM instead of the "
        "settings recorded for it (its other recorded settings are kept).",
    )
    seeds: SeedPolicy = Field(
        default="preferred",
        description="Use the orphaned VMs' disks as seeds: 'required' fails when a disk has none, "
        "'preferred' falls back to a full copy, 'none' always copies in full.",
    )

    @model_validator(mode="after")
    def _override_needs_rpo(self) -> ReplicationSettings:
        if self.override and self.rpo is None:
            raise ValueError("override: true applies rpo to every VM: set rpo too")
        return self

    @property
    def rpo_minutes(self) -> int | None:
        return None if self.rpo is None else int(self.rpo.total_seconds() // 60)


class GroupSettings(Model):
    """One vSphere Replication protection group for all the VMs, in both directions (instead of the plan's
    own groups; the same as protection_groups.rename mapping every group to this name)."""

    name: NonEmpty = Field(description="Protection group name.")


class GroupsSettings(Model):
    """The protection groups each direction creates. Default: the plan's own groups again, with the names,
    descriptions and VMs the metadata snapshot records (see docs/architecture.md, "Protection groups")."""

    rename: dict[NonEmpty, NonEmpty] = Field(
        default={},
        description="Original group name: name to create instead, in both directions. Groups not listed keep "
        "their name; several groups renamed to one name are merged into it.",
    )


class PlanSettings(Model):
    """The recovery plan whose direction is flipped and whose metadata is preserved."""

    name: NonEmpty = Field(description="Recovery plan name.")
    metadata: FilePath | None = Field(
        default=None,
        description="Also write the plan-metadata snapshot to this YAML file (relative to the runbook).",
    )
    shared_with: Names = Field(
        default=(),
        description="Other recovery plans that hold some of this plan's protection groups: the rebuilt groups go "
        "back into them too, and their metadata is kept as this plan's is.",
    )

    @field_validator("metadata")
    @classmethod
    def _relative_to_runbook(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else resolve_relative(value, info)


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


class Recovery(Model):
    """What srmctl may do about the failover it fails back."""

    complete_started: bool = Field(
        default=False,
        description="A recovery plan in RECOVERY_STARTED (a recovery started but not completed; the sites may "
        "have been disconnected during it) is failed back only once that recovery is complete. true: "
        "preflight.check completes it from the recovery site (the site the VMs come back from), a high-impact "
        "action. false: preflight.check stops, saying what to do.",
    )


class Reprotect(Model):
    """How ``plan.reprotect`` (strategies reprotect and auto) treats a plan SRM will not reprotect as it is."""

    force: bool = Field(
        default=False,
        description="A plan in RECOVERY_SPLIT_BRAIN (a disaster recovery whose protected site came back) is "
        "reprotected only after its recovery is run again as a planned migration, which shuts down the stale "
        "VMs at the site the VMs left (confirm.power_off_stale_vms applies to powered-on ones). true: srmctl "
        "runs that migration, then the reprotect. false: strategy reprotect stops with an error naming the "
        "state, strategy auto falls back to the rebuild.",
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
    select: Select | None = Field(default=None, description="Choose the VMs by protection group or recovery plan.")
    replication: ReplicationSettings = Field(
        description="vSphere Replication: the seed policy, and settings for VMs with no recorded settings (with "
        "override: for every VM)."
    )
    protection_group: GroupSettings | None = Field(
        default=None, description="Put all the VMs into this one protection group (instead of the plan's own)."
    )
    protection_groups: GroupsSettings | None = Field(
        default=None,
        description="The plan's own protection groups, rebuilt in each direction (the default), optionally renamed.",
    )
    recovery_plan: PlanSettings = Field(description="Recovery plan to flip and preserve.")
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
    reprotect: Reprotect = Field(default=Reprotect(), description="SRM reprotect options (split brain).")
    recovery: Recovery = Field(default=Recovery(), description="The failover being failed back (RECOVERY_STARTED).")

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
    def group_renames(self) -> dict[str, str]:
        """Original protection group name → the name each direction creates it under (only those renamed)."""
        return dict(self.protection_groups.rename) if self.protection_groups else {}

    @property
    def selection_summary(self) -> str:
        """One phrase saying which VMs the runbook moves, for summaries and logs."""
        if self.vms is not None:
            return f"{len(self.vms)} VM" + ("" if len(self.vms) == 1 else "s")
        assert self.select is not None  # guaranteed by cross_checks
        if self.select.protection_group is not None:
            return f"VMs of protection group {self.select.protection_group!r}"
        return f"VMs of recovery plan {self.select.recovery_plan!r}"
