"""``srmctl lab up|down|status``: a two-site lab of real simulators on loopback.

Each site is its own vcsim process with its own credentials and TLS certificate (so thumbprints differ)
and its own shape (so a MoRef from one site is wrong on the other, as in real life). Datastores are
directories inside the lab folder, so replicated files and seeds are real files that tests can inspect.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from srmctl.adapters.vcenter.connection import connect
from srmctl.errors import LabError, SrmctlError
from srmctl.lab.config import (
    LOGS_DIR,
    MANIFEST_FILE,
    RESERVED_ENTRIES,
    SRMSIM_DIR,
    LabConfig,
    LabEndpoint,
    LabSite,
    LabSrmsim,
    lab_file,
    load_lab,
    read_manifest,
    safe_component,
    save_lab,
    write_manifest,
)
from srmctl.lab.processes import (
    ProcessIdentity,
    identity,
    not_the_labs,
    private_log,
    require_proc,
    started_identity,
    stop_recorded,
    stranger,
)
from srmctl.lab.vcsim_site import build_site, start_vcsim_site
from srmctl.labkit.certs import make_certificate, write_private
from srmctl.labkit.processes import is_running
from srmctl.labkit.topology import Topology
from srmctl.srmsim.launcher import start_detached

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ProcessStatus:
    site: str
    service: str
    pid: int
    running: bool
    endpoint: str
    note: str = ""  # set when 'lab down' left the process alone, saying what it found instead


def up(
    directory: Path,
    topology: Topology,
    *,
    scenario: str = "protected",
    latency: str = "fast",
    progress: Progress | None = None,
) -> LabConfig:
    """Start both sites' vCenters, build the topology's ``protected`` world, then start srmsim (SRM and VR of
    both sites), which reaches ``scenario`` by running its own recovery and then serves with the ``latency``
    profile (srmsim/latency.py). Returns the lab config."""
    say = progress or (lambda _msg: None)
    directory = directory.resolve()
    require_proc()
    _check_names(topology)
    if lab_file(directory).exists():
        existing = load_lab(directory)
        if any(row.running for row, _ in _recorded(existing)):
            raise LabError(f"a lab is already running in {directory}; run 'srmctl lab down --dir {directory}' first")
    _claim(directory, list(topology.sites))
    sites: dict[str, LabSite] = {}
    try:
        for name, site in topology.sites.items():
            say(f"starting vCenter simulator for {name}")
            sites[name] = start_vcsim_site(directory, name, site)
            # Saved after every site so that 'lab down' can stop what did start if a later step fails.
            save_lab(LabConfig(directory=str(directory), protected_site=topology.protected_site, sites=sites))
        config = LabConfig(directory=str(directory), protected_site=topology.protected_site, sites=sites)
        for name, site in topology.sites.items():
            say(f"building inventory of {name}")
            endpoint = config.vcenter_endpoint(name)
            session = connect(endpoint)
            try:
                build_site(
                    session,
                    directory / name,
                    site,
                    [vm for vm in topology.vms] if name == topology.protected_site else [],
                    functools.partial(connect, endpoint),
                )
            finally:
                session.close()
        say(f"starting SRM and vSphere Replication simulator ({scenario})")
        config = _start_srmsim(config, topology, scenario, latency)
    except BaseException as error:
        _fail_keeping_logs(directory, error)
        raise
    save_lab(config)
    return config


def _fail_keeping_logs(directory: Path, error: BaseException) -> None:
    """Undo a failed 'lab up' but keep the simulators' logs (DIR/logs, listed in the manifest so that the next
    'lab up' or 'lab down' clears it), and make the error point at them where they now are."""
    logs = directory / LOGS_DIR
    shutil.rmtree(logs, ignore_errors=True)
    moved: dict[str, str] = {}
    for log in sorted([*directory.glob("*/vcsim/vcsim.*"), *directory.glob(f"{SRMSIM_DIR}/srmsim.*")]):
        if log.suffix in (".log", ".out") and log.is_file() and not log.is_symlink():
            kept = logs / log.relative_to(directory)
            kept.parent.mkdir(parents=True, exist_ok=True)
            log.replace(kept)  # a process still writing keeps writing into the kept file
            moved[str(log)] = str(kept)
    down(directory, keep=(LOGS_DIR,) if moved else ())
    if moved and isinstance(error, SrmctlError):
        message = error.message
        for old, new in moved.items():
            message = message.replace(old, new)
        error.message = f"{message}\n'lab up' stopped what it had started; the simulators' logs are in {logs}"
        error.args = (error.message,)


def _start_srmsim(config: LabConfig, topology: Topology, scenario: str, latency: str = "fast") -> LabConfig:
    """srmsim serves SRM and VR for both sites; each site gets its own certificate, and SSO users are the
    vCenter's (as SRM and VR authenticate against the vCenter's SSO)."""
    directory = Path(config.directory)
    workdir = directory / SRMSIM_DIR
    topology_file = workdir / "topology.yaml"
    workdir.mkdir(parents=True, exist_ok=True)
    for log in ("srmsim.out", "srmsim.log"):  # created owner-only; srmsim's launcher then writes into them
        private_log(workdir / log).close()
    topology_file.write_text(yaml.safe_dump(topology.model_dump(mode="json"), sort_keys=False))
    certs = {name: make_certificate(workdir / "certs" / name, f"srm-{name}.lab") for name in config.sites}
    sim_config = {
        "topology": topology_file.name,
        "scenario": scenario,
        "latency": latency,  # in srmsim's own config: srmsim started again from it keeps the profile
        "sites": {
            name: {
                "user": site.vcenter.user,
                "password_file": site.vcenter.password_file,
                "cert": str(certs[name][0]),
                "key": str(certs[name][1]),
                "thumbprint": certs[name][2],
                "vcenter": site.vcenter.model_dump(),
            }
            for name, site in config.sites.items()
        },
        # srmsim adopts the lab's vCenters: their VMs, and these directories behind their datastores.
        "datastores": {name: dict(site.datastores) for name, site in config.sites.items()},
    }
    config_file = workdir / "srmsim.yaml"
    write_private(config_file, yaml.safe_dump(sim_config, sort_keys=False).encode())
    # Recorded before it starts, so that 'lab down' stops it even if it fails half-way.
    save_lab(
        config.model_copy(
            update={
                "srmsim": LabSrmsim(pid=0, pairing_id="", scenario=scenario, config=str(config_file), latency=latency)
            }
        )
    )
    # The start limit scales with the topology: srmsim builds the scenario's world before it is ready (a
    # placeholder VM per protected VM, and for the failover scenarios a whole recovery).
    handle = start_detached(config_file, workdir, timeout=60.0 + 0.5 * len(topology.vms))
    # Still our unreaped child here, so its pid cannot have been reused yet.
    started = started_identity(handle.pid)
    sites = {}
    for name, site in config.sites.items():
        info = handle.sites[name]
        endpoint = LabEndpoint(
            host=info.host,
            port=info.port,
            user=info.user,
            password_file=site.vcenter.password_file,
            thumbprint=info.thumbprint,
            ca_file=info.cert,
        )
        sites[name] = site.model_copy(update={"srm": endpoint, "vr": endpoint})
    return config.model_copy(
        update={
            "sites": sites,
            "srmsim": LabSrmsim(
                pid=handle.pid,
                pairing_id=handle.pairing_id,
                vr_pairing_id=handle.vr_pairing_id,
                scenario=scenario,
                latency=latency,
                config=str(config_file),
                identity=started,
            ),
        }
    )


def down(directory: Path, progress: Progress | None = None, keep: tuple[str, ...] = ()) -> list[ProcessStatus]:
    """Stop the processes 'lab up' started and remove what it created (its manifest). Idempotent.

    A pid is signalled only while its command line and start time still match what 'lab up' recorded;
    otherwise the row says what holds the pid now and the process is left alone. Files the lab did not
    create (not in the manifest) stay.
    """
    say = progress or (lambda _msg: None)
    directory = directory.resolve()
    manifest = read_manifest(directory)
    config = load_lab(directory) if lab_file(directory).exists() else None
    if config is None and manifest is None:
        return []
    rows = []
    for row, recorded in _recorded(config) if config else []:
        if recorded is None:
            note = (
                ""
                if not row.running
                else (
                    "'lab up' recorded no identity for this pid, so it cannot tell "
                    "whether it is still its process; left alone"
                )
            )
        else:
            note = stranger(recorded) or ""
            if not note and identity(recorded.pid) is not None:
                note = not_the_labs(recorded, _ports(config, row) if config else set(), directory) or ""
            if not note:
                stop_recorded(recorded)
        if note:
            say(f"{row.site} {row.service}: {note}")
        rows.append(replace(row, running=bool(note) and row.running, note=note))
    if manifest is None:
        say(f"{directory} has no {MANIFEST_FILE} (the list of what 'lab up' created): no files removed")
        return rows
    # The manifest goes last: if this is interrupted, the next 'lab down' still knows what is the lab's. Entries
    # kept (a failed start's logs) stay listed in it, so that the next 'lab up' or 'lab down' clears them.
    kept = [entry for entry in manifest.created if entry in keep]
    for entry in sorted(manifest.created, key=lambda name: name == MANIFEST_FILE):
        if entry in kept or (kept and entry == MANIFEST_FILE):
            continue
        if not _labs_entry(directory, entry):
            say(f"{entry}: listed in {MANIFEST_FILE} but not a file 'lab up' creates; left alone")
            continue
        path = directory / entry
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    if kept:
        write_manifest(directory, [MANIFEST_FILE, *kept])
    return rows


#: What 'lab up' puts into a site's folder (certificate, password, vcsim's workdir, datastores).
SITE_FOLDER_ENTRIES = frozenset({"cert.pem", "key.pem", "vcenter.password", "vcsim", "datastores"})


def _labs_entry(directory: Path, entry: str) -> bool:
    """Whether ``entry`` of the manifest is one 'lab up' creates: its own files, or a site's folder (a real
    folder holding only what 'lab up' puts there). The manifest can be edited: a user's file or folder named
    in it is not the lab's."""
    path = directory / entry
    if entry in RESERVED_ENTRIES or not (path.exists() or path.is_symlink()):
        return True
    return path.is_dir() and not path.is_symlink() and {p.name for p in path.iterdir()} <= SITE_FOLDER_ENTRIES


def _ports(config: LabConfig, row: ProcessStatus) -> set[int]:
    """The ports the process of ``row`` serves the lab on (lab.yaml's endpoints)."""
    if row.service == "srmsim":
        return {s.srm.port for s in config.sites.values() if s.srm}
    return {config.sites[row.site].vcenter.port}


def status(directory: Path) -> list[ProcessStatus]:
    return [row for row, _ in _recorded(load_lab(directory.resolve()))]


def _recorded(config: LabConfig) -> list[tuple[ProcessStatus, ProcessIdentity | None]]:
    """Each process of the lab with what 'lab up' recorded of it; running means that very process runs."""

    def running(pid: int, recorded: ProcessIdentity | None) -> bool:
        return is_running(pid) if recorded is None else identity(pid) == recorded

    rows = [
        (
            ProcessStatus(
                name,
                service,
                pid,
                running=running(pid, site.identities.get(service)),
                endpoint=f"https://{site.vcenter.host}:{site.vcenter.port}/sdk",
            ),
            site.identities.get(service),
        )
        for name, site in config.sites.items()
        for service, pid in site.pids.items()
    ]
    if config.srmsim and config.srmsim.pid:
        endpoints = ", ".join(
            f"https://{s.srm.host}:{s.srm.port}/api/rest/{{srm,vr}}/v2" for s in config.sites.values() if s.srm
        )
        sim = config.srmsim
        rows.append(
            (
                ProcessStatus("both", "srmsim", sim.pid, running=running(sim.pid, sim.identity), endpoint=endpoints),
                sim.identity,
            )
        )
    return rows


def _check_names(topology: Topology) -> None:
    """Site and datastore names become folders of the lab folder: refuse any that is not one plain name."""
    for name, site in topology.sites.items():
        safe_component(name, "site")
        if name in RESERVED_ENTRIES:
            raise LabError(f"site name {name!r} is reserved: the lab folder uses that name for itself")
        for datastore in site.datastores:
            safe_component(datastore, f"site {name}: datastore")


def _claim(directory: Path, sites: list[str]) -> None:
    """Make ``directory`` the lab's: new, empty, or an earlier lab's (every entry in its manifest), which
    is cleared first. Anything else is the user's and is refused, before the lab writes a byte there."""
    if directory.exists() and not directory.is_dir():
        raise LabError(f"{directory} is not a folder")
    present = sorted(p.name for p in directory.iterdir()) if directory.exists() else []
    if present:
        manifest = read_manifest(directory)
        foreign = [name for name in present if manifest is None or name not in manifest.created]
        if foreign:
            listed = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise LabError(
                f"{directory} is not empty and its content was not created by 'srmctl lab up' "
                f"({listed}); use a new or empty folder for the lab"
            )
        down(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # Written before anything it lists exists, so that 'lab down' after a failure removes what did.
    write_manifest(directory, [*RESERVED_ENTRIES, *sites])
