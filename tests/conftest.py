"""Shared fixtures: real two-site labs (vcsim processes on free loopback ports), never mocks."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from lane_rules import LAB_FIXTURES, changed_during, checkout_state, starts_simulator

from srmctl.adapters.vcenter.connection import VCenterSession, connect
from srmctl.lab import lab
from srmctl.lab.config import LabConfig
from srmctl.labkit.topology import load_topology

CHECKOUT = Path(__file__).resolve().parents[1]

# Property tests judge correctness, not speed: on a loaded 2-core machine running tests in parallel, hypothesis's
# per-example deadline and its too-slow health check fail for reasons that have nothing to do with the code.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist sets COLUMNS=80 in its workers; srmctl's console reads COLUMNS (a pipe is otherwise wide), so a
    # worker would wrap tables that the same test sees whole when run alone or in CI. Workers run as CI does.
    if hasattr(config, "workerinput"):
        os.environ.pop("COLUMNS", None)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses a lab fixture is a ``lab`` test (the others run in the fast lane, -m "not lab"). First,
    so that ``-m`` (pytest's own hook of this name) deselects by the marks given here."""
    for item in items:
        if LAB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.lab)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Modules holding ``slow`` tests run first (the order within a module kept, so module fixtures are set up
    once): run in parallel workers, a minutes-long test started last would be the run's tail. First, before
    pytest-xdist's worker reports its collection to the scheduler."""
    slow_modules = {item.path for item in session.items if item.get_closest_marker("slow") is not None}
    session.items.sort(key=lambda item: item.path not in slow_modules)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Outside the ``lab`` lane, starting vcsim, srmsim or a lab fails the test, naming the missing marker. Wraps
    the whole protocol, not a fixture: a module- or session-scoped fixture is set up before any function one."""
    if item.get_closest_marker("lab") is not None:
        return (yield)
    popen = subprocess.Popen.__init__

    def guarded(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        if starts_simulator(args):
            pytest.fail(
                f"{item.nodeid} starts a simulator ({args!r}): mark it lab "
                "(pytestmark = pytest.mark.lab) or use a lab fixture",
                pytrace=False,
            )
        popen(self, args, *rest, **kwargs)

    subprocess.Popen.__init__ = guarded  # type: ignore[method-assign]
    try:
        return (yield)
    finally:
        subprocess.Popen.__init__ = popen  # type: ignore[method-assign]


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_CHECKOUT_KEY] = checkout_state(CHECKOUT)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Tests never write into the checkout: a run that changed a file git sees fails, naming the files (checked
    once, by the controlling process when the tests run in parallel workers)."""
    if hasattr(session.config, "workerinput"):
        return
    before = session.config.stash.get(_CHECKOUT_KEY, None)
    after = checkout_state(CHECKOUT)
    if before is None or after is None:
        return
    changed = changed_during(before, after)
    if changed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = "the test run changed the checkout (tests must write under tmp_path): " + ", ".join(changed)
        if reporter is not None:
            reporter.write_line(f"FAILED {message}", red=True, bold=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_CHECKOUT_KEY = pytest.StashKey[dict[str, str] | None]()


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
