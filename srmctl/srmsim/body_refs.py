"""Ids inside a request body that name nothing: 400 with the specs' error body, never 404; and the folders and
test networks that group and plan creations name, checked instead of ignored.

The SRM and VR specs give 404 to a path whose resource does not exist ("Not found - the server cannot find the
requested resource", on operations with path parameters); an unknown VM, group, datastore or network named in
the body of a request to a path that exists is "invalid request body content", the specs' 400, answered with
``ResponseError`` (issue #21, point 7). Handlers resolve their path parameters first (a bad URL stays 404), then
run what reads the body inside :func:`in_body`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from srmctl.srmsim.model import SimError
from srmctl.srmsim.world import World


@contextmanager
def in_body(where: str = "request body") -> Iterator[None]:
    try:
        yield
    except SimError as error:
        if error.status != 404:
            raise
        raise SimError(400, "INVALID_REFERENCE", f"{where}: {error.message}") from error


# --- the objects a group or plan creation names -----------------------------------------------------------

#: The folders srmsim's SRM servers have: each server's root folder of protection groups and of recovery plans
#: (the SRM spec's examples: ``DrFolder:DrReplicationRootFolder:<srm-guid>``, ``DrFolder:DrRecoveryRootFolder:...``),
#: as srmsim reports them in ``location``. It creates no other folder (``/inventory`` is not simulated).
ROOT_FOLDERS = {"group": "DrFolder:DrReplicationRootFolder", "plan": "DrFolder:DrRecoveryRootFolder"}


def check_location(world: World, site: str, kind: str, spec: Any) -> None:
    """ProtectionGroupCreateSpec / RecoveryPlanCreateSpec ``location``: "The ID of the folder where the ...
    will be created" (the root folder when not given). A folder this server does not have is refused, never
    ignored (issue #21, point 7)."""
    location = spec.get("location") if isinstance(spec, dict) else None
    if location is None:
        return
    root = ROOT_FOLDERS[kind]
    if location not in (root, f"{root}:{world.site(site).srm_id}"):
        raise SimError(400, "INVALID_REFERENCE", f"location: {location!r} is not a folder of this SRM server")


def check_test_networks(world: World, recovery_site: str, spec: Any) -> None:
    """RecoveryPlanCreateSpec / RecoveryPlanEditSpec ``test_network_mappings``: each ``target_network`` (a
    network VMs are recovered to) and ``test_network`` (the network they use in a test) is a network of the
    recovery site's vCenter; anything else is refused, never ignored (issue #21, point 7)."""
    mappings = spec.get("test_network_mappings") if isinstance(spec, dict) else None
    site = world.site(recovery_site)
    known = {f"Network:{moref}:{site.vc_guid}" for moref in site.networks}
    for index, mapping in enumerate(mappings or []):
        for field in ("target_network", "test_network"):
            if mapping[field] not in known:
                raise SimError(
                    400,
                    "INVALID_REFERENCE",
                    f"test_network_mappings.{index}.{field}: {mapping[field]!r} is not a network of the vCenter "
                    f"of the recovery site {recovery_site}",
                )
