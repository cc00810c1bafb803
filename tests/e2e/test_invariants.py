"""The invariant checker (tests/fixtures/invariants.py) itself: silent on an untouched lab, and it reports each
kind of loss seeded into one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from invariants import FAILED_BACK, UNCHANGED, RunbookFacts, capture, violations
from labstate import RunbookSpec, write_runbook

from srmctl.lab import lab
from srmctl.labkit.topology import load_topology

pytestmark = [pytest.mark.slow, pytest.mark.lab]


def test_the_checker_is_silent_on_an_untouched_lab_and_reports_seeded_losses(tmp_path: Path) -> None:
    rb = write_runbook(tmp_path / "rb.yaml", RunbookSpec(steps=None))
    facts = RunbookFacts.load(rb)
    config = lab.up(tmp_path / "lab", load_topology(), scenario="planned-migration")
    try:
        before = capture(config, facts, tmp_path)
        assert violations(config, facts, before, UNCHANGED) == []
        # Not failed back yet: the VMs still run at the recovery site, their replications RECOVERED.
        not_yet = violations(config, facts, before, FAILED_BACK)
        assert "new-jersey: 1 VM(s) named db01, expected 0" in not_yet
        assert any(p.startswith("web01's replication is {'status': 'RECOVERED'") for p in not_yet), not_yet
        # Each VM's settings are compared with its replication before the failover, not with the runbook ...
        assert not any("rpo=" in p for p in not_yet), not_yet
        earlier = {
            **before.dr,
            "replications": [{**r, "rpo": 10} if r.get("name") == "web01" else r for r in before.dr["replications"]],
        }
        assert "web01's replication has rpo=30, before the failover 10" in violations(
            config, facts, replace(before, dr=earlier), FAILED_BACK
        )
        # ... unless the runbook overrides them.
        assert "web01's replication has rpo=30, the runbook says 15" in violations(
            config, replace(facts, override=True), before, FAILED_BACK
        )

        home = Path(config.sites["new-york"].datastores["NY-SAN-01"]) / "db01"
        (home / "db01.nvram").unlink()
        (home / "stray.txt").write_text("x")
        with (home / "db01-flat.vmdk").open("r+b") as disk:
            disk.write(b"lost")
        found = violations(config, facts, before, UNCHANGED)
        assert found == [
            "new-york: NY-SAN-01/db01/db01.nvram was deleted",
            "new-york: NY-SAN-01/db01/stray.txt is new",
            "new-york: the bytes of NY-SAN-01/db01/db01-flat.vmdk changed",
        ], found
        assert violations(config, facts, before, UNCHANGED, allow_new=lambda _s, p: p.endswith("stray.txt")) == [
            found[0],
            found[2],
        ]
    finally:
        lab.down(tmp_path / "lab")
