"""Every request srmctl's clients send and every response srmsim returns, validated against a STRICT copy
of the vendor OpenAPI documents (additionalProperties: false everywhere, fields srmctl reads required)."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from srmsim_fixtures import PASSWORD, launch, logged_in

SPECS = Path(__file__).resolve().parents[2].parent / "shared" / "specs"
FILES = {"srm": "srm-api-v2.json", "vr": "vsphere-replication-api-v2.json"}
ROOTS = {"srm": "/api/rest/srm/v2", "vr": "/api/rest/vr/v2"}
# Fields srmctl reads, required in the strict copy so that srmsim cannot silently omit or misspell them.
READ = {
    "SessionIdData": ["session_id"], "Pairing": ["pairing_id", "local_vc_server", "remote_vc_server"],
    "ServerInfo": ["id", "name"], "ProtectionGroupInfo": ["id", "name", "status", "protected_vc_guid"],
    "RecoveryPlanInfo": ["protected_vc_guid", "progress", "is_running"],
    "ProtectionGroupVmInfo": ["protection_status_details"], "VmProtectionStatusDetails": ["status"],
    "RecoveryPlanVmInfo": ["id", "name", "status", "recovery_settings"],
    "VmRecoverySettings": ["change_version", "dependent_vms", "pre_power_on_steps", "post_power_on_steps"],
    "ReplicationInfo": ["id", "name", "vm_id", "status", "rpo"], "CompoundReplicationStatus": ["status"],
    "VirtualMachine": ["id", "name", "disks"], "Datastore": ["id", "name"], "VmDiskSeedInformation": ["found_seeds"],
    "Task": ["progress", "description"], "MetadataList": ["total", "offset", "limit"],
}

pytestmark = pytest.mark.skipif(not SPECS.is_dir(), reason=f"vendor specs not found at {SPECS} (../shared/specs)")


def strict(spec: dict[str, Any]) -> dict[str, Any]:
    """allOf flattened (so additionalProperties cannot reject the other branch's fields), every object
    closed, and the READ fields required."""
    spec = copy.deepcopy(spec)
    schemas = spec["components"]["schemas"]

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        return schemas[node["$ref"].split("/")[-1]] if "$ref" in node else node

    def flatten(schema: dict[str, Any]) -> None:
        for part in schema.pop("allOf", []):
            part = resolve(part)
            flatten(part)
            schema.setdefault("properties", {}).update(part.get("properties", {}))
            required = sorted(set(schema.get("required", [])) | set(part.get("required", [])))
            if required:  # OpenAPI 3.0 forbids an empty required list
                schema["required"] = required
            schema.setdefault("type", "object")

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if "allOf" in node:
                flatten(node)
            if node.get("type") == "object" and "properties" in node:
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(spec)
    # One request body is declared as "*/*" (ip-customization update); a JSON body is one of those, and
    # openapi-core only parses a body as JSON when the media type says so.
    for operations in spec["paths"].values():
        for operation in operations.values():
            content = (operation.get("requestBody") or {}).get("content", {}) if isinstance(operation, dict) else {}
            if "*/*" in content:
                content["application/json"] = content.pop("*/*")
    for name, fields in READ.items():
        if name in schemas:
            schemas[name]["required"] = sorted(set(schemas[name].get("required", [])) | set(fields))
    return spec


class Recorder:
    def __init__(self) -> None:
        self.pairs: list[tuple[httpx.Request, httpx.Response]] = []

    def hook(self, response: httpx.Response) -> None:
        response.read()
        self.pairs.append((response.request, response))


def validate(pairs: list[tuple[httpx.Request, httpx.Response]]) -> tuple[int, int, list[str], set[str]]:
    from openapi_core import OpenAPI
    from openapi_core.datatypes import RequestParameters
    from werkzeug.datastructures import Headers, ImmutableMultiDict

    apis = {kind: OpenAPI.from_dict(strict(json.loads((SPECS / name).read_text()))) for kind, name in FILES.items()}

    class Req:
        def __init__(self, kind: str, request: httpx.Request) -> None:
            self.host_url = f"{request.url.scheme}://{request.url.netloc.decode()}"
            self.path = request.url.path[len(ROOTS[kind]):]
            self.full_url_pattern = self.host_url + self.path
            self.method = request.method.lower()
            self.parameters = RequestParameters(
                query=ImmutableMultiDict(list(request.url.params.multi_items())),
                header=Headers(dict(request.headers)), cookie=ImmutableMultiDict())
            self.content_type = request.headers.get("content-type", "application/json")
            self.body = request.content or None

    class Resp:
        def __init__(self, response: httpx.Response) -> None:
            self.status_code = response.status_code
            self.content_type = response.headers.get("content-type", "application/json")
            self.headers = Headers(dict(response.headers))
            self.data = response.content

    violations: list[str] = []
    requests = responses = 0
    seen: set[str] = set()
    for request, response in pairs:
        kind = "srm" if request.url.path.startswith(ROOTS["srm"]) else "vr"
        if response.headers.get("X-Srmsim-Fault"):
            continue  # deliberately off-contract (injected 5xx/429)
        req, resp = Req(kind, request), Resp(response)
        where = f"{request.method} {request.url.path}"
        try:
            apis[kind].validate_request(req)
            requests += 1
        except Exception as error:  # noqa: BLE001 - collect every violation
            violations.append(f"request {where}: {error}: {getattr(error, '__cause__', '')}")
        try:
            apis[kind].validate_response(req, resp)
            responses += 1
        except Exception as error:  # noqa: BLE001
            cause = error.__cause__
            detail = getattr(cause, "schema_errors", None) or cause
            violations.append(f"response {response.status_code} {where}: {error}: {detail}")
        seen.add(f"{kind} {request.method}")
    return requests, responses, violations, seen


def test_strict_copy_rejects_misspelt_field():
    from openapi_core import OpenAPI

    spec = strict(json.loads((SPECS / FILES["srm"]).read_text()))
    schema = spec["components"]["schemas"]["SessionIdData"]
    assert schema["additionalProperties"] is False and "session_id" in schema["required"]
    OpenAPI.from_dict(spec)  # still a valid document


def test_client_and_srmsim_follow_the_vendor_contract(tmp_path):
    recorder = Recorder()
    sim = launch(tmp_path)
    hooks = {"response": [recorder.hook]}
    try:
        run_workflow(sim, hooks)
    finally:
        sim.stop()
    requests, responses, violations, _ = validate(recorder.pairs)
    print(f"contract: {requests} requests and {responses} responses validated, {len(violations)} violations")
    assert not violations, "\n".join(violations[:20])
    assert requests >= 100 and responses == requests  # nothing skipped silently


def run_workflow(sim: Any, hooks: dict[str, Any]) -> None:
    """Exercise every client call: the failback mapping table plus plan actions and prompt dismissal."""
    from srmctl.adapters.dr.models import CalloutSpec, ConfigureReplicationSpec, ReplicationDiskSpec

    ny, nj = sim.sites["new-york"].vc_guid, sim.sites["new-jersey"].vc_guid
    srm = logged_in(sim, "new-york", event_hooks=hooks)
    vr = logged_in(sim, "new-york", "vr", event_hooks=hooks)
    srm_nj = logged_in(sim, "new-jersey", event_hooks=hooks)
    srm.session_info(), srm.server_info(), srm.pairing(), srm.find_pairing(), srm.vcenters()
    vr.info(), vr.find_pairing("vc-new-jersey")
    plan = srm.plan_by_name("VR Failover")
    vms = srm.plan_vms(plan.id)
    for vm in vms:
        state = srm.recovery_settings(plan.id, vm.id)
        srm.update_recovery_settings(plan.id, vm.id, state.recovery_settings)
        srm.set_priority(plan.id, vm.id, srm.priority(plan.id, vm.id))
        deps = [d.id for d in srm.dependent_vms(plan.id, vm.id)]
        assert srm.validate_dependent_vms(plan.id, vm.id, deps).valid
        srm.set_dependent_vms(plan.id, vm.id, deps)
        ip = srm.ip_customization(plan.id, vm.id)
        srm.set_ip_customization(plan.id, vm.id, str(ip.ip_customization_type.value if hasattr(
            ip.ip_customization_type, "value") else ip.ip_customization_type), ip.nic_settings)
        srm.plan_vm(plan.id, vm.id)
    steps = srm.recovery_steps(plan.id, "recovery")
    custom = [s for s in steps if s.plan_callout_position_spec]
    srm.create_plan_callout(plan.id, "test", CalloutSpec(
        name="Check", content="ok", callout_type="RUN_ON_SRM_SERVER", timeout_seconds=30, position=1))
    new = next(s for s in srm.recovery_steps(plan.id, "test") if s.title == "Check")
    srm.edit_callout(plan.id, "test", new.id, CalloutSpec(name="Check", content="ok2",
                                                               callout_type="RUN_ON_SRM_SERVER", timeout_seconds=5))
    assert srm.callout_data(plan.id, "test", new.id).content == "ok2"
    srm.delete_recovery_step(plan.id, "test", new.id)
    assert custom, "the default topology has a plan-level custom step"
    # test + cleanup with prompts, then planned migration
    runs = [(srm, lambda: srm.test_plan(plan.id, wait=False)),
            (srm, lambda: srm.cleanup_plan(plan.id, wait=False)),
            (srm_nj, lambda: srm_nj.recover_plan(plan.id, planned=True, wait=False))]
    for client, action in runs:
        task = action()
        while not task.done:
            for prompt in client.user_prompts(plan.id):
                client.dismiss_prompt(plan.id, prompt.id)
            task = client.get_task(task.id)
            time.sleep(0.02)
        client.wait_task(task)
    assert srm.plan(plan.id).status == "RECOVERY_COMPLETE"
    # the manual failback sequence, new-jersey -> new-york. Step 1 unregisters the orphans at new-york (in
    # vCenter; here srmsim's in-memory stand-in), or SRM could not create their placeholders there.
    for name in ("db01", "mail04", "web01", "web02"):
        assert sim.unregister_vm("new-york", name)
    groups = srm.plan_groups(plan.id)
    for group in groups:
        assert all(v.status == "REPLICATION_ERROR" for v in srm.group_vms(group.id))
        srm.group(group.id)
    srm.reconfigure_plan(plan.id, protection_groups=[])
    for group in groups:
        assert srm.group_plans(group.id) == []
        srm.delete_group(group.id)
    for replication in vr.replications(source_vc_guid=ny, extended_info=True):
        vr.replication(replication.id), vr.replication_disks(replication.id)
        vr.unconfigure_replication(replication.id, retain_replica_disks=True)
    vr_nj = logged_in(sim, "new-jersey", "vr", event_hooks=hooks)
    datastores = {d.name: d for d in vr_nj.datastores(ny)}
    specs = []
    for vm in vr_nj.vms(nj, suitable_for_replication=True):
        disks = [d for d in vr_nj.vm_disks(nj, vm.id)]
        original = datastores["ESX1_LOCAL" if vm.name == "mail04" else "NY-SAN-01"]
        data_disks = [d for d in disks if not d.is_vm_home]
        seeds = vr_nj.find_seeds(ny, original.id, [(d, f"{d.source_path.path}/{d.source_path.filename}")
                                                         for d in data_disks])
        assert all(s.found_seeds for s in seeds)
        vr_nj.vm_by_name(nj, vm.name)
        specs.append(ConfigureReplicationSpec(vm_id=vm.id, target_vc_id=ny, rpo=15, quiesce_enabled=True, disks=tuple(
            ReplicationDiskSpec(vm_disk=d.model_dump(mode="json", exclude_none=True),
                                destination_datastore_id=original.id, use_seeds=not d.is_vm_home or None,
                                destination_path=None if d.is_vm_home else seed.found_seeds[0])
            for d, seed in zip([disks[0], *data_disks], [seeds[0], *seeds], strict=True))))
    vr_nj.configure_replications(specs)
    for replication in vr_nj.replications(source_vc_guid=nj):
        assert replication.state == "OK" and replication.sync_progress.checksum_total > 0
        vr_nj.pause_replication(replication.id), vr_nj.resume_replication(replication.id)
        vr_nj.sync_replication(replication.id)
    replicated = srm_nj.replicated_vms(nj)
    task = srm_nj.create_group("VR all back", nj, [v.id for v in replicated])
    group_id = task.result_id
    srm_nj.configure_all_vms(group_id)
    srm_nj.reconfigure_plan(plan.id, protected_vc_guid=nj)
    srm_nj.reconfigure_plan(plan.id, protection_groups=[group_id])
    assert srm_nj.plan(plan.id).status == "READY_STATE"
    temp = srm_nj.create_plan("temp", nj, [], description="scratch").result_id
    srm_nj.delete_plan(temp)
    assert PASSWORD


def test_inventory_mappings_follow_the_vendor_contract(tmp_path):
    """list, create, read and delete of every mapping family and of placeholder datastores, and their error
    responses (400 for an object of the wrong site, 404 for an unknown mapping), validated against the spec."""
    import ssl

    recorder = Recorder()
    sim = launch(tmp_path)
    try:
        pid, site = sim.pairing_id, sim.sites["new-york"]
        with httpx.Client(base_url=f"https://{site.host}:{site.port}{ROOTS['srm']}", timeout=10,
                          verify=ssl.create_default_context(cafile=site.cert),
                          event_hooks={"response": [recorder.hook]}) as client:
            client.headers["x-dr-session"] = client.post("/session", auth=(site.user, PASSWORD)).json()["session_id"]
            other = sim.sites["new-jersey"]
            assert client.post(f"/pairings/{pid}/remote-session", auth=(other.user, PASSWORD)).status_code == 204
            pairing = client.get(f"/pairings/{pid}").json()
            for srm_id in (pairing["local_srm_server"]["id"], pairing["remote_srm_server"]["id"]):
                base = f"/pairings/{pid}/srms/{srm_id}/inventory-mappings"
                for kind in ("folders", "resources", "networks"):
                    listed = client.get(f"{base}/{kind}", params={"limit": 100}).json()["list"]
                    assert listed, f"{kind}: the lab's default mappings"
                    first = listed[0]
                    assert client.get(f"{base}/{kind}/{first['id']}").status_code == 200
                    spec = {"mapping_source_object": first["primary_object"],
                            "mapping_target_object": first["secondary_object"]}
                    assert client.post(f"{base}/{kind}", json=spec).status_code == 400  # already mapped
                    wrong = {"mapping_source_object": first["secondary_object"],
                             "mapping_target_object": first["primary_object"]}
                    assert client.post(f"{base}/{kind}", json=wrong).status_code == 400  # objects of the wrong sites
                    assert client.delete(f"{base}/{kind}/{first['id']}").status_code == 204
                    assert client.get(f"{base}/{kind}/{first['id']}").status_code == 404
                    assert client.post(f"{base}/{kind}", json=spec).status_code == 204
                datastores = client.get(f"{base}/placeholder-datastores").json()["list"]
                assert len(datastores) == 1
                ds = datastores[0]["id"]
                assert client.get(f"{base}/placeholder-datastores/{ds}").status_code == 200
                assert client.delete(f"{base}/placeholder-datastores/{ds}").status_code == 202
                assert client.get(f"{base}/placeholder-datastores/{ds}").status_code == 404
                added = client.post(f"{base}/placeholder-datastores", json={"datastores": [ds]})
                assert added.status_code == 202
    finally:
        sim.stop()
    requests, responses, violations, _ = validate(recorder.pairs)
    assert not violations, "\n".join(violations[:20])
    assert requests == responses == len(recorder.pairs) >= 40
