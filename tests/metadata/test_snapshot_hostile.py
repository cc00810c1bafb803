"""Hostile plan-metadata snapshots (issue #13): invalid addresses (``snapshot restore`` wrote 999.1.1.1 into
a plan), huge durations, nesting, size and encoding limits. Each is refused on load with
``path:LINE:COL: key.path: message`` as :class:`RunbookInvalid` (exit code 3), never another exception."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from srmctl.errors import ExitCode, RunbookInvalid
from srmctl.metadata.snapshot import Snapshot, parse_snapshot, read_snapshot

GOOD = """\
format: srmctl/plan-metadata/v1
taken_at: 2024-06-11T10:15:00Z
source: {site: new-york, srm: srm-ny.lab}
plan: {name: Mail failover, protected_site: new-york, recovery_site: new-jersey}
vms:
  mail01:
    priority: P1
    shutdown: {timeout: 300s}
    ip:
      - nic: 0
        recovery:
          ipv4: {address: 10.20.0.21, mask: 255.255.255.0, gateway: 10.20.0.1}
          ipv6: {address: "fd00:20::31", prefix_length: 64, gateway: "fd00:20::1"}
          dns: {servers: [10.20.0.2, "fd00:20::2"]}
          wins: {primary: 10.20.0.3}
"""


def refused(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "snap.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RunbookInvalid) as caught:
        read_snapshot(path)
    assert caught.value.exit_code == ExitCode.RUNBOOK_INVALID
    return [p.removeprefix(f"{path}:") for p in caught.value.problems]


def test_the_good_snapshot_reads() -> None:
    snapshot = parse_snapshot(GOOD)
    nic = snapshot.vms["mail01"].ip[0].recovery
    assert nic is not None and nic.ipv4 is not None and nic.ipv4.address == "10.20.0.21"


@pytest.mark.parametrize(
    "old,new,expected",
    [
        (
            "address: 10.20.0.21",
            "address: 999.1.1.1",
            "12:27: vms.mail01.ip[0].recovery.ipv4.address: '999.1.1.1' is not an IPv4 address",
        ),
        (
            "mask: 255.255.255.0",
            "mask: 255.0.255.0",
            "12:45: vms.mail01.ip[0].recovery.ipv4.mask: '255.0.255.0' is not an IPv4 netmask such as 255.255.255.0",
        ),
        (
            "mask: 255.255.255.0",
            "mask: mask",
            "12:45: vms.mail01.ip[0].recovery.ipv4.mask: 'mask' is not an IPv4 netmask such as 255.255.255.0",
        ),
        (
            "gateway: 10.20.0.1",
            "gateway: 10.20.0",
            "12:69: vms.mail01.ip[0].recovery.ipv4.gateway: '10.20.0' is not an IPv4 address",
        ),
        (
            'address: "fd00:20::31"',
            'address: "fd00:20::31::1"',
            "13:27: vms.mail01.ip[0].recovery.ipv6.address: 'fd00:20::31::1' is not an IPv6 address",
        ),
        (
            'gateway: "fd00:20::1"',
            "gateway: 10.20.0.1",
            "13:70: vms.mail01.ip[0].recovery.ipv6.gateway: '10.20.0.1' is not an IPv6 address",
        ),
        (
            "servers: [10.20.0.2,",
            "servers: [10.20.0.256,",
            "14:27: vms.mail01.ip[0].recovery.dns.servers[0]: '10.20.0.256' is not an IP address",
        ),
        (
            "primary: 10.20.0.3",
            "primary: wins.corp",
            "15:27: vms.mail01.ip[0].recovery.wins.primary: 'wins.corp' is not an IPv4 address",
        ),
    ],
)
def test_invalid_addresses_are_refused_on_load(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in GOOD
    assert refused(GOOD.replace(old, new), tmp_path) == [expected]


def test_empty_address_fields_stay_unset_as_srm_leaves_them() -> None:
    snapshot = parse_snapshot(GOOD.replace("gateway: 10.20.0.1", 'gateway: ""'))
    nic = snapshot.vms["mail01"].ip[0].recovery
    assert nic is not None and nic.ipv4 is not None and nic.ipv4.gateway == ""


@pytest.mark.parametrize("duration", ["9999999999d", "1000000000d", "3651d", "9" * 5000 + "s"])
def test_huge_durations_are_refused(tmp_path: Path, duration: str) -> None:
    [problem] = refused(GOOD.replace("timeout: 300s", f"timeout: {duration}"), tmp_path)
    assert problem == f"8:25: vms.mail01.shutdown.timeout: must be at most 3650d, got {duration[:40]!r}"


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    [problem] = refused(GOOD + "steps: " + "[" * 500 + "]" * 500 + "\n", tmp_path)
    assert problem.endswith(": (root): nested more than 64 levels deep")


def test_oversized_file_is_not_read(tmp_path: Path) -> None:
    assert refused(GOOD + "#" * (1024 * 1024) + "\n", tmp_path) == [
        "1:1: (root): snapshot is larger than 1024 KiB: not read"
    ]


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_device_is_refused() -> None:
    with pytest.raises(RunbookInvalid, match=r"^/dev/zero:1:1: \(root\): cannot read snapshot: not a regular file"):
        read_snapshot(Path("/dev/zero"))


@pytest.mark.parametrize(
    "text,expected",
    [
        ("", "1:1: (root): snapshot is empty"),
        (
            "format: [\n",
            "2:1: (root): invalid YAML: expected the node content, but found '<stream end>' "
            "(while parsing a flow node)",
        ),
        ("a: \x00\n", "1:4: (root): character U+0000 is not allowed in YAML text"),
        ("- 1\n", "1:1: (root): Input should be a valid dictionary or instance of Snapshot"),
        (
            GOOD.replace("taken_at: 2024-06-11T10:15:00Z", "taken_at: 2024-13-11"),
            "2:11: taken_at: invalid YAML: cannot read '2024-13-11' as a date: month must be in 1..12",
        ),
        (GOOD + "format: srmctl/plan-metadata/v1\n", "16:1: format: duplicate key 'format' (first at line 1:1)"),
    ],
)
def test_broken_yaml_is_located(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in refused(text, tmp_path)


def test_binary_snapshot_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "snap.yaml"
    path.write_bytes(b"format: \xff\xfe")
    with pytest.raises(RunbookInvalid, match=r"snap.yaml:1:9: \(root\): not UTF-8 text"):
        read_snapshot(path)


def test_vm_names_are_keys_as_written() -> None:
    # 'on' is a VM name, not YAML 1.1's true (safe_load made it a boolean key and the snapshot invalid).
    snapshot = parse_snapshot(GOOD.replace("  mail01:", "  on:"))
    assert isinstance(snapshot, Snapshot) and list(snapshot.vms) == ["on"]
