"""Which SRM and VR calls change state is derived from the HTTP verb (srmctl/adapters/dr/changes.py), not kept
by hand: a read-only view refuses exactly the methods whose first request changes state, before sending it.
No server: every request is stopped before it reaches the network."""

from __future__ import annotations

import pytest
from contract_spec import changes, client_operations, normalise

from srmctl.adapters.dr import SrmClient, VrClient
from srmctl.adapters.dr.changes import READS_DESPITE_VERB, changes_state
from srmctl.adapters.dr.models import Task


@pytest.mark.parametrize("cls", [SrmClient, VrClient])
def test_a_read_only_view_refuses_exactly_the_methods_whose_verb_changes_state(cls: type) -> None:
    found = changes(cls)
    assert found.refused == found.by_verb
    assert not found.refused & found.sent_read_only  # refused before anything was sent


def test_the_rule_covers_the_known_changes_and_spares_the_reads_sent_as_post() -> None:
    srm, vr = changes(SrmClient), changes(VrClient)
    assert {"recover_plan", "create_group", "set_priority", "cancel_plan", "dismiss_prompt"} <= srm.refused
    assert {"configure_replications", "delete_replication", "sync_replication"} <= vr.refused
    assert {"validate_dependent_vms", "login", "login_remote", "logout", "plans"} <= srm.sent_read_only
    assert {"find_seeds", "replications"} <= vr.sent_read_only


def test_a_new_state_changing_call_is_guarded_without_being_listed() -> None:
    class Tomorrow(SrmClient):
        def frobnicate(self, thing_id: str, *, wait: bool = True) -> Task:
            return self.run(
                self.task("POST", "/pairings/{pairing_id}/things/{thing_id}/actions/frobnicate", thing_id=thing_id),
                wait,
            )

    assert "frobnicate" in changes(Tomorrow).refused


def test_every_exception_to_the_verb_rule_is_a_call_the_clients_send() -> None:
    """An exception naming a path no client sends any more would hide a real change if the path came back."""
    sent = {(verb, path) for (_, verb, path, _) in client_operations()}
    for call in READS_DESPITE_VERB:
        verb, template = call.split(" ", 1)
        assert not changes_state(verb, template)
        assert (verb, normalise(template)) in sent, call
