"""The runbook's step names and the orders srmctl runs them in: the default failback, srmctl's own rebuild of
the protection, and the order under SRM's reprotect."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Strict

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
#: Every step srmctl knows, in the default order of ``srmctl failback``.
STEP_NAMES: tuple[str, ...] = get_args(StepName)
#: The sequence ``srmctl failback`` runs when a runbook lists no ``steps`` (``plan.reprotect`` is only used
#: by the reprotect/auto strategies).
DEFAULT_STEPS: tuple[str, ...] = STEP_NAMES[:-1]
#: srmctl's own rebuild of the protection in the failback direction: clear the orphans and the old replication
#: and groups, then replicate and protect the VMs again pointing home.
REBUILD_STEPS: tuple[str, ...] = (
    "orphans.unregister",
    "replication.cleanup",
    "plan.detach_groups",
    "groups.delete",
    "replication.reverse",
    "groups.create",
    "plan.attach_groups",
)
#: Step order under ``strategy: reprotect|auto``: SRM's own reprotect takes the place of the rebuild (with
#: ``auto`` it runs the rebuild itself when reprotect fails), then the same test, migration and restore.
REPROTECT_ORDER: tuple[str, ...] = (
    "preflight.check",
    "metadata.snapshot",
    "plan.reprotect",
    *REBUILD_STEPS,
    "metadata.restore",
    "plan.test",
    "plan.cleanup",
    "plan.migrate",
    "protection.restore",
)
REPROTECT_STEPS: tuple[str, ...] = tuple(s for s in REPROTECT_ORDER if s not in REBUILD_STEPS)

Steps = Annotated[tuple[StepName, ...], Strict(False)]
