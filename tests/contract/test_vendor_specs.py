"""The vendor specs come from one checked place: set-up installs them from $SRMCTL_SPECS or ../shared/specs (or
downloads them) only when their SHA-256 sums match, and a test that needs them fails, never skips, when none is
installed, saying how to provide them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import vendor_specs


def test_the_installed_specs_are_the_pinned_ones() -> None:
    assert vendor_specs.problem(vendor_specs.specs_dir()) is None


def test_no_installed_specs_fails_naming_the_three_ways(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception) as failed:
        vendor_specs.specs_dir(str(tmp_path))
    message = str(failed.value)
    assert "SRMCTL_SPECS" in message and "shared" in message and vendor_specs.REPOSITORY in message


def test_setup_installs_from_srmctl_specs_and_checks_the_sums(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "mine"
    shutil.copytree(vendor_specs.specs_dir(), source)
    monkeypatch.setenv("SRMCTL_SPECS", str(source))
    assert vendor_specs.install(str(tmp_path / "venv"), shared=tmp_path / "none", download=False) == "$SRMCTL_SPECS"
    assert vendor_specs.problem(vendor_specs.installed_dir(str(tmp_path / "venv"))) is None


def test_setup_refuses_a_spec_whose_sum_differs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "edited"
    shutil.copytree(vendor_specs.specs_dir(), source)
    (source / "srm-api-v2.json").write_bytes((source / "srm-api-v2.json").read_bytes() + b"\n")
    monkeypatch.setenv("SRMCTL_SPECS", str(source))
    with pytest.raises(LookupError, match="srm-api-v2.json: SHA-256"):
        vendor_specs.install(str(tmp_path / "venv"), shared=tmp_path / "none", download=False)
    assert not vendor_specs.installed_dir(str(tmp_path / "venv")).exists()
