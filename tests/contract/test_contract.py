"""Every request srmctl's clients send and every response srmsim returns, validated against a STRICT copy
of the vendor OpenAPI documents (contract_spec.py); every operation the clients can call is among them, and
every API family answers at least one real error that conforms to the spec's error shape."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from contract_errors import FAMILIES, family, provoke_errors
from contract_spec import Recorder, Validation, client_operations, strict, validate
from contract_workflow import run_workflow
from srmsim_fixtures import launch
from vendor_specs import FILES, specs_dir

from srmctl.adapters.dr import SrmClient
from srmctl.adapters.dr.models import Task


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Validation]:
    recorder = Recorder()
    sim = launch(tmp_path_factory.mktemp("contract"))
    try:
        provoke_errors(sim, {"response": [recorder.hook]})
        run_workflow(sim, {"response": [recorder.hook]})
    finally:
        sim.stop()
    yield validate(recorder.pairs)


def test_strict_copy_rejects_misspelt_field() -> None:
    from openapi_core import OpenAPI

    spec = strict(json.loads((specs_dir() / FILES["srm"]).read_text()))
    schema = spec["components"]["schemas"]["SessionIdData"]
    assert schema["additionalProperties"] is False and "session_id" in schema["required"]
    error = spec["components"]["schemas"]["ResponseError"]
    assert error["additionalProperties"] is False and {"error_code", "message"} <= set(error["required"])
    OpenAPI.from_dict(spec)  # still a valid document


@pytest.mark.lab
def test_client_and_srmsim_follow_the_vendor_contract(recorded: Validation) -> None:
    print(
        f"contract: {recorded.requests} requests and {recorded.responses} responses validated, "
        f"{len(recorded.violations)} violations"
    )
    assert not recorded.violations, "\n".join(recorded.violations[:20])
    assert recorded.requests >= 100 and recorded.responses == recorded.requests  # nothing skipped silently


def test_the_catalogue_finds_a_new_client_method() -> None:
    """The catalogue is derived from the clients, not listed: a method added tomorrow is in it."""

    class Tomorrow(SrmClient):
        def frobnicate(self, thing_id: str, *, wait: bool = True) -> Task:
            return self.run(
                self.task("POST", "/pairings/{pairing_id}/things/{thing_id}/actions/frobnicate", thing_id=thing_id),
                wait,
            )

    catalogue = client_operations(((Tomorrow, "srm"),))
    assert catalogue[("srm", "POST", "/pairings/{}/things/{}/actions/frobnicate", ())] == ["frobnicate"]
    assert len(catalogue) == len(client_operations(((SrmClient, "srm"),))) + 1


def test_the_catalogue_finds_every_request_shape_of_a_method() -> None:
    """Not only a method's first shape: one task is read by id, several by a filtered listing of /tasks, and an
    optional filter is a shape of its own."""
    catalogue = client_operations()
    for api in ("srm", "vr"):
        assert "tasks_now" in catalogue[(api, "GET", "/tasks", ("filter", "filter_property", "limit"))]
        assert "tasks_now" in catalogue[(api, "GET", "/tasks/{}", ())]
    vms = {shape for shape, names in catalogue.items() if "vms" in names and shape[0] == "vr"}
    assert {query for *_, query in vms} == {
        ("suitable_for_replication",),
        ("filter", "filter_property", "suitable_for_replication"),
    }


@pytest.mark.lab
def test_every_client_operation_is_validated(recorded: Validation) -> None:
    """A request shape of a client method that no contract exercise sends and validates fails here."""
    catalogue = client_operations()
    missing = {shape: names for shape, names in catalogue.items() if shape not in recorded.shapes}
    print(
        f"contract: srmctl's clients send {len(catalogue)} request shapes "
        f"({len({shape[:3] for shape in catalogue})} operations), {len(catalogue) - len(missing)} validated"
    )
    assert not missing, "request shapes without a validated contract exercise:\n" + "\n".join(
        f"  {api} {verb} {path} ?{'&'.join(query)}  ({', '.join(names)})"
        for (api, verb, path, query), names in sorted(missing.items())
    )
    sent = {shape[:3] for shape in catalogue}
    assert recorded.operations <= sent, "the exercises sent operations no client method has"


@pytest.mark.lab
def test_every_api_family_answers_a_conforming_error(recorded: Validation) -> None:
    """Real refusals (400 with the ResponseError body the strict copy requires, 404 without a body, as the
    spec documents them), at least one per family of each API."""
    covered: dict[str, set[str]] = {"srm": set(), "vr": set()}
    for operation, _ in recorded.errors:
        covered[operation[0]].add(family(operation))
    with_body = sum(1 for _, status in recorded.errors if status == 400)
    print(
        f"contract: {len(recorded.errors)} error responses validated ({with_body} with a ResponseError body), "
        f"families: srm {sorted(covered['srm'])}, vr {sorted(covered['vr'])}"
    )
    for api, families in FAMILIES.items():
        assert families <= covered[api], f"{api}: no validated error answer for {sorted(families - covered[api])}"


@pytest.mark.lab
def test_inventory_mappings_follow_the_vendor_contract(tmp_path):
    """list, create, read and delete of every mapping family and of placeholder datastores, and their error
    responses (400 for an object of the wrong site, 404 for an unknown mapping), validated against the spec."""
    import ssl

    import httpx
    from srmsim_fixtures import PASSWORD

    from srmctl.srmsim.web import ROOTS

    recorder = Recorder()
    sim = launch(tmp_path)
    try:
        pid, site = sim.pairing_id, sim.sites["new-york"]
        with httpx.Client(
            base_url=f"https://{site.host}:{site.port}{ROOTS['srm']}",
            timeout=10,
            verify=ssl.create_default_context(cafile=site.cert),
            event_hooks={"response": [recorder.hook]},
        ) as client:
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
                    spec = {
                        "mapping_source_object": first["primary_object"],
                        "mapping_target_object": first["secondary_object"],
                    }
                    assert client.post(f"{base}/{kind}", json=spec).status_code == 400  # already mapped
                    wrong = {
                        "mapping_source_object": first["secondary_object"],
                        "mapping_target_object": first["primary_object"],
                    }
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
    result = validate(recorder.pairs)
    assert not result.violations, "\n".join(result.violations[:20])
    assert result.requests == result.responses == len(recorder.pairs) >= 40
