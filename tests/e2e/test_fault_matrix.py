"""Item 4 of issue 13, the fault matrix: for each API family (vCenter SOAP, SRM, VR) and each fault, srmctl either
retries and succeeds, or fails clearly (exit 4 or 5, one error line, no traceback) in a way that ``srmctl resume``
completes. Each cell runs a short step selection on a fresh lab, through the CLI in a subprocess. The suite never
writes the table: ``bench/fault_matrix.py`` runs this module on purpose and writes docs/fault-matrix.md from the
rows each cell appends to ``$SRMCTL_FAULT_MATRIX_ROWS``. Cells that do not apply to a family (``inject`` None) are
listed in the table but are not tests."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from faults import CliResult, lab_srmsim, only_run_id, srmctl, vcenter_fault_hits, vcenter_faults
from labstate import RunbookSpec, snapshot, write_runbook

from srmctl.lab import lab
from srmctl.lab.config import LabConfig
from srmctl.labkit.topology import load_topology

pytestmark = [pytest.mark.slow, pytest.mark.lab]

HOME, AWAY = "new-york", "new-jersey"
FAMILIES = ("vCenter SOAP", "SRM", "VR")
FAULTS = ("5xx", "429", "connection reset", "timeout", "session expiry", "task ERROR", "site down", "permission denied")
STEPS = {
    "vCenter SOAP": ("preflight.check", "orphans.unregister"),
    "SRM": ("preflight.check", "metadata.snapshot", "plan.detach_groups"),
    "VR": ("preflight.check", "replication.cleanup"),
}
SRM_PATH, VR_PATH = "/pairings/*/recovery-management/plans*", "/pairings/*/replications*"

Inject = Callable[[LabConfig], None]


@dataclass(frozen=True)
class Cell:
    family: str
    fault: str
    how: str  # what is injected, for the table
    inject: Inject | None = None  # None: not applicable (see ``how``)
    retried: bool = False  # expected: retried and exit 0; else: fails clearly, then resume completes
    codes: tuple[int, ...] = (4, 5)
    evidence: str = ""  # text on stderr proving the fault fired and was handled
    restore: Inject | None = None


def _vc(**rule: object) -> Inject:
    return lambda config: vcenter_faults(config, HOME, "POST", **rule)


def _http(path: str, api: str, **fault: object) -> Inject:
    return lambda config: lab_srmsim(config).fail_http(path, api=api, **fault)  # type: ignore[arg-type]


def _swap_vcenter_port(config: LabConfig) -> None:
    """vCenter unreachable: lab.yaml names a port where nothing listens (vcsim keeps its in-memory world)."""
    path = Path(config.directory) / "lab.yaml"
    (path.parent / "lab.yaml.orig").write_bytes(path.read_bytes())
    doc = yaml.safe_load(path.read_text())
    doc["sites"][HOME]["vcenter"]["port"] = 9  # discard: closed on loopback
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _restore_vcenter_port(config: LabConfig) -> None:
    path = Path(config.directory) / "lab.yaml"
    path.write_bytes((path.parent / "lab.yaml.orig").read_bytes())
    (path.parent / "lab.yaml.orig").unlink()


def _dr_cells(family: str, path: str, api: str) -> list[Cell]:
    return [
        Cell(
            family,
            "5xx",
            f"HTTP 503 ×2 on {path}",
            _http(path, api, status=503, count=2),
            retried=True,
            evidence="HTTP 503",
        ),
        Cell(
            family,
            "429",
            f"HTTP 429 Retry-After 3 on {path}",
            _http(path, api, status=429, count=1, retry_after=3),
            retried=True,
            evidence="HTTP 429; waiting 3s (Retry-After 3s)",
        ),
        Cell(
            family,
            "connection reset",
            f"connection dropped ×2 on {path}",
            lambda config: lab_srmsim(config).drop_connections(path, count=2),
            retried=True,
            evidence="retry 2",
        ),
        Cell(
            family,
            "timeout",
            f"31 s delay (client timeout 30 s) on {path}",
            lambda config: lab_srmsim(config).delay(path, 31, count=1),
            retried=True,
            evidence="timed out",
        ),
        Cell(
            family,
            "session expiry",
            f"HTTP 401 once on {path}",
            _http(path, api, status=401, count=1),
            retried=True,
            evidence="session rejected, logging in again",
        ),
        Cell(
            family,
            "task ERROR",
            "next task ends in ERROR",
            lambda config: lab_srmsim(config).fail_task("*", count=1),
            codes=(4,),
            evidence="ended ERROR",
        ),
        Cell(
            family,
            "site down",
            f"srmsim site {AWAY} down",
            lambda config: lab_srmsim(config).site_down(AWAY),
            codes=(5,),
            restore=lambda config: lab_srmsim(config).site_up(AWAY),
        ),
        Cell(
            family,
            "permission denied",
            f"HTTP 403 on {path}",
            _http(path, api, status=403, count=1000),
            codes=(5,),
            evidence="HTTP 403",
        ),  # PermissionDenied: an operator must grant it
    ]


CELLS = [
    Cell(
        "vCenter SOAP",
        "5xx",
        "SystemError (HTTP 500 SOAP fault) on UnregisterVM",
        _vc(method="UnregisterVM", fault="system_error", count=1000),
        codes=(4,),
        evidence="UnregisterVM failed: SystemError",
    ),
    Cell(
        "vCenter SOAP",
        "429",
        "N/A: the vCenter SOAP API does not rate-limit with 429 (and the vcsim wrapper injects SOAP faults only)",
    ),
    Cell(
        "vCenter SOAP",
        "connection reset",
        "N/A: the vcsim wrapper cannot reset a connection; pyVmomi's session "
        "stub re-sends on socket errors, a lost connection ends as exit 5 (see site down)",
    ),
    Cell(
        "vCenter SOAP",
        "timeout",
        "61 s delay (client timeout 60 s) on RetrievePropertiesEx",
        _vc(method="RetrievePropertiesEx", fault="host_communication", count=1, delay_ms=61_000),
        retried=True,
    ),
    Cell(
        "vCenter SOAP",
        "session expiry",
        "NotAuthenticated once on RetrievePropertiesEx",
        _vc(method="RetrievePropertiesEx", fault="not_authenticated", count=1),
        retried=True,
        evidence="logging in again",
    ),
    Cell(
        "vCenter SOAP",
        "task ERROR",
        "InvalidState on SearchDatastore_Task (the wrapper fails the task call)",
        _vc(method="SearchDatastore_Task", fault="invalid_state", count=1000),
        codes=(4,),
        evidence="SearchDatastore_Task failed: InvalidState",
    ),
    Cell(
        "vCenter SOAP",
        "site down",
        f"{HOME} vCenter unreachable (connection refused)",
        _swap_vcenter_port,
        codes=(5,),
        evidence="cannot connect",
        restore=_restore_vcenter_port,
    ),
    Cell(
        "vCenter SOAP",
        "permission denied",
        "NoPermission on UnregisterVM",
        _vc(method="UnregisterVM", fault="no_permission", count=1000),
        codes=(5,),
        evidence="permission denied",
    ),
    *_dr_cells("SRM", SRM_PATH, "srm"),
    *_dr_cells("VR", VR_PATH, "vr"),
]
assert {(c.family, c.fault) for c in CELLS} == {(f, x) for f in FAMILIES for x in FAULTS}


def record(cell: Cell, outcome: str) -> None:
    """One table cell for bench/fault_matrix.py, appended as a JSON line (cells run in parallel workers)."""
    target = os.environ.get("SRMCTL_FAULT_MATRIX_ROWS")
    if target:
        with open(target, "a") as out:
            out.write(json.dumps({"family": cell.family, "fault": cell.fault, "outcome": outcome}) + "\n")


def _clear(result: CliResult) -> None:
    assert not result.traceback, result.stderr
    assert len(result.errors) == 1, result.stderr


@pytest.mark.parametrize(
    "cell", [pytest.param(c, id=f"{c.family}-{c.fault}".replace(" ", "_")) for c in CELLS if c.inject is not None]
)
def test_fault_is_retried_or_fails_clearly_then_resumes(cell: Cell, tmp_path: Path) -> None:
    assert cell.inject is not None
    home = tmp_path / "home"
    rb = write_runbook(tmp_path / "rb.yaml", RunbookSpec(steps=STEPS[cell.family]))
    config = lab.up(tmp_path / "lab", load_topology(), scenario="planned-migration")
    try:
        started = time.monotonic()
        before = snapshot(config)
        cell.inject(config)
        first = srmctl(["failback", str(rb), "--lab", config.directory, "--yes"], home, logs=True)
        hits = vcenter_fault_hits(config, HOME) if cell.family == "vCenter SOAP" else None
        if cell.restore is not None:
            cell.restore(config)
        if cell.family == "vCenter SOAP":
            vcenter_faults(config, HOME, "DELETE")
        else:
            lab_srmsim(config).clear_faults()
        assert not first.traceback, first.stderr
        assert cell.evidence in first.stderr, first.stderr
        assert hits is None or hits > 0 or cell.fault == "site down"
        if cell.retried:
            assert first.code == 0, first.stderr
            outcome = "retried"
            second = None
        else:
            assert first.code in cell.codes, first.stderr
            _clear(first)
            if cell.codes == (5,) or cell.fault != "task ERROR":
                assert snapshot(config) == before  # failed before changing anything
            run_id = only_run_id(home)
            args = ["resume", run_id, "--yes"] if run_id else ["failback", str(rb), "--lab", config.directory, "--yes"]
            second = srmctl(args, home)
            assert second.code == 0, second.stderr
            outcome = f"failed clearly (exit {first.code}) + {'resumed' if run_id else 're-run'}"
        record(cell, f"{outcome}, {time.monotonic() - started:.0f} s")
    finally:
        lab.down(tmp_path / "lab")
