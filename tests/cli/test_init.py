"""`srmctl init --plan NAME` on real labs (vcsim + srmsim): the runbook and snapshot it writes validate and say
where their values came from; it reads and never changes; existing files are kept unless --force; a wrong plan
name or wrong flags end in a clear error with nothing written. The init → failback run is in
tests/e2e/test_init_failback.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from labstate import snapshot as whole_state

from srmctl.adapters.dr.models import RecoveryPlan
from srmctl.adapters.endpoints import Endpoints, Secret, ServiceEndpoint, SiteEndpoints
from srmctl.cli.main import cli
from srmctl.engine.discover import DiscoveredGroup, DiscoveredVm, Discovery, VmReplication, find_plan
from srmctl.engine.init_runbook import InitRequest, draft_runbook
from srmctl.errors import Ambiguous, NotFound, UsageError
from srmctl.lab import lab
from srmctl.lab.config import LabConfig
from srmctl.labkit.topology import load_topology
from srmctl.metadata.snapshot import PlanInfo, Snapshot, Source, read_snapshot
from srmctl.runbook import load_runbook, read_runbook
from srmctl.runbook.writer import EndpointDraft, RunbookDraft, SiteDraft, VmDraft, glob_literal, render_runbook

PLAN = "VR Failover"


@contextmanager
def _lab(factory: pytest.TempPathFactory, scenario: str) -> Iterator[LabConfig]:
    directory = factory.mktemp(f"init-{scenario}") / "lab"
    config = lab.up(directory, load_topology(), scenario=scenario)
    try:
        yield config
    finally:
        lab.down(directory)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabConfig]:
    """Read-only use: init changes nothing (one test proves it)."""
    with _lab(tmp_path_factory, "planned-migration") as config:
        yield config


def _run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def _init(config: LabConfig, folder: Path, *extra: str) -> Result:
    return _run("init", "--plan", PLAN, "--lab", config.directory, "-f", str(folder / "rb.yaml"), *extra)


@pytest.mark.lab
def test_init_from_a_lab_writes_a_runbook_and_snapshot_that_validate(migrated: LabConfig, tmp_path: Path) -> None:
    before = whole_state(migrated)
    result = _init(migrated, tmp_path, "-o", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)["result"]
    runbook, snapshot = tmp_path / "rb.yaml", tmp_path / "rb.snapshot.yaml"
    assert (out["runbook"], out["snapshot"]) == (str(runbook), str(snapshot))
    assert {
        k: out[k]
        for k in (
            "plan",
            "plan_status",
            "scenario",
            "failback_from",
            "failback_to",
            "vms",
            "groups",
            "replications",
            "prompts",
            "custom_steps",
        )
    } == {
        "plan": PLAN,
        "plan_status": "RECOVERY_COMPLETE",
        "scenario": "planned-migration",
        "failback_from": "new-jersey",
        "failback_to": "new-york",
        "vms": 4,
        "groups": ["VR mail", "VR web"],
        "replications": 4,
        "prompts": 2,
        "custom_steps": 2,
    }
    assert whole_state(migrated) == before  # read-only: vCenter, SRM and VR as they were

    validated = _run("validate", str(runbook))
    assert validated.exit_code == 0, validated.output
    rb = load_runbook(runbook)
    assert rb.recovery_plan.name == PLAN and rb.recovery_plan.metadata == snapshot
    assert (rb.source_site_name, rb.target_site_name, rb.scenario) == ("new-jersey", "new-york", "planned-migration")
    # From vCenter: each VM's copy at home is where it replicates back to (its disks are the seeds).
    assert {vm.name: vm.datastore for vm in rb.vms or ()} == {
        "db01": "NY-SAN-01",
        "mail04": "ESX1_LOCAL",
        "web01": "NY-SAN-01",
        "web02": "NY-SAN-01",
    }
    # From VR: the lab's replications have RPOs 5m-30m with quiescing and compression mixed. Each VM keeps its
    # own (the snapshot records them): the runbook holds no flattened set, and nothing is warned about.
    replication = rb.replication
    assert (replication.rpo, replication.override, replication.seeds) == (None, False, "required")
    recorded = read_snapshot(snapshot).replication or {}
    assert {name: (r.rpo, r.quiesce, r.network_compression) for name, r in recorded.items()} == {
        "db01": (5, True, True),
        "mail04": (15, True, False),
        "web01": (30, False, True),
        "web02": (30, False, True),
    }
    assert set(rb.prompts.dismiss) == {"Check mail flow", "Call the mail team"}  # the plan's prompt steps
    assert not rb.confirm.power_off_stale_vms
    assert out["warnings"] == []

    text = runbook.read_text()
    for said in (
        "# Written by 'srmctl init --plan VR Failover'",
        "RECOVERY_COMPLETE",
        "mail04: rpo 15m, quiesce on, compression off, MPIT off, target ESX3_LOCAL",
        "The plan's group 'VR web' (SRM): db01, web01, web02",
        "Endpoints from the lab in",
    ):
        assert said in text, said
    # The snapshot is the live plan's metadata, as 'snapshot diff' reads it.
    diff = _run("snapshot", "diff", str(snapshot), "--plan", PLAN, "--lab", migrated.directory, "-o", "json")
    assert diff.exit_code == 0, diff.output
    assert json.loads(diff.output)["result"]["equal"] is True
    # The runbook names the lab's endpoints, so commands need no --lab.
    planned = _run("plan", str(runbook), "-o", "json")
    assert planned.exit_code == 0, planned.output


@pytest.mark.lab
def test_existing_files_are_kept_unless_force(migrated: LabConfig, tmp_path: Path) -> None:
    assert _init(migrated, tmp_path).exit_code == 0
    runbook, snapshot = tmp_path / "rb.yaml", tmp_path / "rb.snapshot.yaml"
    snapshot.write_text("mine\n")
    again = _init(migrated, tmp_path)
    assert again.exit_code == 2, again.output
    assert f"refusing to overwrite {runbook} and {snapshot} (use --force to replace)" in again.stderr
    assert snapshot.read_text() == "mine\n"
    runbook.unlink()
    alone = _init(migrated, tmp_path)  # one existing file is enough to refuse both
    assert alone.exit_code == 2 and not runbook.exists() and snapshot.read_text() == "mine\n"
    forced = _init(migrated, tmp_path, "--force")
    assert forced.exit_code == 0, forced.output
    assert read_runbook(runbook).runbook.name == "vr-failover" and "mine" not in snapshot.read_text()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left


@pytest.mark.lab
def test_a_plan_that_does_not_exist_is_named_with_the_plans_there(migrated: LabConfig, tmp_path: Path) -> None:
    result = _run(
        "init", "--plan", "VR Failovr", "--lab", migrated.directory, "-f", str(tmp_path / "rb.yaml"), "-o", "json"
    )
    assert result.exit_code == 1, result.output
    error = json.loads(result.output)["error"]
    assert error["code"] == "not_found"
    assert error["message"] == "recovery plan 'VR Failovr' not found at new-york (--plan); plans there: 'VR Failover'"
    assert list(tmp_path.iterdir()) == []


def test_an_ambiguous_plan_name_lists_the_candidates() -> None:
    plans = [RecoveryPlan(id=f"plan-{n}", name="Tier 1", status="READY_STATE", location=f"folder-{n}") for n in (1, 2)]
    with pytest.raises(Ambiguous) as raised:
        find_plan([*plans, RecoveryPlan(id="plan-3", name="Tier 2", status="READY_STATE")], "Tier 1", "new-york")
    assert raised.value.candidates == ["plan-1 (folder-1, READY_STATE)", "plan-2 (folder-2, READY_STATE)"]
    with pytest.raises(NotFound, match="plans there: none"):
        find_plan([], "Tier 1", "new-york")


def _site_flags(config: LabConfig) -> tuple[list[str], dict[str, str]]:
    """The lab's endpoints as site flags (addresses on the command line) and SRMCTL_* variables (the rest)."""
    args: list[str] = []
    env = {"SRMCTL_USER": "", "SRMCTL_PASSWORD_ENV": "", "SRMCTL_THUMBPRINT": ""}
    for name, site in config.sites.items():
        assert site.srm and site.vr
        args += [
            "--vcenter",
            f"{name}={site.vcenter.host}:{site.vcenter.port}",
            "--srm",
            f"{name}={site.srm.host}:{site.srm.port}",
            "--vr",
            f"{name}={site.vr.host}:{site.vr.port}",
        ]
        secret = name.upper().replace("-", "_") + "_PASSWORD"
        env[secret] = site.vcenter.password()
        env["SRMCTL_USER"] += f" {name}={site.vcenter.user}"
        env["SRMCTL_PASSWORD_ENV"] += f" {name}={secret}"
        env["SRMCTL_THUMBPRINT"] += (
            f" {name}={site.vcenter.thumbprint} {name}.srm={site.srm.thumbprint} {name}.vr={site.vr.thumbprint}"
        )
    return args, env


@pytest.mark.lab
def test_init_from_site_flags_and_environment_names_secret_sources(migrated: LabConfig, tmp_path: Path) -> None:
    args, env = _site_flags(migrated)
    runbook = tmp_path / "tier1.yaml"
    result = _run("init", "--plan", PLAN, *args, "-f", str(runbook), "--name", "tier-1", env=env)
    assert result.exit_code == 0, result.output
    assert "wrote " + str(runbook) in result.output
    text = runbook.read_text()
    for site in migrated.sites.values():
        assert site.vcenter.password() not in text  # the secret's source is written, never its value
    loaded = read_runbook(runbook)
    assert loaded.runbook.name == "tier-1"
    ny = loaded.runbook.site("new-york")
    assert (ny.vcenter.password_env, ny.srm.user, ny.srm.password_env) == ("NEW_YORK_PASSWORD", None, None)
    assert ny.credentials("srm").password_env == "NEW_YORK_PASSWORD"  # SRM and VR share the vCenter's
    assert (tmp_path / "tier1.snapshot.yaml").is_file()
    with_secrets = _run("plan", str(runbook), env=env)
    assert with_secrets.exit_code == 0, with_secrets.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lab", "LAB", "--vcenter", "a=h"], "give either --lab or site flags, not both"),
        (["--vcenter", "a=h"], "give --vcenter SITE=HOST for exactly two sites (got 1: a), or --lab DIR"),
        (
            ["--vcenter", "a=h", "--vcenter", "b=h", "--srm", "a=h", "--vr", "a=h", "--vr", "b=h"],
            "--srm: no address for site b",
        ),
        (
            ["--vcenter", "a=h", "--vcenter", "b=h", "--srm", "a=h", "--srm", "b=h", "--vr", "a=h", "--vr", "c=h"],
            "--vr: site c has no --vcenter (sites: a, b)",
        ),
        (
            [
                "--vcenter",
                "a=h:99999",
                "--vcenter",
                "b=h",
                "--srm",
                "a=h",
                "--srm",
                "b=h",
                "--vr",
                "a=h",
                "--vr",
                "b=h",
                "--user",
                "a=u",
                "--user",
                "b=u",
                "--password-env",
                "a=PW",
                "--password-env",
                "b=PW",
            ],
            "--vcenter a=h:99999: expected HOST[:PORT]",
        ),
        (["--vcenter", "a", "--vcenter", "b=h"], "--vcenter a: expected SITE=VALUE"),
        (
            [
                "--vcenter",
                "a=h",
                "--vcenter",
                "b=h",
                "--srm",
                "a=h",
                "--srm",
                "b=h",
                "--vr",
                "a=h",
                "--vr",
                "b=h",
                "--user",
                "a=u",
                "--user",
                "b=u",
                "--password-env",
                "a=PW",
            ],
            "b.vcenter: no password source; give --password-env b=VAR or --password-file b=PATH (passwords are never "
            "taken on the command line)",
        ),
        (
            [
                "--vcenter",
                "a=h",
                "--vcenter",
                "b=h",
                "--srm",
                "a=h",
                "--srm",
                "b=h",
                "--vr",
                "a=h",
                "--vr",
                "b=h",
                "--user",
                "a.nsx=u",
            ],
            "--user a.nsx=u: SITE.SERVICE takes one of vcenter, srm, vr",
        ),
        (
            [
                "--vcenter",
                "a=h",
                "--vcenter",
                "b=h",
                "--srm",
                "a=h",
                "--srm",
                "b=h",
                "--vr",
                "a=h",
                "--vr",
                "b=h",
                "--user",
                "a=u",
                "--user",
                "b=u",
                "--password-env",
                "a=PW",
                "--password-env",
                "b=PW",
                "--thumbprint",
                "a=sha1:00",
            ],
            "--thumbprint a.vcenter=sha1:00: must be 'sha256:' followed by 64 hex digits",
        ),
        (["--lab", "LAB", "--name", "Tier 1"], "--name 'Tier 1': must be 1-64 letters"),
        (["--lab", "LAB", "--site", "nowhere"], "--site nowhere: not one of new-york, new-jersey"),
        (["--lab", "LAB", "--rpo", "15"], "--rpo 15: expected a duration"),
        (["--lab", "LAB", "--rpo", "2m"], "--rpo 2m: must be between 5m and 24h"),
    ],
)
@pytest.mark.lab
def test_bad_flags_are_named_and_nothing_is_written(
    migrated: LabConfig, tmp_path: Path, args: list[str], message: str
) -> None:
    args = [migrated.directory if a == "LAB" else a for a in args]
    result = _run("init", "--plan", PLAN, "-f", str(tmp_path / "rb.yaml"), *args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split()), result.stderr
    assert list(tmp_path.iterdir()) == []


def test_passwords_are_not_taken_on_the_command_line(tmp_path: Path) -> None:
    result = _run("init", "--plan", PLAN, "--password", "secret", "-f", str(tmp_path / "rb.yaml"))
    assert result.exit_code == 2 and "No such option '--password'" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.lab
def test_after_a_disaster_recovery_stale_vms_are_named_not_confirmed(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    with _lab(tmp_path_factory, "disaster-recovery") as config:
        result = _init(config, tmp_path)
        assert result.exit_code == 0, result.output
        rb = load_runbook(tmp_path / "rb.yaml")
        assert rb.scenario == "disaster-recovery" and not rb.confirm.power_off_stale_vms
        text = (tmp_path / "rb.yaml").read_text()
        assert "its last recovery was a disaster recovery" in text
        assert "Stale copies powered on again at new-york: db01, mail04, web01, web02" in text


# --- the writer on its own: names from vCenter and SRM are data --------------------------------------------


HOSTILE = [
    "007",
    "yes",
    "null",
    "a: b # c",
    "[red]web02",
    "- dash",
    "line\nversion: 2",
    "tab\there",
    "ünï",
    'quote"s',
    "back\\slash",
    "{x}",
    "*star?",
]


def test_hostile_names_are_written_so_they_read_back_unchanged(tmp_path: Path) -> None:
    endpoint = EndpointDraft(host="vc.example", user="admin@vsphere.local", password_env="PW")
    sites = tuple(
        SiteDraft(name, endpoint, EndpointDraft(host="srm.example"), EndpointDraft(host="vr.example"))
        for name in ("home site", "away: site")
    )
    draft = RunbookDraft(
        name="hostile",
        description="line one\nline two: x",
        scenario="planned-migration",
        failback_from="away: site",
        failback_to="home site",
        sites=sites,
        vms=tuple(VmDraft(name=n, datastore=n, note=n) for n in HOSTILE),
        rpo=timedelta(minutes=15),
        seeds="preferred",
        protection_group="[/bold]group",
        plan="plan\u2028# injected",
        metadata="snap #1.yaml",
        dismiss=tuple(glob_literal(n) for n in HOSTILE),
        notes={section: (f"note for {section}\nversion: 99\r\u0085\u2029done",) for section in ("header", "vms")},
    )
    path = tmp_path / "hostile.yaml"
    path.write_text(render_runbook(draft))
    rb = load_runbook(path)
    assert [vm.name for vm in rb.vms or ()] == HOSTILE and [vm.datastore for vm in rb.vms or ()] == HOSTILE
    assert rb.recovery_plan.name == "plan\u2028# injected" and rb.protection_group.name == "[/bold]group"
    assert rb.recovery_plan.metadata == tmp_path / "snap #1.yaml"
    assert rb.version == 1 and rb.description == "line one\nline two: x"
    # Each prompt pattern matches exactly its name (fnmatch), so '*star?' does not dismiss every prompt.
    for name, pattern in zip(HOSTILE, rb.prompts.dismiss, strict=True):
        assert fnmatchcase(name, pattern) and not fnmatchcase(name + "x", pattern)
    assert yaml.safe_load(path.read_text())["version"] == 1  # no comment became YAML


@pytest.mark.lab
def test_unreachable_sites_and_unset_password_variables_write_nothing(migrated: LabConfig, tmp_path: Path) -> None:
    args, env = _site_flags(migrated)
    target = tmp_path / "out" / "rb.yaml"
    ny = migrated.sites["new-york"].vcenter
    closed = [a.replace(f"{ny.host}:{ny.port}", f"{ny.host}:1") for a in args]
    refused = _run("init", "--plan", PLAN, *closed, "-f", str(target), env=env)
    assert refused.exit_code == 5 and "cannot connect" in refused.stderr, refused.output
    unset = _run("init", "--plan", PLAN, *args, "-f", str(target), env={**env, "NEW_YORK_PASSWORD": ""})
    assert unset.exit_code == 2, unset.output
    assert "new-york.vcenter: environment variable NEW_YORK_PASSWORD is not set" in unset.stderr
    assert list(tmp_path.iterdir()) == []


# --- drafting on its own: what the runbook cannot hold is said, what cannot be known is asked for -----------


def _discovery(vms: tuple[DiscoveredVm, ...]) -> Discovery:
    snapshot = Snapshot(
        taken_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
        source=Source(site="ny", srm="srm-ny"),
        plan=PlanInfo(name="Tier 1", protected_site="ny", recovery_site="nj"),
    )
    return Discovery(
        plan="Tier 1",
        plan_id="plan-1",
        status="RECOVERY_COMPLETE",
        asked="ny",
        home="ny",
        away="nj",
        groups=(DiscoveredGroup("Tier 1 VMs", tuple(vm.name for vm in vms)),),
        vms=vms,
        snapshot=snapshot,
    )


def _endpoints() -> Endpoints:
    def site(name: str) -> SiteEndpoints:
        def service(kind: str) -> ServiceEndpoint:
            return ServiceEndpoint(
                host=f"{kind}-{name}.example", user="admin", kind=kind, secret=Secret(env=f"{name.upper()}_PW")
            )

        return SiteEndpoints(name, service("vCenter"), srm=service("SRM"), vr=service("VR"))

    return Endpoints({"ny": site("ny"), "nj": site("nj")})


def _vm(name: str, replication: VmReplication | None) -> DiscoveredVm:
    return DiscoveredVm(
        name=name,
        group="Tier 1 VMs",
        running=("nj",),
        home_datastores=("DS1",),
        home_copy_powered_on=False,
        instance_uuid=None,
        replication=replication,
    )


def _request(tmp_path: Path, rpo: str | None = None) -> InitRequest:
    return InitRequest(
        plan="Tier 1",
        sites=("ny", "nj"),
        runbook=tmp_path / "rb.yaml",
        snapshot=tmp_path / "rb.snapshot.yaml",
        name="tier-1",
        origin="a test",
        rpo=rpo,
    )


def test_draft_keeps_each_vms_settings_and_asks_for_what_is_unknown(tmp_path: Path) -> None:
    mpit = VmReplication(10, False, False, "3 instances per day for 5 days", "OK", ("DS9",))
    draft, warnings = draft_runbook(_discovery((_vm("a", mpit), _vm("b", None))), _endpoints(), _request(tmp_path))
    assert draft.rpo is None and draft.seeds == "required"  # no flattened set: each VM keeps its own
    assert any(w.startswith("no replication from ny found for b: set replication.rpo") for w in warnings), warnings
    assert not any("point-in-time" in w for w in warnings), warnings
    assert any("MPIT 3 instances per day for 5 days, target DS9" in line for line in draft.notes["replication"])
    # SRM and VR share the vCenter's login, so the runbook says it once.
    assert (draft.sites[0].srm.user, draft.sites[0].srm.password_env, draft.sites[0].vcenter.password_env) == (
        None,
        None,
        "NY_PW",
    )

    with pytest.raises(UsageError, match="no replication of the VMs of 'Tier 1' from ny .*give --rpo"):
        draft_runbook(_discovery((_vm("b", None),)), _endpoints(), _request(tmp_path))
    chosen, _ = draft_runbook(_discovery((_vm("b", None),)), _endpoints(), _request(tmp_path, rpo="1h"))
    assert chosen.rpo == timedelta(hours=1)
    with pytest.raises(UsageError, match="holds no VMs"):
        draft_runbook(_discovery(()), _endpoints(), _request(tmp_path))


def test_the_plans_own_groups_are_rebuilt_so_none_is_named(tmp_path: Path) -> None:
    """Failback rebuilds the plan's own groups by name, so init names no group and warns of no merge."""
    vms = (_vm("a", VmReplication(15, True, True, "", "OK", ())),)
    discovery = _discovery(vms)
    two = replace(discovery, groups=(*discovery.groups, DiscoveredGroup("Tier 1 DB", ())))
    own, warnings = draft_runbook(two, _endpoints(), _request(tmp_path))
    assert own.protection_group is None and not any("protection groups" in w for w in warnings)
    text = render_runbook(own)
    assert "protection_group" not in yaml.safe_load(text)
    assert "# Each direction rebuilds these groups by name (the default)" in text
