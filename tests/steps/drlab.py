"""Helpers for the SRM/VR step tests: a planned-migration lab, step contexts built on it, REST state dumps."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from srmctl.adapters.vcenter.connection import connect
from srmctl.engine.dr import dr_sites
from srmctl.lab import lab
from srmctl.lab.config import LabConfig
from srmctl.lab.topology import load_topology
from srmctl.runbook import Runbook, load_runbook
from srmctl.steps import DrOps, StepContext, VCenterOps

sys.path.insert(0, str(Path(__file__).parents[1] / "engine"))
from labstate import RunbookSpec, write_runbook  # noqa: E402

SITES = ("new-jersey", "new-york")


@contextmanager
def planned_migration_lab(directory: Path) -> Iterator[LabConfig]:
    config = lab.up(directory, load_topology(), scenario="planned-migration")
    try:
        yield config
    finally:
        lab.down(directory)


def runbook(tmp: Path, **overrides: Any) -> Runbook:
    spec = RunbookSpec(**{"steps": None, **overrides})
    return load_runbook(write_runbook(tmp / "rb.yaml", spec))


class Recorder:
    """The event sink of a test context: every event, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str | None, dict[str, Any]]] = []

    def __call__(self, kind: str, step: str | None, data: Any) -> None:
        self.events.append((kind, step, dict(data)))

    def records(self, kind: str) -> list[dict[str, Any]]:
        return [d for k, _, d in self.events if k == "record" and d.get("record") == kind]


@contextmanager
def step_context(config: LabConfig, rb: Runbook, events: Recorder) -> Iterator[StepContext]:
    """A writable context on the lab, as the engine builds it (with faster task polling for tests)."""
    with ExitStack() as stack:
        sites = {}
        for site in SITES:
            session = connect(config.vcenter_endpoint(site))
            stack.callback(session.close)
            sites[site] = VCenterOps(session, site)
        opened = stack.enter_context(dr_sites(None, Path(config.directory), list(SITES)))
        dr = {}
        for name, d in opened.items():
            d.srm.poll_interval = d.vr.poll_interval = 0.05
            dr[name] = DrOps(name, d.srm, d.vr, d.pairing_id, d.local_vc_guid, d.remote_vc_guid)
        yield StepContext(rb, sites, events, dr_sites=dr, confirmed=True)


def rest_state(ctx: StepContext) -> dict[str, Any]:
    """Groups, plans (with their groups) and replications as SRM/VR report them."""
    dr = ctx.dr("new-york")
    plans = {p.name: {**p.model_dump(), "groups": sorted(g.id for g in dr.plan_groups(p.id))} for p in dr.plans()}
    return {"groups": sorted((g.model_dump() for g in dr.groups()), key=lambda g: g["id"]),
            "plans": plans,
            "replications": sorted((r.model_dump() for r in dr.replications()), key=lambda r: r["id"])}
