"""Shared fixtures: real two-site labs (vcsim processes on free loopback ports), never mocks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from srmctl.adapters.vcenter.connection import VCenterSession, connect
from srmctl.lab import lab
from srmctl.lab.config import LabConfig
from srmctl.labkit.topology import load_topology


def _lab(directory: Path) -> Iterator[LabConfig]:
    config = lab.up(directory, load_topology())
    try:
        yield config
    finally:
        lab.down(directory)


@pytest.fixture(scope="session")
def shared_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabConfig]:
    """A default-topology lab for tests that only read. Do not change its state."""
    yield from _lab(tmp_path_factory.mktemp("shared-lab"))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty SRMCTL_HOME (journals, locks) for this test."""
    monkeypatch.setenv("SRMCTL_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def fresh_lab(tmp_path: Path) -> Iterator[LabConfig]:
    """A lab of its own for a test that changes state (about half a second to start)."""
    yield from _lab(tmp_path / "lab")


@pytest.fixture
def ny(fresh_lab: LabConfig) -> Iterator[VCenterSession]:
    """A session to the fresh lab's new-york vCenter (the protected site, where the VMs are)."""
    session = connect(fresh_lab.vcenter_endpoint("new-york"))
    yield session
    session.close()
