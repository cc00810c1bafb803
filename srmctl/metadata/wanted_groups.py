"""Which protection groups a direction creates: the plan's own groups as a snapshot records them, optionally
renamed by the runbook (see docs/architecture.md, "Protection groups"). Pure values: no SRM calls here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from srmctl.metadata.snapshot import GroupInfo


class LayoutError(ValueError):
    """The recorded groups and the runbook do not give every VM exactly one group; the message says why."""


@dataclass(frozen=True)
class WantedGroup:
    """A protection group to create (or correct) where the VMs run: its name, its VMs, the description to give
    it, and the plan's original group(s) it stands for."""

    name: str
    vms: tuple[str, ...]
    description: str = ""
    originals: tuple[str, ...] = ()


def group_layout(
    recorded: Mapping[str, GroupInfo] | None,
    vms: Sequence[str],
    *,
    rename: Mapping[str, str] | None = None,
    one_group: str | None = None,
) -> tuple[WantedGroup, ...]:
    """The groups holding ``vms``: each recorded group that holds one of them, under its name or the one
    ``rename`` gives it (groups renamed to one name merge), with only those VMs. ``one_group`` puts every VM
    into that one group instead. Raises LayoutError naming the problem: no record, a rename of a group the
    plan does not have, a VM in no group or in two."""
    if one_group is not None:
        return (WantedGroup(one_group, tuple(sorted(set(vms))), originals=tuple(sorted(recorded or ()))),)
    if recorded is None:
        raise LayoutError(
            "no record of the recovery plan's protection groups (the snapshot predates srmctl "
            "recording them, and the live plan holds none): export a new snapshot, or put all the "
            "VMs into one group with protection_group.name"
        )
    rename = dict(rename or {})
    # A rename whose new name is recorded already was applied before (a snapshot of a rebuilt plan).
    unknown = sorted(old for old, new in rename.items() if old not in recorded and new not in recorded)
    if unknown:
        raise LayoutError(
            f"protection_groups.rename names {', '.join(map(repr, unknown))}, not a protection group "
            f"of the recovery plan (it has: {', '.join(map(repr, sorted(recorded))) or 'none'})"
        )
    wanted = set(vms)
    members: dict[str, set[str]] = {}
    originals: dict[str, list[str]] = {}
    seen: dict[str, str] = {}
    for original, info in sorted(recorded.items()):
        held = wanted & set(info.vms)
        for vm in held:
            if vm in seen:
                raise LayoutError(f"VM {vm} is in two protection groups, {seen[vm]!r} and {original!r}")
            seen[vm] = original
        if held:
            name = rename.get(original, original)
            members.setdefault(name, set()).update(held)
            originals.setdefault(name, []).append(original)
    homeless = sorted(wanted - set(seen))
    if homeless:
        raise LayoutError(
            f"no protection group of the recovery plan holds {', '.join(homeless)} (groups: "
            f"{', '.join(map(repr, sorted(recorded))) or 'none'}); add the VM(s) to a group in SRM "
            "and export a new snapshot, or put all the VMs into one group with protection_group.name"
        )
    return tuple(
        WantedGroup(name, tuple(sorted(held)), _description(recorded, originals[name]), tuple(originals[name]))
        for name, held in sorted(members.items())
    )


def _description(recorded: Mapping[str, GroupInfo], originals: Sequence[str]) -> str:
    # A merged group keeps a description only when its groups agree on one.
    found = {recorded[o].description for o in originals}
    return found.pop() if len(found) == 1 else ""
