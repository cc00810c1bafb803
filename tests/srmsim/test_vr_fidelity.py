"""srmsim's vSphere Replication is as strict as the product (issue #10): the VR pairing is its own object with
its own id, a sync that runs past the RPO reports the RPO-violation sync state, a disk is never configured
without seeds onto an existing file, and a recovered replication reports RECOVERED. Real srmsim processes on
loopback, no mocks."""

from __future__ import annotations

import hashlib
import re
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from srmsim_fixtures import PASSWORD, launch, logged_in, make_client

from srmctl.adapters.dr import DrApiError, VrClient
from srmctl.adapters.dr.models import ConfigureReplicationSpec, Replication, ReplicationDiskSpec, VrVm
from srmctl.adapters.dr.site import find_vr_pairing
from srmctl.errors import NotFound
from srmctl.srmsim.launcher import SrmsimHandle

pytestmark = pytest.mark.lab

NY, NJ = "new-york", "new-jersey"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SrmsimHandle]:
    handle = launch(tmp_path_factory.mktemp("vr-fidelity"))
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def recovered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SrmsimHandle]:
    handle = launch(tmp_path_factory.mktemp("vr-recovered"), scenario="planned-migration")
    yield handle
    handle.stop()


def _raw(handle: SrmsimHandle, api: str, path: str) -> httpx.Response:
    endpoint = handle.sites[NY]
    with httpx.Client(
        base_url=f"https://{endpoint.host}:{endpoint.port}/api/rest/{api}/v2",
        verify=ssl.create_default_context(cafile=endpoint.cert),
        timeout=10,
    ) as client:
        token = client.post("/session", auth=(endpoint.user, PASSWORD)).json()["session_id"]
        return client.get(path, headers={"x-dr-session": token})


def _replication(vr: VrClient, name: str) -> Replication:
    return next(r for r in vr.replications() if r.name == name)


def test_the_vr_pairing_has_its_own_id_and_vr_refuses_the_srm_one(sim: SrmsimHandle) -> None:
    assert sim.vr_pairing_id and sim.vr_pairing_id != sim.pairing_id
    srm, vr = make_client(sim, NY, "srm", pairing_id=None), make_client(sim, NY, "vr", pairing_id=None)
    assert [p.pairing_id for p in srm.pairings()] == [sim.pairing_id]
    assert [p.pairing_id for p in vr.pairings()] == [sim.vr_pairing_id]
    # VR spec: 404 "server cannot find the requested in URL resource" for another API's pairing id.
    assert _raw(sim, "vr", f"/pairings/{sim.pairing_id}/replications").status_code == 404
    assert _raw(sim, "srm", f"/pairings/{sim.vr_pairing_id}/recovery-management/plans").status_code == 404
    assert _raw(sim, "vr", f"/pairings/{sim.vr_pairing_id}/replications").status_code == 200
    # srmctl finds the VR pairing by the SRM pairing's remote vCenter, never by reusing the SRM id.
    remote = srm.pairings()[0].remote_vc_server.id
    assert find_vr_pairing(vr, str(remote)).pairing_id == sim.vr_pairing_id
    with pytest.raises(NotFound, match="no vSphere Replication pairing with remote vCenter nowhere"):
        find_vr_pairing(vr, "nowhere")
    for client in (srm, vr):
        client.close()


def test_a_sync_past_the_rpo_reports_the_violation_while_it_runs_then_ok(sim: SrmsimHandle) -> None:
    vr = logged_in(sim, NY, "vr")
    try:
        replication = _replication(vr, "mail04")
        assert replication.state == "OK" and replication.rpo is not None
        sim.slow_sync("mail04", minutes=replication.rpo + 30, seconds=1.5)
        task = vr.sync_replication(replication.id, wait=False)
        seen: list[Replication] = []
        while not task.done:
            seen.append(vr.replication(replication.id))
            time.sleep(0.05)
            task = vr.get_task(task.id)
        assert task.status == "SUCCESS"
        states = [r.state for r in seen]
        assert "SYNC_RPO_VIOLATION" in states, states
        assert states.index("SYNC_RPO_VIOLATION") > 0  # the sync was within its RPO at first
        violated = [r for r in seen if r.state == "SYNC_RPO_VIOLATION"]
        assert all(r.status is not None and r.status.rpo_violation for r in violated)
        assert max(r.current_rpo_violation or 0 for r in violated) > 0
        after = vr.replication(replication.id)
        assert after.state == "OK" and after.current_rpo_violation is None
        assert after.status is not None and not after.status.rpo_violation
    finally:
        sim.clear_faults()  # also forgets the sync profiles
        vr.close()


def _digests(root: Path, vm: str) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob(f"{vm}/*.vmdk"))}


def _spec(vm: VrVm, target_vc: str, datastore_id: str, *, seeds: bool) -> ConfigureReplicationSpec:
    disks = tuple(
        ReplicationDiskSpec(
            vm_disk=d.model_dump(mode="json", exclude_none=True),
            destination_datastore_id=datastore_id,
            use_seeds=True if seeds and not d.is_vm_home else None,
            destination_path=f"{d.source_path.path}/{d.source_path.filename}"
            if seeds and not d.is_vm_home and d.source_path
            else None,
        )
        for d in vm.disks
    )
    return ConfigureReplicationSpec(vm_id=vm.id, target_vc_id=target_vc, rpo=15, disks=disks)


def test_configuring_without_seeds_onto_an_existing_disk_is_refused(sim: SrmsimHandle) -> None:
    vr = logged_in(sim, NY, "vr")
    try:
        local, remote = sim.sites[NY].vc_guid, sim.sites[NJ].vc_guid
        old = {n: _replication(vr, n) for n in ("mail04", "web02")}
        target = {}
        for name, replication in old.items():
            path = vr.replication_disks(replication.id)[0].destination_path
            assert path is not None
            target[name] = path.datastore_id
        for replication in old.values():
            vr.unconfigure_replication(replication.id, retain_replica_disks=True)
        vms = {v.name: v for v in vr.vms(local) if v.name in old}
        root = Path(sim.ready["sites"][NJ]["cert"]).parents[2] / "datastores" / NJ
        before = _digests(root, "mail04")
        assert before, f"no replica disks of mail04 under {root}"
        # web02 with its seeds is fine; mail04 without them would overwrite its old replica. VR answers a batch
        # per VM (one task each): mail04's task fails naming the file, nothing of it is configured or written,
        # and web02 is configured.
        specs = [
            _spec(vms["web02"], remote, target["web02"], seeds=True),
            _spec(vms["mail04"], remote, target["mail04"], seeds=False),
        ]
        ended = {t.entity_name: t for t in vr.poll_tasks(vr.configure_replications(specs, wait=False), timeout=30)}
        assert ended["web02"].status == "SUCCESS"
        assert ended["mail04"].status == "ERROR" and ended["mail04"].error is not None
        assert re.search(
            r"FILE_ALREADY_EXISTS: .*mail04/mail04\.vmdk already exists", ended["mail04"].error.message or ""
        )
        assert {r.name for r in vr.replications()} & set(old) == {"web02"}
        assert _digests(root, "mail04") == before
        specs = specs[1:]
        # With the old disks as seeds, as VR offers: configured, in sync, the disks compared in place.
        specs[0] = _spec(vms["mail04"], remote, target["mail04"], seeds=True)
        vr.configure_replications(specs)
        deadline = time.monotonic() + 30
        while {_replication(vr, n).state for n in old} != {"OK"} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert {_replication(vr, n).state for n in old} == {"OK"}
        assert _digests(root, "mail04") == before  # nothing changed at the source since: every block equal
    finally:
        vr.close()


def test_a_recovered_replication_reports_recovered_and_refuses_syncs(recovered: SrmsimHandle) -> None:
    vr = logged_in(recovered, NY, "vr")
    try:
        replications = vr.replications(source_vc_guid=recovered.sites[NY].vc_guid)
        assert replications and {r.state for r in replications} == {"RECOVERED"}
        raw = _raw(recovered, "vr", f"/pairings/{recovered.vr_pairing_id}/replications/{replications[0].id}")
        assert raw.json()["recovery_state"] == "OK"  # VR spec ReplicationInfo.recovery_state
        for action in (vr.sync_replication, vr.pause_replication):
            with pytest.raises(DrApiError, match="HTTP 400 INVALID_STATE: replication is RECOVERED"):
                action(replications[0].id)
    finally:
        vr.close()


def test_every_setting_of_a_reconfigure_is_kept_and_reported(sim: SrmsimHandle) -> None:
    """VR spec: ReconfigureReplicationSpec sets encryption, point-in-time instances, new-disk auto-replication
    and VM data sets as well as RPO, quiescing and compression, and ReplicationInfo reports each back."""
    vr = logged_in(sim, NY, "vr")
    try:
        replication = _replication(vr, "web01")
        vm = next(v for v in vr.vms(sim.sites[NY].vc_guid) if v.name == "web01")
        path = vr.replication_disks(replication.id)[0].destination_path
        assert path is not None
        spec = _spec(vm, sim.sites[NJ].vc_guid, path.datastore_id, seeds=False).model_copy(
            update={
                "rpo": 45,
                "quiesce_enabled": True,
                "network_compression_enabled": False,
                "lwd_encryption_enabled": True,
                "mpit_enabled": True,
                "mpit_instances": 4,
                "mpit_days": 3,
                "auto_replicate_new_disks": False,
                "vm_data_sets_replication_enabled": True,
            }
        )
        vr.reconfigure_replication(replication.id, spec)
        after = vr.replication(replication.id)
        assert (
            after.rpo,
            after.quiescing_enabled,
            after.network_compression_enabled,
            after.encryption_enabled,
            after.mpit_enabled,
            after.mpit_instances,
            after.mpit_days,
            after.auto_replicate_new_disks_enabled,
            after.vm_data_sets_replication_enabled,
        ) == (45, True, False, True, True, 4, 3, False, True)
        with pytest.raises(DrApiError, match="HTTP 400"):  # point-in-time instances without how many to keep
            vr.reconfigure_replication(replication.id, spec.model_copy(update={"mpit_instances": None}))
    finally:
        vr.close()
