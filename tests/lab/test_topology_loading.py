"""Hostile lab topology files (issue #13): the runbook's limits and ``path:LINE:COL`` findings, exit code 3,
never another exception."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from srmctl.cli.main import cli
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
        "1:1: (root): topology is larger than 1024 KiB: not read"
    ]


@pytest.mark.skipif(not os.path.exists("/dev/urandom"), reason="no /dev/urandom")
def test_device_is_refused() -> None:
    with pytest.raises(RunbookInvalid, match=r"^/dev/urandom:1:1: \(root\): cannot read topology: not a regular"):
        load_topology(Path("/dev/urandom"))


def test_binary_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "topology.yaml"
    path.write_bytes(b"sites: \xff")
    with pytest.raises(RunbookInvalid, match=r"topology.yaml:1:8: \(root\): not UTF-8 text"):
        load_topology(path)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("", "1:1: (root): topology is empty"),
        (
            "sites: {\n",
            "2:1: (root): invalid YAML: expected the node content, but found '<stream end>' "
            "(while parsing a flow node)",
        ),
        ("sites: \x07\n", "1:8: (root): character U+0007 is not allowed in YAML text"),
        ("sites: 5\nprotected_site: a\nvms: []\n", "1:8: sites: Input should be a valid dictionary"),
        ("sites: {}\nsites: {}\n", "2:1: sites: duplicate key 'sites' (first at line 1:1)"),
    ],
)
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


# Issue 12, part 7: what srmsim would refuse while seeding is found by the loader, located, before 'lab up'
# starts anything (before, a bad priority failed inside srmsim and the error pointed at a deleted log).
@pytest.mark.parametrize(
    "old,new,expected",
    [
        ("priority: P1", "priority: P9", "49:19: recovery_plans[0].vms.db01.priority: Input should be 'P1', "),
        (
            "tools_timeout: 300s, delay: 0s}\n        shutdown: {skip_guest: false, timeout: 300s}\n        ip:",
            "tools_timeout: soon, delay: 0s}\n        shutdown: {skip_guest: false, timeout: 300s}\n        ip:",
            "51:52: recovery_plans[0].vms.db01.startup.tools_timeout: expected a duration",
        ),
        (
            "address: 10.20.0.21",
            "address: 10.20.0.999",
            "55:55: recovery_plans[0].vms.db01.ip[0].recovery.ipv4.address: '10.20.0.999' is not an IPv4",
        ),
        (
            "dependencies: [web02]",
            "dependencies: [ghost]",
            "72:23: recovery_plans[0].vms.web01.dependencies: 'ghost' is not a VM of this plan",
        ),
        (
            "type: PROMPT, name: Call",
            "typo: PROMPT, name: Call",
            "85:32: recovery_plans[0].steps.recovery[0].typo: Extra",
        ),
        ("recovery: [{position: 2", "rescue: [{position: 2", "85:7: recovery_plans[0].steps.rescue: Input should be "),
        (
            'content: "Tell them we are moving", timeout: 0s',
            'content: "x", timeout: 1 day',
            "85:95: recovery_plans[0].steps.recovery[0].timeout: timeout '1 day': use seconds",
        ),
        ("datastore: ESX1_LOCAL", "datastore: NOPE", "18:16: vms[0].datastore: 'NOPE' is not a datastore of new-york"),
        (
            "{name: VR mail, vms: [mail04]}",
            "{name: VR mail, vms: [mail04, db01]}",
            "42:26: protection_groups[1].vms[0]: VM 'db01' is already in group 'VR mail'",
        ),
        (
            "protection_groups: [VR mail, VR web]",
            "protection_groups: [VR mail, VR webb]",
            "46:34: recovery_plans[0].protection_groups[1]: unknown protection group 'VR webb'",
        ),
        (
            "protection_groups: [VR mail, VR web]",
            "protection_groups: [VR mail, VR web, VR web]",
            "46:42: recovery_plans[0].protection_groups[2]: protection group 'VR web' is listed twice",
        ),
        (
            "protection_groups: [VR mail, VR web]",
            "protection_groups: [VR mail]",
            "48:7: recovery_plans[0].vms.db01: VM 'db01' is in none of the plan's protection groups",
        ),
    ],
)
def test_plan_metadata_and_references_are_located(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in DEFAULT
    problems = refused(DEFAULT.replace(old, new, 1), tmp_path)
    assert any(p.startswith(expected) for p in problems), problems


def test_plans_may_share_a_group_each_with_its_own_metadata(tmp_path: Path) -> None:
    """SRM: "You can include a protection group in more than one recovery plan"; each plan keeps its own
    per-VM settings for the group's VMs."""
    text = DEFAULT + ("  - name: Web only\n    protection_groups: [VR web]\n    vms:\n      web01: {priority: P1}\n")
    path = tmp_path / "shared.yaml"
    path.write_text(text)
    topology = load_topology(path)
    assert [p.protection_groups for p in topology.recovery_plans] == [["VR mail", "VR web"], ["VR web"]]
    assert topology.recovery_plans[1].vms == {"web01": {"priority": "P1"}}


def test_a_group_vm_without_replication_is_a_finding(tmp_path: Path) -> None:
    text = DEFAULT.replace(
        "    replication: {target_datastore: ESX3_LOCAL, rpo: 15m, quiesce: true, network_compression: false}\n", "", 1
    )
    assert "40:27: protection_groups[0].vms[0]: VM 'mail04' has no replication" in "\n".join(refused(text, tmp_path))


def test_dependency_cycles_are_a_finding(tmp_path: Path) -> None:
    text = DEFAULT.replace(
        "dependencies: []\n        startup: {action: POWER_ON, tools_timeout: 120s, delay: 0s}",
        "dependencies: [web01]\n        startup: {action: POWER_ON, tools_timeout: 120s, delay: 0s}",
    )
    assert text != DEFAULT
    assert "48:7: recovery_plans[0].vms: the VM dependencies form a cycle" in refused(text, tmp_path)


def test_a_topology_built_in_code_is_checked_too() -> None:
    from srmctl.labkit.topology import Topology

    doc = yaml.safe_load(DEFAULT)
    doc["recovery_plans"][0]["vms"]["db01"]["priority"] = "P0"
    with pytest.raises(ValueError, match=r"recovery_plans\[0\]\.vms\.db01\.priority"):
        Topology.model_validate(doc)
    doc = yaml.safe_load(DEFAULT)
    doc["vms"][0]["datastore"] = "NOPE"
    with pytest.raises(ValueError, match=r"vms\[0\]\.datastore: 'NOPE' is not a datastore of new-york"):
        Topology.model_validate(doc)


def test_lab_up_with_a_bad_topology_starts_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEFAULT.replace("priority: P1", "priority: P9", 1))
    result = CliRunner().invoke(cli, ["lab", "up", "--dir", str(tmp_path / "lab"), "--topology", str(bad)])
    assert result.exit_code == ExitCode.RUNBOOK_INVALID == 3, result.output
    assert result.stderr.startswith(f"srmctl: error: {bad}:49:19: recovery_plans[0].vms.db01.priority: ")
    assert "Traceback" not in result.output and result.stdout == ""
    assert not (tmp_path / "lab").exists()  # nothing started, nothing written
    as_json = CliRunner().invoke(
        cli, ["lab", "up", "--dir", str(tmp_path / "lab"), "--topology", str(bad), "-o", "json"]
    )
    doc = json.loads(as_json.stdout)
    assert as_json.exit_code == 3 and doc["error"]["code"] == "runbook_invalid"
    assert doc["error"]["problems"][0].startswith(f"{bad}:49:19: ")
