"""The step library: one module per step family, registered by name (``family.verb``); the step contract
and how a run uses it: see docs/architecture.md.

Public API: :class:`Step`, :class:`Action`, :class:`Verification`, :class:`Impact`, :func:`get_step`,
:func:`available_steps`, :class:`StepContext`, the vCenter facade :class:`VCenterOps` and the SRM/VR facade
:class:`DrSite`.
"""

from collections.abc import Iterable

from srmctl.adapters.dr.site import DrSite
from srmctl.adapters.vcenter.facade import ReadOnlyViolation, VCenterOps
from srmctl.steps import (
    metadata,
    orphans,
    preflight,
    protection,
    protection_groups,
    recovery_plan,
    replication,
    reprotect,
)
from srmctl.steps.base import Action, Impact, Step, Verification, available_steps, get_step
from srmctl.steps.context import StepContext

#: The step modules: each registers its steps when imported, and importing them here fills the registry
#: before anything can ask it (Python runs a package's __init__ before any of its modules).
STEP_MODULES = (metadata, orphans, preflight, protection, protection_groups, recovery_plan, replication, reprotect)

#: Steps that talk to vCenter only; every other step needs the sites' SRM and VR as well.
VCENTER_ONLY_STEPS = frozenset({"preflight.check", "orphans.unregister"})


def needs_dr(names: Iterable[str]) -> bool:
    """Whether a run of these steps needs SRM/VR sessions (so vCenter-only runs do not log in to them)."""
    return any(name not in VCENTER_ONLY_STEPS for name in names)


__all__ = [
    "Action",
    "DrSite",
    "Impact",
    "ReadOnlyViolation",
    "Step",
    "StepContext",
    "VCenterOps",
    "Verification",
    "available_steps",
    "get_step",
    "needs_dr",
]
