"""Which SRM and VR calls change state: derived from the HTTP verb, with the few exceptions named and explained.

The transport passes every such call through the read-only guard (:func:`~srmctl.adapters.guard.changing`), so
a dry run or a step's ``plan()`` cannot send one, and the tests derive the clients' state-changing methods from
the same rule (tests/contract/test_changes.py): nothing keeps a list of methods by hand."""

from __future__ import annotations

#: The HTTP verbs that change state: a request with one of them passes the read-only guard
#: (:func:`~srmctl.adapters.guard.changing`), so a read-only view refuses it before it is sent.
CHANGING_VERBS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: The calls whose verb says "change" but which change nothing at the site, each for a reason: the sessions
#: (a login and a logout only open and close srmctl's own session, and a dry run must log in), and the
#: APIs' reads sent as POST because they take a body (checking a dependency list, looking for seed disks).
READS_DESPITE_VERB = frozenset(
    {
        "POST /session",
        "DELETE /session",
        "POST /pairings/{pairing_id}/remote-session",
        "POST /pairings/{pairing_id}/recovery-management/plans/{plan_id}/vms/{vm_id}/recovery-settings"
        "/dependent-vms/actions/validate",
        "POST /pairings/{pairing_id}/vcenters/{vcenter_id}/datastores/{datastore_id}/actions/find-seeds",
    }
)


def changes_state(method: str, template: str) -> bool:
    """Whether a call changes state at the site, from its verb (and :data:`READS_DESPITE_VERB`)."""
    return method.upper() in CHANGING_VERBS and f"{method.upper()} {template}" not in READS_DESPITE_VERB
