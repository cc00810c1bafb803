"""What ``metadata.restore`` will set, per VM, shown before it runs: the snapshot's values against what SRM
holds (exact) or will hold after the groups are rebuilt (a forecast: SRM's defaults for a VM that joins a
plan). Values and text only; the step turns them into actions (see docs/architecture.md, "Dry run").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from srmctl.metadata.snapshot import IpConfig, NicIp, Shutdown, SnapshotCallout, Startup, VmMetadata

#: What SRM gives a VM that joins a recovery plan (its protection group was created or added): priority
#: group 3, power on, wait up to 5 minutes for VMware Tools, no delay, guest shutdown with a 5-minute
#: timeout, automatic IP customisation, no callouts, prompts, dependencies or per-NIC IP settings (SRM
#: Administration, "Recovery plan VM settings": the defaults of a newly protected VM). A rebuild throws every
#: customisation away, so this is the state metadata.restore starts from.
SRM_DEFAULTS = VmMetadata(
    priority="P3",
    startup=Startup(action="POWER_ON", tools_timeout=timedelta(seconds=300), delay=timedelta(0)),
    shutdown=Shutdown(skip_guest=False, timeout=timedelta(seconds=300)),
    ip_customization="AUTO",
)

_FIELDS = ("priority", "dependencies", "startup", "shutdown", "pre_power_on", "post_power_on", "ip_customization", "ip")


@dataclass(frozen=True)
class VmChange:
    """One VM's settings to put back: each changed field as ``field: now → snapshot`` text, and the snapshot's
    values in the short forms a plan table shows."""

    vm: str
    changes: tuple[str, ...]
    wanted: VmMetadata


def field_changes(now: VmMetadata, wanted: VmMetadata, sites: tuple[str, str]) -> tuple[str, ...]:
    """``priority: P3 → P1``, one line per differing field (dependencies are a set; IP settings by site:
    ``sites`` is (protected, recovery) of the plan these settings are oriented to)."""
    lines = []
    for name in _FIELDS:
        before, after = getattr(now, name), getattr(wanted, name)
        if name == "ip":
            lines += _ip_changes(before, after, sites)
        elif before != after:
            lines.append(f"{name}: {_text(before)} → {_text(after)}")
    return tuple(lines)


def forecast(
    wanted: dict[str, VmMetadata], vms: Sequence[str], sites: tuple[str, str], after: VmMetadata = SRM_DEFAULTS
) -> tuple[VmChange, ...]:
    """Per VM of ``vms`` that ``wanted`` (a snapshot's VMs, oriented to the plan after the rebuild) records:
    what restoring it changes when SRM holds ``after`` for it."""
    out = []
    for vm in sorted(set(vms) & set(wanted)):
        changes = field_changes(after, wanted[vm], sites)
        if changes:
            out.append(VmChange(vm, changes, wanted[vm]))
    return tuple(out)


def shown(meta: VmMetadata, sites: tuple[str, str]) -> dict[str, str | tuple[str, ...]]:
    """The snapshot's values in an action's details: priority, dependencies, callouts, prompts, IP settings."""
    callouts = (*meta.pre_power_on, *meta.post_power_on)
    return {
        "priority": meta.priority,
        "dependencies": meta.dependencies,
        "callouts": tuple(c.name for c in callouts if c.type != "PROMPT"),
        "prompts": tuple(c.name for c in callouts if c.type == "PROMPT"),
        "ip": tuple(line for nic in meta.ip for line in _nic_lines(nic, sites)),
    }


def _ip_changes(before: tuple[NicIp, ...], after: tuple[NicIp, ...], sites: tuple[str, str]) -> list[str]:
    old = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for nic in before for line in _nic_lines(nic, sites)}
    new = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for nic in after for line in _nic_lines(nic, sites)}
    return [
        f"{key}: {old.get(key, 'none')} → {new.get(key, 'none')}"
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def _nic_lines(nic: NicIp, sites: tuple[str, str]) -> list[str]:
    return [
        f"ip nic {nic.nic} at {site}: {_ip_text(config)}"
        for site, config in zip(sites, (nic.protected, nic.recovery), strict=True)
        if config is not None
    ]


def _ip_text(ip: IpConfig) -> str:
    parts = []
    if ip.ipv4:
        v4 = ip.ipv4
        parts.append(
            "DHCP" if v4.type == "DHCP" else f"{v4.address}/{v4.mask}" + (f" gw {v4.gateway}" if v4.gateway else "")
        )
    if ip.ipv6:
        v6 = ip.ipv6
        parts.append(
            "DHCPv6"
            if v6.type == "DHCP"
            else f"{v6.address}/{v6.prefix_length}" + (f" gw {v6.gateway}" if v6.gateway else "")
        )
    if ip.dns and ip.dns.servers:
        parts.append("dns " + ",".join(ip.dns.servers))
    return " ".join(parts) or "set"


def _text(value: object) -> str:
    if value is None or value == ():
        return "none"
    if isinstance(value, tuple):
        return ", ".join(_callout(v) if isinstance(v, SnapshotCallout) else str(v) for v in value)
    if isinstance(value, Startup):
        return f"{value.action} tools {_duration(value.tools_timeout)} delay {_duration(value.delay)}"
    if isinstance(value, Shutdown):
        return ("skip guest" if value.skip_guest else "guest") + f" {_duration(value.timeout)}"
    return str(value)


def _callout(c: SnapshotCallout) -> str:
    return f"{c.type} {c.name!r}" + (f" {_duration(c.timeout)}" if c.timeout else "")


def _duration(value: timedelta | None) -> str:
    return "-" if value is None else f"{int(value.total_seconds())}s"
