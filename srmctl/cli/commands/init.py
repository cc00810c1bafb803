"""``srmctl init --plan NAME``: write a commented runbook and the plan's metadata snapshot from the live plan.

The sites' endpoints come from a lab (``--lab``) or from site flags, each also read from an ``SRMCTL_*``
environment variable holding space-separated values. Passwords never come from the command line: the flags
name the environment variable or the file that holds each one, and the runbook names the same sources.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import click

from srmctl.cli.app import App
from srmctl.cli.envelope import envelope, neutralise
from srmctl.cli.options import lab_option, output_option
from srmctl.errors import UsageError

if TYPE_CHECKING:  # the engine is imported when the command runs, not for 'srmctl --help'
    from srmctl.adapters.endpoints import Endpoints
    from srmctl.engine.init_runbook import InitResult

SERVICES = ("vcenter", "srm", "vr")
_KIND = {"vcenter": "vCenter", "srm": "SRM", "vr": "VR"}
_THUMBPRINT = re.compile(r"^sha256:([0-9a-fA-F]{64}|([0-9a-fA-F]{2}:){31}[0-9a-fA-F]{2})$")


def _keyed(name: str, metavar: str, help_text: str) -> click.Option:
    env = "SRMCTL_" + name.upper().replace("-", "_")
    return click.Option([f"--{name}"], multiple=True, metavar=metavar, envvar=env, show_envvar=True, help=help_text)


_SITE_OPTIONS = [
    _keyed("vcenter", "SITE=HOST[:PORT]", "A site's vCenter (give two sites)."),
    _keyed("srm", "SITE=HOST[:PORT]", "A site's SRM server."),
    _keyed("vr", "SITE=HOST[:PORT]", "A site's vSphere Replication server."),
    _keyed("user", "SITE[.SERVICE]=USER", "User; SITE alone sets vCenter's, which SRM and VR share unless set."),
    _keyed("password-env", "SITE[.SERVICE]=VAR", "Environment variable holding the password."),
    _keyed("password-file", "SITE[.SERVICE]=PATH", "File holding the password (mode 0600)."),
    _keyed("thumbprint", "SITE[.SERVICE]=sha256:HEX", "Pin a server certificate; SITE alone pins the vCenter's."),
    _keyed("ca-file", "SITE[.SERVICE]=PATH", "PEM bundle of CAs to trust instead of the system store."),
]


@click.command("init")
@click.option("--plan", "plan", required=True, help="The recovery plan to write a runbook for.")
@click.option(
    "-f",
    "--file",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the runbook here (default: NAME.yaml in the current folder).",
)
@click.option(
    "--snapshot",
    "snapshot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the metadata snapshot here (default: beside the runbook, RUNBOOK.snapshot.yaml).",
)
@click.option("--name", "name", help="The runbook's name (default: from the plan's name).")
@click.option(
    "--scenario",
    type=click.Choice(["planned-migration", "disaster-recovery"]),
    help="How the VMs reached the recovery site (default: from the plan's state).",
)
@click.option("--rpo", help="RPO for the runbook (default: the shortest of the plan's replications), e.g. 15m.")
@click.option(
    "--site", "ask", help="Ask this site's SRM (default: the lab's protected site, else the first --vcenter site)."
)
@click.option("--force", is_flag=True, help="Replace the runbook and snapshot files if they exist.")
@lab_option
@output_option()
@click.pass_obj
def init(
    app: App,
    plan: str,
    file: Path | None,
    snapshot: Path | None,
    name: str | None,
    scenario: str | None,
    rpo: str | None,
    ask: str | None,
    force: bool,
    lab_dir: Path | None,
    **flags: tuple[str, ...],
) -> None:
    """Write a runbook and a metadata snapshot for the recovery plan --plan NAME, read from the live sites.

    Endpoints come from --lab DIR, or from the site flags (each also read from its SRMCTL_* variable,
    values separated by spaces); passwords from the variables or files the flags name, e.g. for each site:

    \b
      --vcenter ny=vc-ny.corp --srm ny=srm-ny.corp --vr ny=vr-ny.corp
      --user ny=administrator@vsphere.local --password-env ny=NY_PASSWORD

    Nothing is changed at the sites. Existing files are kept unless --force. Exit 1 when the plan is not
    found or is ambiguous (the candidates are listed), 2 for bad flags, 5 when a site cannot be reached.
    """
    from srmctl.cli.endpoints import lab_endpoints, read_lab
    from srmctl.engine.init_runbook import InitRequest, init_plan, refuse_overwrite
    from srmctl.runbook.models import NAME_PATTERN

    given = {key: value for key, value in flags.items() if value}
    if lab_dir is not None and given:
        raise UsageError(
            f"give either --lab or site flags, not both (got --lab and "
            f"{', '.join('--' + k.replace('_', '-') for k in sorted(given))})"
        )
    runbook_name = name or _slug(plan)
    if not re.fullmatch(NAME_PATTERN, runbook_name):
        raise UsageError(
            f"--name {runbook_name!r}: must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    runbook = file or Path(f"{runbook_name}.yaml")
    target = snapshot or runbook.with_name(f"{runbook.stem}.snapshot.yaml")
    lab = read_lab(lab_dir)
    if lab is not None:
        sites = (lab.protected_site, lab.recovery_site)
        endpoints = lab_endpoints(lab, sites)
        origin = f"the lab in {lab.directory} (its ports change when the lab restarts; 'srmctl failback "
        origin += "--lab' takes them from the lab)"
    else:
        endpoints = site_endpoints(given)
        sites = tuple(endpoints.sites)  # type: ignore[assignment]
        origin = "the command line and SRMCTL_* variables"
    if ask is not None:
        if ask not in sites:
            raise UsageError(f"--site {ask}: not one of {', '.join(sites)}")
        sites = (ask, next(s for s in sites if s != ask))
    request = InitRequest(
        plan=plan,
        sites=(sites[0], sites[1]),
        runbook=runbook,
        snapshot=target,
        name=runbook_name,
        origin=origin,
        force=force,
        scenario=scenario,
        rpo=rpo,
    )
    refuse_overwrite(request)  # before any connection: a refusal costs nothing
    result = init_plan(endpoints, request)
    if app.json_output:
        click.echo(envelope("init", result))
        return
    _show(app, result)


def _show(app: App, result: InitResult) -> None:
    for warning in result.warnings:
        click.echo(neutralise(f"warning: {warning}"), err=True)
    groups = ", ".join(result.groups) or "none"
    click.echo(
        neutralise(
            f"wrote {result.runbook}: {result.plan} ({result.plan_status}), {result.scenario}, "
            f"{result.failback_from} → {result.failback_to}, {result.vms} VMs, groups: {groups}"
        )
    )
    click.echo(
        neutralise(
            f"wrote {result.snapshot}: {result.vms} VMs, {result.custom_steps} custom steps, {result.prompts} prompts"
        )
    )
    click.echo(neutralise(f"next: srmctl plan {result.runbook}, then srmctl failback {result.runbook}"))


def _slug(plan: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", plan.lower()).strip("-._")[:64].rstrip("-._")
    return slug or "failback"


# --- endpoints from flags ----------------------------------------------------------------------------------


def site_endpoints(flags: dict[str, tuple[str, ...]]) -> Endpoints:
    """Two sites' Endpoints from the keyed flags; UsageError naming the flag for anything missing or wrong."""
    from srmctl.adapters.endpoints import Endpoints, Secret, ServiceEndpoint, SiteEndpoints
    from srmctl.adapters.tls import TlsPolicy

    hosts = {service: _pairs(service, flags.get(service, ()), per_service=False) for service in SERVICES}
    sites = list(dict.fromkeys(site for site, _ in hosts["vcenter"]))
    if len(sites) != 2:
        raise UsageError(
            f"give --vcenter SITE=HOST for exactly two sites (got {len(sites)}: "
            f"{', '.join(sites) or 'none'}), or --lab DIR"
        )
    settings = {
        key: _pairs(key, flags.get(key, ()), per_service=True)
        for key in ("user", "password_env", "password_file", "thumbprint", "ca_file")
    }
    for service, pairs in hosts.items():
        _known(service, [site for site, _ in pairs], sites)
        missing = [s for s in sites if s not in dict(pairs)]
        if missing:
            raise UsageError(f"--{service}: no address for site {', '.join(missing)}")
    for key, pairs in settings.items():
        _known(key, [site.split(".")[0] for site, _ in pairs], sites)
    built = {}
    for site in sites:
        services = {}
        for service in SERVICES:

            def get(key: str, service: str = service, site: str = site) -> str | None:
                values = dict(settings[key])
                if f"{site}.{service}" in values:
                    return values[f"{site}.{service}"]
                if key in ("thumbprint",) and service != "vcenter":
                    return None  # a site-wide pin would be wrong for the other appliances
                return values.get(site)

            user = get("user")
            env, file = get("password_env"), get("password_file")
            if env is None and file is None and service != "vcenter":
                env, file = get("password_env", "vcenter"), get("password_file", "vcenter")
            where = f"{site}.{service}"
            if user is None:
                raise UsageError(f"--user {site}=USER: no user for {where}")
            if env is not None and file is not None:
                raise UsageError(f"{where}: give only one of --password-env and --password-file")
            if env is None and file is None:
                raise UsageError(
                    f"{where}: no password source; give --password-env {site}=VAR or --password-file "
                    f"{site}=PATH (passwords are never taken on the command line)"
                )
            if env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env):
                raise UsageError(f"--password-env {where}={env}: not an environment variable name")
            pin = get("thumbprint")
            if pin is not None and not _THUMBPRINT.match(pin):
                raise UsageError(f"--thumbprint {where}={pin}: must be 'sha256:' followed by 64 hex digits")
            ca = get("ca_file")
            host, port = _address(service, site, dict(hosts[service])[site])
            services[service] = ServiceEndpoint(
                host=host,
                port=port,
                user=user,
                kind=_KIND[service],
                secret=Secret(where=where, env=env, file=str(Path(file).resolve()) if file else None),
                tls=TlsPolicy(
                    thumbprint=_normal_pin(pin),
                    ca_file=str(Path(ca).resolve()) if ca else None,
                    where=f"sites.{site}.{service}",
                ),
            )
        built[site] = SiteEndpoints(
            site, services["vcenter"], srm=services["srm"], vr=services["vr"], no_dr_error=UsageError
        )
    return Endpoints(built)


def _pairs(key: str, values: tuple[str, ...], *, per_service: bool) -> list[tuple[str, str]]:
    flag = "--" + key.replace("_", "-")
    out: list[tuple[str, str]] = []
    for value in values:
        site, sep, rest = value.partition("=")
        if not sep or not site or not rest:
            raise UsageError(f"{flag} {value}: expected {'SITE[.SERVICE]' if per_service else 'SITE'}=VALUE")
        if "." in site and (not per_service or site.split(".", 1)[1] not in SERVICES):
            wanted = f"SITE.SERVICE takes one of {', '.join(SERVICES)}" if per_service else "expected SITE=VALUE"
            raise UsageError(f"{flag} {value}: {wanted}")
        if site in dict(out):
            raise UsageError(f"{flag}: {site} given twice")
        out.append((site, rest))
    return out


def _known(key: str, named: list[str], sites: list[str]) -> None:
    unknown = sorted(set(named) - set(sites))
    if unknown:
        raise UsageError(
            f"--{key.replace('_', '-')}: site {', '.join(unknown)} has no --vcenter (sites: {', '.join(sites)})"
        )


def _address(service: str, site: str, text: str) -> tuple[str, int]:
    host, port = text, 443
    if text.startswith("["):  # [IPv6]:port
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise UsageError(f"--{service} {site}={text}: expected HOST[:PORT]")
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, _, digits = text.partition(":")
        if not digits.isdigit():
            raise UsageError(f"--{service} {site}={text}: port must be a number")
        port = int(digits)
    if not host or "/" in host or not 1 <= port <= 65535:
        raise UsageError(f"--{service} {site}={text}: expected HOST[:PORT] (no scheme or path, port 1-65535)")
    return host, port


def _normal_pin(pin: str | None) -> str | None:
    return None if pin is None else "sha256:" + pin[len("sha256:") :].replace(":", "").lower()


command = init
for _option in _SITE_OPTIONS:
    command.params.append(_option)
