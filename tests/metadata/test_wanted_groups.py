"""The group structure in snapshots (round trip, diff, old snapshots) and the layout each direction rebuilds."""

from __future__ import annotations

import pytest

from srmctl.metadata.diff import diff_snapshots, not_compared
from srmctl.metadata.snapshot import GroupInfo, PlanInfo, Snapshot, Source, dump_snapshot, now, parse_snapshot
from srmctl.metadata.wanted_groups import LayoutError, WantedGroup, group_layout

RECORDED = {
    "VR mail": GroupInfo(description="mail tier", vms=("mail04",), plans=("VR Failover",)),
    "VR web": GroupInfo(vms=("web02", "db01", "web01"), plans=("VR Failover",)),
}
ALL = ("mail04", "db01", "web01", "web02")


def _snapshot(groups: dict[str, GroupInfo] | None) -> Snapshot:
    return Snapshot(
        taken_at=now(),
        source=Source(site="new-york", srm="127.0.0.1:1"),
        plan=PlanInfo(name="VR Failover", protected_site="new-york", recovery_site="new-jersey"),
        groups=groups,
        replication={},
    )


def test_groups_round_trip_and_an_old_snapshot_still_loads() -> None:
    snapshot = _snapshot(RECORDED)
    assert parse_snapshot(dump_snapshot(snapshot)) == snapshot
    assert snapshot.groups is not None and snapshot.groups["VR web"].vms == ("db01", "web01", "web02")
    old = parse_snapshot(dump_snapshot(_snapshot(None)))  # written before groups were recorded
    assert old.groups is None and "\ngroups:" not in dump_snapshot(old)


def test_diff_sees_a_renamed_group_and_a_moved_vm() -> None:
    before = _snapshot(RECORDED)
    renamed = _snapshot({"VR apps" if k == "VR mail" else k: v for k, v in RECORDED.items()})
    assert {(c.path, c.kind) for c in diff_snapshots(before, renamed)} == {
        ("groups.VR mail", "removed"),
        ("groups.VR apps", "added"),
    }
    moved = _snapshot(
        {
            "VR mail": RECORDED["VR mail"].model_copy(update={"vms": ("mail04", "web01")}),
            "VR web": RECORDED["VR web"].model_copy(update={"vms": ("db01", "web02")}),
        }
    )
    paths = {c.path for c in diff_snapshots(before, moved)}
    assert paths == {"groups.VR mail.vms[1]", "groups.VR web.vms[1]", "groups.VR web.vms[2]"}
    assert diff_snapshots(before, moved, groups=False) == ()  # metadata.restore leaves groups to groups.create
    assert not_compared(before) == ()


def test_an_old_snapshot_is_compared_without_groups_and_says_so() -> None:
    old, live = _snapshot(None), _snapshot(RECORDED)
    assert diff_snapshots(old, live) == ()
    (note,) = not_compared(old)
    assert "protection groups not compared" in note and "export a new snapshot" in note


def test_the_default_layout_is_the_plans_own_groups() -> None:
    assert group_layout(RECORDED, ALL) == (
        WantedGroup("VR mail", ("mail04",), "mail tier", ("VR mail",)),
        WantedGroup("VR web", ("db01", "web01", "web02"), "", ("VR web",)),
    )
    # A runbook moving part of the plan rebuilds only the groups holding its VMs.
    assert [w.name for w in group_layout(RECORDED, ("mail04",))] == ["VR mail"]


def test_renames_and_merges() -> None:
    assert [(w.name, w.vms) for w in group_layout(RECORDED, ALL, rename={"VR mail": "Mail"})] == [
        ("Mail", ("mail04",)),
        ("VR web", ("db01", "web01", "web02")),
    ]
    (merged,) = group_layout(RECORDED, ALL, rename={"VR mail": "VR apps", "VR web": "VR apps"})
    assert merged == WantedGroup("VR apps", tuple(sorted(ALL)), "", ("VR mail", "VR web"))
    (one,) = group_layout(None, ALL, one_group="VR apps")
    assert one.vms == tuple(sorted(ALL))
    # A rename already applied (a snapshot of a plan rebuilt under the new name) is not an unknown group.
    assert [w.name for w in group_layout({"Mail": RECORDED["VR mail"]}, ("mail04",), rename={"VR mail": "Mail"})] == [
        "Mail"
    ]


@pytest.mark.parametrize(
    ("recorded", "vms", "rename", "message"),
    [
        (None, ALL, {}, "no record of the recovery plan's protection groups"),
        (
            RECORDED,
            ALL,
            {"VR mial": "Mail"},
            "protection_groups.rename names 'VR mial', not a protection group of the "
            "recovery plan (it has: 'VR mail', 'VR web')",
        ),
        (RECORDED, (*ALL, "app05"), {}, "no protection group of the recovery plan holds app05"),
        ({**RECORDED, "VR extra": GroupInfo(vms=("web01",))}, ALL, {}, "VM web01 is in two protection groups"),
    ],
)
def test_layout_problems_are_named(
    recorded: dict[str, GroupInfo] | None, vms: tuple[str, ...], rename: dict[str, str], message: str
) -> None:
    with pytest.raises(LayoutError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        group_layout(recorded, vms, rename=rename)
