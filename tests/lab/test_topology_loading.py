"""Hostile lab topology files (issue #13): the runbook's limits and ``path:LINE:COL`` findings, exit code 3,
never another exception."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import pytest

from srmctl.errors import ExitCode, RunbookInvalid
from srmctl.labkit.topology import load_topology

DEFAULT = resources.files("srmctl.labkit").joinpath("default-topology.yaml").read_text()


def refused(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "topology.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RunbookInvalid) as caught:
        load_topology(path)
    assert caught.value.exit_code == ExitCode.RUNBOOK_INVALID
    return [p.removeprefix(f"{path}:") for p in caught.value.problems]


def test_default_topology_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "topology.yaml"
    path.write_text(DEFAULT)
    assert load_topology(path) == load_topology()


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    [problem] = refused("sites: " + "[" * 400 + "]" * 400 + "\n", tmp_path)
    assert problem.startswith("1:") and problem.endswith(": (root): nested more than 64 levels deep")


def test_oversized_file_is_not_read(tmp_path: Path) -> None:
    assert refused(DEFAULT + "#" * (1024 * 1024), tmp_path) == [
        "1:1: (root): topology is larger than 1024 KiB: not read"]


@pytest.mark.skipif(not os.path.exists("/dev/urandom"), reason="no /dev/urandom")
def test_device_is_refused() -> None:
    with pytest.raises(RunbookInvalid, match=r"^/dev/urandom:1:1: \(root\): cannot read topology: not a regular"):
        load_topology(Path("/dev/urandom"))


def test_binary_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "topology.yaml"
    path.write_bytes(b"sites: \xff")
    with pytest.raises(RunbookInvalid, match=r"topology.yaml:1:8: \(root\): not UTF-8 text"):
        load_topology(path)


@pytest.mark.parametrize("text,expected", [
    ("", "1:1: (root): topology is empty"),
    ("sites: {\n", "2:1: (root): invalid YAML: expected the node content, but found '<stream end>' "
                   "(while parsing a flow node)"),
    ("sites: \x07\n", "1:8: (root): character U+0007 is not allowed in YAML text"),
    ("sites: 5\nprotected_site: a\nvms: []\n", "1:8: sites: Input should be a valid dictionary"),
    ("sites: {}\nsites: {}\n", "2:1: sites: duplicate key 'sites' (first at line 1:1)"),
])
def test_broken_files_are_located(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in refused(text, tmp_path)


def test_huge_disk_size_is_a_finding(tmp_path: Path) -> None:
    text = DEFAULT.replace("{size: 4MiB}", "{size: " + "9" * 5000 + "MiB}", 1)
    if text == DEFAULT:
        pytest.skip("the default topology names no 4MiB disk")
    problems = refused(text, tmp_path)
    assert len(problems) == 1 and ".disks[0].size: " in problems[0]


@pytest.mark.parametrize("sites", ["{a: {datacenter: A, clusters: [{name: c}], datastores: [d]}}", "{}"])
def test_a_lab_without_two_sites_is_a_finding(tmp_path: Path, sites: str) -> None:
    # Found by the fuzzer: one site raised StopIteration from the model's search for the other site.
    text = f"sites: {sites}\nprotected_site: a\nvms: [{{name: v, datastore: d}}]\n"
    assert refused(text, tmp_path) == ["1:8: sites: a lab has exactly two sites"]


@pytest.mark.parametrize("size", ["0.5", "[1]", "true"])
def test_a_disk_size_of_another_type_is_a_finding(tmp_path: Path, size: str) -> None:
    # Found by the fuzzer: a float size raised TypeError from the size parser.
    text = DEFAULT.replace("{size: 4MiB}", "{size: " + size + "}", 1)
    [problem] = refused(text, tmp_path)
    assert problem.startswith("19:20: vms[0].disks[0].size: size ")
    assert problem.endswith(": use a number with B, KiB, MiB or GiB")
