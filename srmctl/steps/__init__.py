"""The step library (DESIGN §4): one module per step family, registered by name (``family.verb``).

Public API: :class:`Step`, :class:`Action`, :class:`Verification`, :class:`Impact`, :func:`get_step`,
:func:`available_steps`, :class:`StepContext` and the vCenter facade :class:`VCenterOps`.
"""

from srmctl.steps.base import Action, Impact, Step, Verification, available_steps, get_step
from srmctl.steps.context import StepContext
from srmctl.steps.ops import ReadOnlyViolation, VCenterOps

__all__ = ["Action", "Impact", "ReadOnlyViolation", "Step", "StepContext", "VCenterOps", "Verification",
           "available_steps", "get_step"]
