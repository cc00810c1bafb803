"""Between the snapshot vocabulary (the lab topology's keys; see docs/architecture.md) and SRM's REST recovery settings.

IP settings: SRM keeps, per NIC, ``primary_ip_settings`` (used when the VM runs at the plan's protected
site) and ``secondary_ip_settings`` (at its recovery site). A snapshot stores them as ``protected`` /
``recovery`` *together with the direction at capture*, so that after the plan's direction flips each setting
goes back to the same physical site: re-IP stays with its site.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from srmctl.adapters.dr.models import (
    Callout as RestCallout,
)
from srmctl.adapters.dr.models import (
    DependentVm,
    DnsSettings,
    IpV4Settings,
    IpV6Settings,
    NicSettings,
    ShutdownActionSettings,
    StartupActionSettings,
    VmRecoverySettings,
    WinsSettings,
)
from srmctl.adapters.dr.models import (
    IpSettings as RestIp,
)
from srmctl.metadata.secrets import redact
from srmctl.metadata.snapshot import (
    Dns,
    IpConfig,
    Ipv4,
    Ipv6,
    NicIp,
    Shutdown,
    SnapshotCallout,
    Startup,
    VmMetadata,
    Wins,
)

DEFAULT_SHUTDOWN_TIMEOUT = 300


def _seconds(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds())


def _duration(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


def enum_text(value: object) -> str:
    """An enum member's value, or an unknown value kept as text by the lenient REST models."""
    return str(getattr(value, "value", value))


# --- REST → snapshot ------------------------------------------------------------------------------


def _ip_from_rest(ip: RestIp | None) -> IpConfig | None:
    if ip is None:
        return None
    v4, v6, dns, wins = ip.ip_v4, ip.ip_v6, ip.dns, ip.wins
    return IpConfig(
        ipv4=Ipv4(
            type=v4.type,  # type: ignore[arg-type]
            address=v4.ip_address or None,
            mask=v4.subnet_mask or None,
            gateway=v4.default_gateway,
            alternate_gateway=v4.alternate_gateway,
        )
        if v4
        else None,
        ipv6=Ipv6(
            type=v6.type,  # type: ignore[arg-type]
            address=v6.ip_address,
            prefix_length=v6.subnet_prefix_length,
            gateway=v6.default_gateway,
            alternate_gateway=v6.alternate_gateway,
        )
        if v6
        else None,
        dns=Dns(
            type=dns.type,  # type: ignore[arg-type]
            servers=tuple(s for s in (dns.preferred_server, dns.alternate_server) if s),
            suffixes=tuple(dns.suffixes or ()),
        )
        if dns
        else None,
        wins=Wins(primary=wins.primary_server, secondary=wins.alternate_server) if wins else None,
    )


def _callout_from_rest(c: RestCallout) -> SnapshotCallout:
    return SnapshotCallout(
        type=enum_text(c.callout_type),  # type: ignore[arg-type]
        name=c.name,
        content=redact(c.content),
        timeout=timedelta(seconds=c.timeout_seconds),
    )


def metadata_from_settings(settings: VmRecoverySettings, *, instance_uuid: str | None = None) -> VmMetadata:
    """One VM's recovery settings as snapshot metadata (dependencies by VM name, never by id)."""
    startup = settings.startup_action_settings
    shutdown = settings.shutdown_action_settings
    return VmMetadata(
        instance_uuid=instance_uuid,
        priority=enum_text(settings.priority),  # type: ignore[arg-type]
        dependencies=tuple(d.name for d in settings.dependent_vms),
        startup=Startup(
            action=enum_text(settings.startup_action),  # type: ignore[arg-type]
            tools_timeout=_duration(startup.power_on_vmtools_timeout_seconds) if startup else None,
            delay=_duration(startup.delay_before_power_on_steps_and_dependent_vms_seconds) if startup else None,
        ),
        shutdown=Shutdown(
            skip_guest=bool(shutdown.skip_shutdown_guest), timeout=timedelta(seconds=shutdown.timeout_seconds)
        ),
        ip_customization=enum_text(settings.ip_customization_type),  # type: ignore[arg-type]
        pre_power_on=tuple(_callout_from_rest(c) for c in settings.pre_power_on_steps),
        post_power_on=tuple(_callout_from_rest(c) for c in settings.post_power_on_steps),
        ip=tuple(
            NicIp(
                nic=n.device_id or 0,
                protected=_ip_from_rest(n.primary_ip_settings),
                recovery=_ip_from_rest(n.secondary_ip_settings),
            )
            for n in settings.nic_settings
        ),
    )


# --- snapshot → REST ------------------------------------------------------------------------------


def _ip_to_rest(ip: IpConfig | None) -> RestIp | None:
    if ip is None:
        return None
    v4, v6, dns, wins = ip.ipv4, ip.ipv6, ip.dns, ip.wins
    return RestIp(
        ip_v4=IpV4Settings(
            ip_address=v4.address or "",
            type=v4.type,
            subnet_mask=v4.mask or "",
            default_gateway=v4.gateway,
            alternate_gateway=v4.alternate_gateway,
        )
        if v4
        else None,
        ip_v6=IpV6Settings(
            type=v6.type,
            ip_address=v6.address,
            subnet_prefix_length=v6.prefix_length,
            default_gateway=v6.gateway,
            alternate_gateway=v6.alternate_gateway,
        )
        if v6
        else None,
        dns=DnsSettings(
            type=dns.type,
            preferred_server=dns.servers[0] if dns.servers else None,
            alternate_server=dns.servers[1] if len(dns.servers) > 1 else None,
            suffixes=tuple(dns.suffixes),
        )
        if dns
        else None,
        wins=WinsSettings(primary_server=wins.primary, alternate_server=wins.secondary) if wins else None,
    )


def _callout_to_rest(c: SnapshotCallout, step_type: str) -> RestCallout:
    # id "" asks SRM to create the callout (existing ids would edit in place).
    return RestCallout(
        id="",
        name=c.name,
        content=c.content,
        callout_type=c.type,
        timeout_seconds=int(c.timeout.total_seconds()),
        step_type=step_type,
    )


def settings_from_metadata(meta: VmMetadata, *, dependency_ids: Mapping[str, str]) -> VmRecoverySettings:
    """The full ``VmRecoverySettingsSpec`` for one VM (already oriented to the plan's direction);
    ``dependency_ids`` maps VM names to the plan's ids."""
    nics = list(meta.ip)
    return VmRecoverySettings(
        priority=meta.priority,
        startup_action=meta.startup.action,
        startup_action_settings=StartupActionSettings(
            power_on_vmtools_timeout_seconds=_seconds(meta.startup.tools_timeout),
            delay_before_power_on_steps_and_dependent_vms_seconds=_seconds(meta.startup.delay),
        ),
        shutdown_action_settings=ShutdownActionSettings(
            skip_shutdown_guest=meta.shutdown.skip_guest if meta.shutdown else False,
            timeout_seconds=(_seconds(meta.shutdown.timeout) or 0) if meta.shutdown else DEFAULT_SHUTDOWN_TIMEOUT,
        ),
        ip_customization_type=meta.ip_customization or ("MANUAL" if nics else "AUTO"),
        nic_settings=tuple(
            NicSettings(
                device_id=n.nic,
                primary_ip_settings=_ip_to_rest(n.protected),
                secondary_ip_settings=_ip_to_rest(n.recovery),
            )
            for n in nics
        ),
        pre_power_on_steps=tuple(_callout_to_rest(c, "PRE_POWER_ON") for c in meta.pre_power_on),
        post_power_on_steps=tuple(_callout_to_rest(c, "POST_POWER_ON") for c in meta.post_power_on),
        dependent_vms=tuple(DependentVm(id=dependency_ids[name], name=name) for name in meta.dependencies),
    )
