"""``srmctl init``: discover a live recovery plan, draft a commented runbook from it, and write the runbook and
the plan's metadata snapshot, both validated, neither overwriting a file unless asked (docs/architecture.md,
"srmctl init: a runbook from the live plan").

The files are written only once both are ready: the runbook text is loaded with the runbook loader from a
temporary file beside its target, and each file appears under its final name in one step (a hard link, which
fails rather than replace a file that appeared meanwhile; a rename with ``force``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from srmctl.adapters.endpoints import Endpoints, ServiceEndpoint
from srmctl.engine.discover import DiscoveredVm, Discovery, discover, scenario_of
from srmctl.errors import UsageError
from srmctl.metadata.snapshot import dump_snapshot
from srmctl.runbook.loader import read_runbook
from srmctl.runbook.values import format_duration, parse_duration
from srmctl.runbook.writer import EndpointDraft, RunbookDraft, SiteDraft, VmDraft, glob_literal, render_runbook


@dataclass(frozen=True)
class InitRequest:
    plan: str
    sites: tuple[str, str]  # the first site's SRM is asked
    runbook: Path
    snapshot: Path
    name: str
    origin: str  # where the endpoints came from, for the runbook's comments ("lab /srv/lab", "command line")
    force: bool = False
    scenario: str | None = None  # overrides what the plan's state says
    rpo: str | None = None  # overrides the replications' RPO (needed when VR has none for the plan's VMs)


@dataclass(frozen=True)
class InitResult:
    runbook: Path
    snapshot: Path
    plan: str
    plan_status: str
    scenario: str
    failback_from: str
    failback_to: str
    vms: int
    groups: tuple[str, ...]
    replications: int
    prompts: int
    custom_steps: int
    warnings: tuple[str, ...]


def refuse_overwrite(request: InitRequest) -> None:
    """UsageError naming every target that exists (checked before anything is read, and again before writing)."""
    if request.runbook.resolve() == request.snapshot.resolve():
        raise UsageError(f"the runbook and the snapshot would both be written to {request.runbook}")
    if request.force:
        return
    existing = [str(p) for p in (request.runbook, request.snapshot) if p.exists() or p.is_symlink()]
    if existing:
        raise UsageError(f"refusing to overwrite {' and '.join(existing)} (use --force to replace)")


def init_plan(endpoints: Endpoints, request: InitRequest) -> InitResult:
    refuse_overwrite(request)
    if request.rpo is not None:
        parse_rpo(request.rpo)
    discovery = discover(endpoints, request.sites, request.plan)
    draft, warnings = draft_runbook(discovery, endpoints, request)
    publish(request, render_runbook(draft), dump_snapshot(discovery.snapshot))
    return InitResult(
        runbook=request.runbook,
        snapshot=request.snapshot,
        plan=discovery.plan,
        plan_status=discovery.status,
        scenario=draft.scenario,
        failback_from=draft.failback_from,
        failback_to=draft.failback_to,
        vms=len(discovery.vms),
        groups=tuple(g.name for g in discovery.groups),
        replications=sum(1 for vm in discovery.vms if vm.replication),
        prompts=len(discovery.prompts),
        custom_steps=discovery.custom_steps,
        warnings=warnings,
    )


def parse_rpo(text: str) -> int:
    try:
        minutes = int(parse_duration(text).total_seconds() // 60)
    except ValueError as error:
        raise UsageError(f"--rpo {text}: {error}") from None
    if not 5 <= minutes <= 1440:
        raise UsageError(f"--rpo {text}: must be between 5m and 24h")
    return minutes


# --- drafting ----------------------------------------------------------------------------------------------


def draft_runbook(d: Discovery, endpoints: Endpoints, request: InitRequest) -> tuple[RunbookDraft, tuple[str, ...]]:
    warnings: list[str] = []
    if not d.vms:
        raise UsageError(
            f"recovery plan {d.plan!r} holds no VMs (groups: "
            f"{', '.join(g.name for g in d.groups) or 'none'}): there is nothing to fail back"
        )
    scenario, why = scenario_of(d)
    if request.scenario is not None:
        scenario, why = request.scenario, f"from --scenario (the plan is {d.status})"
    if d.status.endswith("_IN_PROGRESS"):
        warnings.append(f"the plan is {d.status}: its metadata was captured while SRM was running it")
    # Each VM keeps its own replication settings (the snapshot records them, failback restores them per VM): the
    # runbook gets no flattened set, only --rpo as the default for VMs with no recorded settings.
    replicated = [vm for vm in d.vms if vm.replication]
    rpo = parse_rpo(request.rpo) if request.rpo is not None else None
    missing = [vm.name for vm in d.vms if vm.replication is None]
    if not replicated and rpo is None:
        raise UsageError(
            f"vSphere Replication has no replication of the VMs of {d.plan!r} from {d.home} "
            f"(checked: {', '.join(vm.name for vm in d.vms)}); give --rpo to choose the RPO"
        )
    if missing and replicated and rpo is None:
        warnings.append(
            f"no replication from {d.home} found for {', '.join(missing)}: set replication.rpo (or "
            "give --rpo), the settings for VMs with none recorded"
        )
    seedless = [vm.name for vm in d.vms if not vm.home_datastores]
    seeds = "preferred" if seedless else "required"
    stale_on = [vm.name for vm in d.vms if vm.home_copy_powered_on and d.away in vm.running]
    group: str | None = None
    if not d.groups:
        # Failback rebuilds the plan's own groups by name (the default), so a runbook names a group only when
        # the plan has none to rebuild: one is created, named after the plan.
        group = d.plan
    vms = tuple(
        VmDraft(
            name=vm.name,
            instance_uuid=vm.instance_uuid,
            datastore=vm.home_datastores[0] if len(vm.home_datastores) == 1 else None,
            note=_vm_note(vm, d),
        )
        for vm in d.vms
    )
    notes = {
        "header": _header(d, request),
        "scenario": (f"How the VMs reached {d.away}: {why}.",),
        "sites": (
            f"Endpoints from {request.origin}. Passwords are never written here: each endpoint names the "
            "environment variable (password_env) or file (password_file, mode 0600) that holds it; SRM and "
            "VR without their own use the vCenter's.",
        ),
        "failback": (
            f"The plan protects {d.home} to {d.away}; failing back brings the VMs from {d.away} home to {d.home}.",
        ),
        "vms": (
            f"Every VM of the plan ({len(d.vms)}), from SRM. datastore: where the VM's copy at {d.home} "
            "lives (vCenter); its disks are the seeds of the reverse replication.",
        ),
        "replication": _replication_notes(d, rpo, seeds, seedless),
        "protection_group": (
            *(f"The plan's group {g.name!r} (SRM): {', '.join(g.vms) or 'no VMs'}." for g in d.groups),
            "The plan has no protection groups: one is created, named after the plan."
            if not d.groups
            else "All the VMs go into the one group named here."
            if group is not None
            else "Each direction rebuilds these groups by name (the default); to rename them, add "
            "protection_groups: {rename: {OLD: NEW}}; to merge them, protection_group: {name: NEW}.",
        ),
        "recovery_plan": (
            f"The plan's metadata (per-VM priorities, dependencies, callouts, IP settings; "
            f"{d.custom_steps} custom steps) as SRM held it when this runbook was written; failback "
            "restores it after the rebuild.",
        ),
        "strategy": ("rebuild: srmctl's own sequence; reprotect: SRM's reprotect; auto: reprotect, else rebuild.",),
        "prompts": (
            (
                "The plan's prompt steps (SRM). srmctl answers these during plan.test and plan.migrate; "
                "remove any a person must answer (an unlisted prompt stops the run).",
            )
            if d.prompts
            else ("The plan has no prompt steps.",)
        ),
        "confirm": (
            (
                "Stale copies powered on again at " + d.home + ": " + ", ".join(stale_on) + ". Check them, "
                "then set true to let srmctl power them off and unregister them.",
            )
            if stale_on
            else ("Set true only after a disaster recovery whose stale VMs were powered on again.",)
        ),
    }
    home, away = endpoints.site(d.home), endpoints.site(d.away)
    draft = RunbookDraft(
        name=request.name,
        description=f"Failback of recovery plan {d.plan} from {d.away} to {d.home}.",
        scenario=scenario,
        failback_from=d.away,
        failback_to=d.home,
        sites=(
            _site(d.home, home.vcenter, home.dr("srm"), home.dr("vr")),
            _site(d.away, away.vcenter, away.dr("srm"), away.dr("vr")),
        ),
        vms=vms,
        rpo=None if rpo is None else parse_duration(f"{rpo}m"),
        seeds=seeds,
        protection_group=group,
        plan=d.plan,
        metadata=_relative(request.snapshot, request.runbook),
        dismiss=tuple(glob_literal(p) for p in d.prompts),
        notes=notes,
    )
    return draft, tuple(warnings)


def _header(d: Discovery, request: InitRequest) -> tuple[str, ...]:
    written = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    file = request.runbook.name
    return (
        f"Written by 'srmctl init --plan {d.plan}' on {written} from the live plan at {d.asked} (SRM and "
        f"vSphere Replication read, nothing changed; plan status {d.status}).",
        f"Check it with 'srmctl validate {file}', preview with 'srmctl plan {file}', then 'srmctl failback "
        f"{file}'. Keys: docs/runbook.md.",
    )


def _replication_notes(d: Discovery, rpo: int | None, seeds: str, seedless: list[str]) -> tuple[str, ...]:
    lines = [
        "For the reverse replication and the restored one, each VM keeps its own settings (recorded in the "
        "snapshot, per VM). The plan's replications (vSphere Replication):"
    ]
    for vm in d.vms:
        r = vm.replication
        if r is None:
            lines.append(f"  {vm.name}: none found")
            continue
        lines.append(
            f"  {vm.name}: rpo {format_duration(parse_duration(f'{r.rpo_minutes or 0}m'))}, quiesce "
            f"{_on(r.quiesce)}, compression {_on(r.compression)}, MPIT {r.mpit or 'off'}, target "
            f"{', '.join(r.target_datastores) or '?'} ({r.status})"
        )
    lines.append(
        f"rpo: {format_duration(parse_duration(f'{rpo}m'))} from --rpo, for VMs with no recorded settings."
        if rpo is not None
        else "rpo, quiesce, network_compression: settings for VMs with none recorded; "
        "add override: true to apply them to every VM instead."
    )
    lines.append(
        "seeds: required, every VM has a copy at " + d.home
        if seeds == "required"
        else f"seeds: preferred, no copy at {d.home} for {', '.join(seedless)}"
    )
    return tuple(lines)


def _vm_note(vm: DiscoveredVm, d: Discovery) -> str:
    where = (
        f"runs at {vm.running[0]}"
        if len(vm.running) == 1
        else "not running at either site"
        if not vm.running
        else f"powered on at {' and '.join(vm.running)}"
    )
    group = f"group {vm.group}" if vm.group else "no group"
    extra = f"; datastores at {d.home}: {', '.join(vm.home_datastores)}" if len(vm.home_datastores) > 1 else ""
    return f"{group}; {where}{extra}"


def _on(value: bool) -> str:
    return "on" if value else "off"


def _site(name: str, vcenter: ServiceEndpoint, srm: ServiceEndpoint, vr: ServiceEndpoint) -> SiteDraft:
    """SRM and VR without their own user and password source when they use the vCenter's (the runbook's
    default: one SSO domain), so the file says it once."""
    vc = _endpoint(vcenter)
    login = (vc.user, vc.password_env, vc.password_file)

    def dr(e: ServiceEndpoint) -> EndpointDraft:
        draft = _endpoint(e)
        if (draft.user, draft.password_env, draft.password_file) == login:
            return replace(draft, user=None, password_env=None, password_file=None)
        return draft

    return SiteDraft(name, vc, dr(srm), dr(vr))


def _endpoint(e: ServiceEndpoint) -> EndpointDraft:
    return EndpointDraft(
        host=e.host,
        port=e.port,
        user=e.user,
        password_env=e.secret.env,
        password_file=e.secret.file,
        thumbprint=e.tls.thumbprint,
        ca_file=e.tls.ca_file,
        insecure=e.tls.insecure,
    )


def _relative(target: Path, runbook: Path) -> str:
    """``target`` as the runbook should name it: relative to the runbook's folder (the loader resolves it so)."""
    return os.path.relpath(target.resolve(), runbook.resolve().parent)


# --- writing -----------------------------------------------------------------------------------------------


def publish(request: InitRequest, runbook_text: str, snapshot_text: str) -> None:
    """Validate the runbook as it will be read, then make both files appear (snapshot first: the runbook
    points at it)."""
    refuse_overwrite(request)
    staged: list[tuple[Path, Path]] = []
    published: list[Path] = []
    try:
        for target, text in ((request.snapshot, snapshot_text), (request.runbook, runbook_text)):
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            staged.append((tmp, target))
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        read_runbook(staged[1][0])  # RunbookInvalid (exit 3) here is a bug in the draft: nothing is written
        for tmp, target in staged:
            if request.force:
                tmp.replace(target)
            else:
                try:
                    os.link(tmp, target)
                    published.append(target)
                except FileExistsError:
                    for done in published:  # all or nothing: the snapshot alone is no use
                        done.unlink(missing_ok=True)
                    raise UsageError(
                        f"refusing to overwrite {target}: it appeared while srmctl init ran (use --force to replace)"
                    ) from None
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
