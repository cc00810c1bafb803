"""The runbook: typed models (format v1), YAML loading with ``file:line:col`` errors, JSON Schema export.

Core code: no click, no rich, no network. Other packages use :func:`load_runbook` (or :func:`read_runbook` for
the warnings too) and the models.
"""

from srmctl.runbook.loader import LoadedRunbook, load_runbook, read_runbook
from srmctl.runbook.models import (
    DEFAULT_STEPS,
    FORMAT_VERSION,
    STEP_NAMES,
    Confirm,
    Endpoint,
    Failback,
    GroupSettings,
    PlanSettings,
    Prompts,
    ReplicationSettings,
    Reprotect,
    Runbook,
    Select,
    Site,
    SnapshotPolicy,
    VCenterEndpoint,
    Vm,
    format_duration,
    parse_duration,
)
from srmctl.runbook.schema import runbook_json_schema

__all__ = [
    "DEFAULT_STEPS",
    "FORMAT_VERSION",
    "STEP_NAMES",
    "Confirm",
    "Reprotect",
    "Endpoint",
    "Failback",
    "LoadedRunbook",
    "Prompts",
    "GroupSettings",
    "PlanSettings",
    "ReplicationSettings",
    "Runbook",
    "Select",
    "Site",
    "SnapshotPolicy",
    "VCenterEndpoint",
    "Vm",
    "format_duration",
    "load_runbook",
    "parse_duration",
    "read_runbook",
    "runbook_json_schema",
]
