from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srmctl.errors import RunbookInvalid
from srmctl.labkit.topology import load_topology
from srmctl.metadata.diff import diff_snapshots
from srmctl.metadata.snapshot import (
    Dns,
    GroupInfo,
    IpConfig,
    Ipv4,
    Ipv6,
    NicIp,
    PlanInfo,
    PlanStep,
    Shutdown,
    Snapshot,
    SnapshotCallout,
    Source,
    Startup,
    VmMetadata,
    dump_snapshot,
    now,
    parse_snapshot,
    read_snapshot,
    write_snapshot,
)

text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
names = st.from_regex(r"[a-z][a-z0-9-]{0,11}", fullmatch=True)
seconds = st.integers(0, 86400).map(lambda s: timedelta(seconds=s))
callouts = st.builds(
    SnapshotCallout,
    type=st.sampled_from(["RUN_ON_SRM_SERVER", "RUN_ON_VM", "PROMPT"]),
    name=text,
    content=text,
    timeout=seconds,
)
ipv4 = st.builds(
    Ipv4,
    type=st.just("STATIC"),
    address=st.ip_addresses(v=4).map(str),
    mask=st.just("255.255.255.0"),
    gateway=st.ip_addresses(v=4).map(str),
)
ipv6 = st.builds(
    Ipv6,
    type=st.just("STATIC"),
    address=st.ip_addresses(v=6).map(str),
    prefix_length=st.integers(0, 128),
    gateway=st.none() | st.ip_addresses(v=6).map(str),
)
settings_ = st.builds(
    IpConfig,
    ipv4=st.none() | ipv4,
    ipv6=st.none() | ipv6,
    dns=st.none()
    | st.builds(
        Dns,
        servers=st.lists(st.ip_addresses().map(str), max_size=2).map(tuple),
        suffixes=st.lists(names, max_size=2).map(tuple),
    ),
)


@st.composite
def snapshots(draw: st.DrawFn) -> Snapshot:
    vm_names = draw(st.lists(names, min_size=1, max_size=6, unique=True))
    vms = {}
    for index, name in enumerate(vm_names):
        # Dependencies form a DAG: a VM may depend only on VMs listed before it.
        deps = draw(st.lists(st.sampled_from(vm_names[:index]), unique=True)) if index else []
        vms[name] = VmMetadata(
            instance_uuid=draw(st.none() | st.uuids().map(str)),
            priority=draw(st.sampled_from(["P1", "P2", "P3", "P4", "P5"])),
            dependencies=tuple(deps),
            startup=Startup(
                action=draw(st.sampled_from(["POWER_ON", "DO_NOT_POWER_ON"])),
                tools_timeout=draw(st.none() | seconds),
                delay=draw(st.none() | seconds),
            ),
            shutdown=draw(st.none() | st.builds(Shutdown, skip_guest=st.booleans(), timeout=seconds)),
            pre_power_on=tuple(draw(st.lists(callouts, max_size=3))),
            post_power_on=tuple(draw(st.lists(callouts, max_size=3))),
            ip=tuple(
                draw(
                    st.lists(
                        st.builds(
                            NicIp,
                            nic=st.integers(0, 3),
                            recovery=st.none() | settings_,
                            protected=st.none() | settings_,
                        ),
                        max_size=2,
                    )
                )
            ),
        )
    steps = draw(
        st.dictionaries(
            st.sampled_from(["recovery", "test"]),
            st.lists(
                st.builds(
                    PlanStep,
                    type=st.sampled_from(["PROMPT", "RUN_ON_SRM_SERVER"]),
                    name=text,
                    content=text,
                    timeout=seconds,
                    position=st.integers(0, 20),
                ),
                max_size=3,
            ).map(tuple),
            max_size=2,
        )
    )
    groups = draw(
        st.none()
        | st.dictionaries(
            text,
            st.builds(
                GroupInfo,
                type=st.sampled_from(["HBR", "ABR"]),
                description=text,
                vms=st.lists(st.sampled_from(vm_names), unique=True).map(tuple),
                plans=st.lists(text).map(tuple),
            ),
            max_size=3,
        )
    )
    return Snapshot(
        taken_at=now(),
        source=Source(site="new-york", srm="127.0.0.1:1"),
        plan=PlanInfo(
            name=draw(text),
            description=draw(text),
            protected_site="new-york",
            recovery_site="new-jersey",
            protection_groups=tuple(draw(st.lists(text))),
        ),
        vms=vms,
        steps=steps,
        groups=groups,
    )


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(snapshots())
def test_yaml_round_trip_is_exact(snapshot: Snapshot) -> None:
    back = parse_snapshot(dump_snapshot(snapshot))
    assert back == snapshot
    assert diff_snapshots(snapshot, back) == ()


@settings(max_examples=60)
@given(snapshots(), st.data())
def test_diff_names_each_changed_field(snapshot: Snapshot, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(snapshot.vms)))
    vm = snapshot.vms[name]
    other = "P1" if vm.priority != "P1" else "P5"
    changed = snapshot.model_copy(update={"vms": {**snapshot.vms, name: vm.model_copy(update={"priority": other})}})
    changes = diff_snapshots(snapshot, changed)
    assert [(c.path, c.before, c.after) for c in changes] == [(f"vms.{name}.priority", vm.priority, other)]


def _base() -> Snapshot:
    topology = load_topology()
    plan = topology.recovery_plans[0]
    return Snapshot(
        taken_at=now(),
        source=Source(site="new-york", srm="x"),
        plan=PlanInfo(
            name=plan.name,
            description=plan.description,
            protected_site="new-york",
            recovery_site="new-jersey",
            protection_groups=tuple(plan.protection_groups),
        ),
        vms={n: VmMetadata.model_validate(m) for n, m in plan.vms.items()},
        steps={k: tuple(PlanStep.model_validate(s) for s in v) for k, v in plan.steps.items()},  # type: ignore[misc]
    )


def test_lab_topology_metadata_is_the_snapshot_vocabulary() -> None:
    snapshot = _base()
    assert snapshot.vms["mail04"].pre_power_on[0].timeout == timedelta(seconds=60)
    assert snapshot.vms["web01"].ip[0].recovery is not None
    assert snapshot.vms["web01"].ip[0].recovery.ipv6 is not None
    assert snapshot.steps["recovery"][0].position == 2
    assert snapshot.richness > len(snapshot.vms)


@pytest.mark.parametrize(
    "change, path",
    [
        (lambda s: {"vms": {k: v for k, v in s.vms.items() if k != "web02"}}, "vms.web02"),
        (lambda s: {"steps": {}}, "steps.recovery"),
        (lambda s: {"plan": s.plan.model_copy(update={"description": "x"})}, "plan.description"),
    ],
)
def test_drift_kinds_are_reported(change, path: str) -> None:  # type: ignore[no-untyped-def]
    base = _base()
    changes = diff_snapshots(base, base.model_copy(update=change(base)))
    assert [c.path for c in changes][:1] == [path]


def test_written_snapshot_is_private_and_reads_back(tmp_path: Path) -> None:
    snapshot = _base()
    path = write_snapshot(snapshot, tmp_path / "snap" / "vr-failover.yaml")
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_snapshot(path) == snapshot
    assert "mail04:" in path.read_text() and "vm-" not in path.read_text()  # keyed by name, never MoRef


def test_bad_snapshot_files_are_refused_with_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(dump_snapshot(_base()).replace("priority: P2", "priority: P9"))
    with pytest.raises(RunbookInvalid, match=r"vms\.mail04\.priority"):
        read_snapshot(bad)
    with pytest.raises(RunbookInvalid, match="cannot read"):
        read_snapshot(tmp_path / "missing.yaml")
