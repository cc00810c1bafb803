"""What a run works on: the vCenters of the failback's two sites, their SRM/VR facades when a step needs
them, and the runbook's VMs resolved from ``select:`` once per run."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from srmctl.adapters.dr.site import DrSite
from srmctl.adapters.endpoints import Endpoints, ServiceEndpoint
from srmctl.engine.selection import selected_vm_names
from srmctl.errors import StepFailed
from srmctl.runbook import Runbook
from srmctl.runbook import Vm as RunbookVm
from srmctl.steps import needs_dr

SELECTED_VMS = "selected_vms"  # journal record: the VMs a ``select:`` runbook resolved to at the run's start


def with_selected_vms(runbook: Runbook, dr: Mapping[str, DrSite]) -> Runbook:
    """A runbook that selects its VMs (``select:`` a recovery plan or protection group) as one that lists
    them: the steps work on named VMs. Resolved once per run and journaled, because the plan and group lose
    their VMs on the way (groups are detached and deleted)."""
    if runbook.select is None or not dr:
        return runbook
    names = selected_vm_names(runbook, dr[runbook.target_site_name])
    if not names:
        raise StepFailed(f"select: {runbook.selection_summary} holds no VMs; list the VMs under 'vms' instead")
    return with_vm_list(runbook, names)


def with_vm_list(runbook: Runbook, names: Sequence[str]) -> Runbook:
    return runbook.model_copy(update={"vms": tuple(RunbookVm(name=n) for n in sorted(set(names))), "select": None})


def vcenters_of(runbook: Runbook, endpoints: Endpoints) -> dict[str, ServiceEndpoint]:
    """The vCenters of the two sites the failback involves (where the VMs run now, then where they go)."""
    return endpoints.vcenters((runbook.source_site_name, runbook.target_site_name))


@contextmanager
def dr_sites_of(runbook: Runbook, endpoints: Endpoints, names: Sequence[str]) -> Iterator[dict[str, DrSite]]:
    """SRM/VR facades for both sites of the failback, when a step of the run needs them (none otherwise, so
    vCenter-only runs do not depend on SRM/VR being reachable)."""
    if not needs_dr(names):
        yield {}
        return
    with DrSite.opened(endpoints, [runbook.source_site_name, runbook.target_site_name]) as opened:
        yield opened
