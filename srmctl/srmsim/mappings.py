"""SRM inventory mappings and placeholder datastores, per SRM server of the pairing (spec tag
``inventory-mappings``: "Get currently configured folder mappings for an SRM in a given pairing", "Add
folder mappings ...", and the same for resources, networks and placeholder datastores).

The mappings of a site's SRM map objects of that site's vCenter (``primary_object``) to the paired site's
(``secondary_object``): they say where SRM puts the placeholder, and later the recovered VM, of every VM
that site protects. Placeholder datastores are configured on the SRM of the site that holds them (the
recovery site of the VMs whose placeholders they keep).

Object ids follow srmsim's id scheme (``VirtualMachine:vm-101:<vc guid>``): ``Folder:<moref>:<vc guid>``,
``ResourcePool:<moref>:<vc guid>``, ``Network:<moref>:<vc guid>``, ``Datastore:<moref>:<vc guid>``.
"""

from __future__ import annotations

import uuid
from typing import Any

from srmctl.labkit.topology import ROOT_FOLDER, Topology, TopologyMappings, TopologySite
from srmctl.srmsim.model import SimError, SimMapping, SimSite, SimTask, SimVm, not_found
from srmctl.srmsim.world import TaskContext, World

KINDS = {"folders": "Folder", "resources": "ResourcePool", "networks": "Network"}


def objects(site: SimSite, kind: str) -> dict[str, str]:
    """MoRef -> display name of a site's objects of one mapping kind."""
    if kind == "folders":
        return {moref: (path.rsplit("/", 1)[-1] if path else "vm") for path, moref in site.folders.items()}
    return dict(site.pools if kind == "resources" else site.networks)


def object_id(site: SimSite, kind: str, moref: str) -> str:
    return f"{KINDS[kind]}:{moref}:{site.vc_guid}"


def _parse(site: SimSite, kind: str, value: Any, field: str) -> str:
    """The MoRef behind an object id of ``site``'s vCenter, or 400 naming the field."""
    parts = value.split(":") if isinstance(value, str) else []
    if len(parts) != 3 or parts[0] != KINDS[kind] or parts[2] != site.vc_guid or parts[1] not in objects(site, kind):
        raise SimError(
            400,
            "INVALID_MAPPING_OBJECT",
            f"{field}: {value!r} is not a {KINDS[kind]} of the vCenter of site {site.name} ({site.vc_guid})",
        )
    return parts[1]


def of_site(world: World, site: str, kind: str) -> list[SimMapping]:
    return [m for m in world.mappings.values() if m.site == site and m.kind == kind]


def target(world: World, site: str, kind: str, source: str) -> str | None:
    """Where ``site``'s SRM maps one of its objects (MoRef at the paired site), or None: no mapping."""
    return next((m.target for m in of_site(world, site, kind) if m.source == source), None)


def add(world: World, site: str, kind: str, source: str, mapped_to: str) -> SimMapping:
    """Record a mapping (MoRefs already checked). One mapping per source object, as SRM keeps them."""
    if target(world, site, kind, source) is not None:
        name = objects(world.site(site), kind)[source]
        raise SimError(
            400,
            "MAPPING_ALREADY_EXISTS",
            f"{KINDS[kind]} {name!r} of site {site} is already mapped; delete that mapping first",
        )
    mapping = SimMapping(id=str(uuid.uuid4()), kind=kind, site=site, source=source, target=mapped_to)
    world.mappings[mapping.id] = mapping
    return mapping


def create(world: World, srm_id: str, kind: str, spec: Any) -> None:
    """``FolderMappingsSpec`` (and the resource and network ones): ``mapping_source_object`` of this SRM's
    vCenter to ``mapping_target_object`` of the paired site's."""
    if not isinstance(spec, dict):
        raise SimError(400, "INVALID_BODY", f"a {KINDS[kind]} mapping spec object is expected")
    local = world.site_of_srm(srm_id)
    remote = world.site(world.other(local.name))
    source = _parse(local, kind, spec.get("mapping_source_object"), "mapping_source_object")
    mapped_to = _parse(remote, kind, spec.get("mapping_target_object"), "mapping_target_object")
    add(world, local.name, kind, source, mapped_to)


def get(world: World, srm_id: str, kind: str, mapping_id: str) -> SimMapping:
    site = world.site_of_srm(srm_id).name
    mapping = world.mappings.get(mapping_id)
    if mapping is None or mapping.site != site or mapping.kind != kind:
        raise not_found(f"{KINDS[kind]} mapping {mapping_id}")
    return mapping


def delete(world: World, srm_id: str, kind: str, mapping_id: str) -> None:
    del world.mappings[get(world, srm_id, kind, mapping_id).id]


def render(world: World, mapping: SimMapping) -> dict[str, Any]:
    """``FolderMapping`` / ``ResourceMapping`` / ``NetworkMapping``: reverse_mapping_type is YES when the
    paired SRM maps the target back to the source, DIFFERENT when it maps it elsewhere, NO otherwise."""
    local, remote = world.site(mapping.site), world.site(world.other(mapping.site))
    body: dict[str, Any] = {
        "id": mapping.id,
        "primary_object": object_id(local, mapping.kind, mapping.source),
        "secondary_object": object_id(remote, mapping.kind, mapping.target),
        "primary_object_name": objects(local, mapping.kind)[mapping.source],
        "secondary_object_name": objects(remote, mapping.kind)[mapping.target],
    }
    back = target(world, remote.name, mapping.kind, mapping.target)
    body["reverse_mapping_type"] = "NO" if back is None else "YES" if back == mapping.source else "DIFFERENT"
    if back is not None and back != mapping.source:
        body["reverse_recovery_object"] = object_id(local, mapping.kind, back)
        body["reverse_recovery_object_name"] = objects(local, mapping.kind)[back]
    return body


# --- placeholder datastores -----------------------------------------------------------------------


def placeholder_datastores(world: World, srm_id: str) -> tuple[SimSite, list[str]]:
    site = world.site_of_srm(srm_id)
    return site, list(world.placeholder_datastores.get(site.name, []))


def render_datastore(site: SimSite, datastore_id: str) -> dict[str, Any]:
    """``PlaceholderDatastore``: visible to the site's clusters (srmsim mounts every datastore on every host)."""
    return {
        "id": datastore_id,
        "name": site.datastores[datastore_id].name,
        "overall_status": "GREEN",
        "visible_to": [
            {"id": f"ClusterComputeResource:{moref}:{site.vc_guid}", "name": name, "status": "green"}
            for moref, name in sorted(site.pools.items())
        ],
    }


def add_placeholder_datastores(world: World, srm_id: str, spec: Any) -> SimTask:
    """``AddPlaceholderDatastoreSpec``: "Optionally a list of AddDatastoreResult will be returned in the result
    field of the task, once completed and there are datastores which failed to be added". The same spec's
    Task.result is an object or null, so a list is an answer no client generated from it can read: a datastore
    that cannot be added refuses the request instead (the stricter reading)."""
    datastores = spec.get("datastores") if isinstance(spec, dict) else None
    if not isinstance(datastores, list) or not all(isinstance(d, str) for d in datastores):
        raise SimError(400, "INVALID_BODY", "datastores: a list of datastore ids is expected")
    site = world.site_of_srm(srm_id)
    configured = world.placeholder_datastores.setdefault(site.name, [])
    unknown = [d for d in datastores if d not in site.datastores]
    if unknown:
        # An id in the body that names no datastore of this SRM's vCenter: the specs' 400, nothing added
        # (issue #21, point 7). The task's result could not carry them: the SRM spec's Task.result is an
        # object or null, never a list.
        raise SimError(
            400,
            "INVALID_REFERENCE",
            f"datastores: {', '.join(unknown)}: not a datastore of the vCenter of site {site.name}",
        )
    configured.extend(d for d in dict.fromkeys(datastores) if d not in configured)

    def work(ctx: TaskContext) -> None:
        ctx.pause()

    return world.start_task(site.name, "srm", "Add placeholder datastores", None, None, work, kind="srm.mapping")


def remove_placeholder_datastore(world: World, srm_id: str, datastore_id: str) -> SimTask:
    site, configured = placeholder_datastores(world, srm_id)
    if datastore_id not in configured:
        raise not_found(f"placeholder datastore {datastore_id}")
    world.placeholder_datastores[site.name].remove(datastore_id)
    return world.start_task(
        site.name,
        "srm",
        "Remove placeholder datastore",
        datastore_id,
        site.datastores[datastore_id].name,
        lambda ctx: ctx.pause(),
        kind="srm.mapping",
    )


# --- what protecting a VM needs -------------------------------------------------------------------


def placement(world: World, vm: SimVm) -> tuple[str, str, list[str]]:
    """(folder path, resource pool MoRef) at the recovery site for ``vm``'s placeholder and recovered VM,
    and the problems: every missing mapping. Mappings do not inherit: the VM's own folder, resource pool
    and each of its networks must be mapped (stricter than guessing a parent's)."""
    site = world.site(vm.site)
    recovery = world.site(world.other(vm.site))
    problems = []
    folder = site.folders.get(vm.folder, site.folders.get("", ""))
    folder_target = target(world, site.name, "folders", folder)
    if folder_target is None:
        problems.append(f"no folder mapping for {vm.folder or 'the root VM folder'} of site {site.name}")
    pool = vm.pool or next(iter(site.pools), "")
    pool_target = target(world, site.name, "resources", pool)
    if pool_target is None:
        problems.append(f"no resource mapping for resource pool of {site.pools.get(pool, pool)} of site {site.name}")
    problems += [
        f"no network mapping for network {site.networks.get(n, n)} of site {site.name}"
        for n in vm.networks
        if target(world, site.name, "networks", n) is None
    ]
    paths = {moref: path for path, moref in recovery.folders.items()}
    return paths.get(folder_target or "", ""), pool_target or "", problems


# --- the lab's mappings ---------------------------------------------------------------------------


def in_memory_objects(site: SimSite, model: TopologySite) -> None:
    """Without a vCenter: the site's VM folders, clusters' root pools and one 'VM Network', with MoRefs in
    vCenter's shapes (``group-v``, ``resgroup-``, ``network-``)."""
    base = site.moref_base
    site.folders = {
        "": f"group-v{base + 1}",
        **{path: f"group-v{base + 10 + i}" for i, path in enumerate(model.folders)},
    }
    site.pools = {f"resgroup-{base + 1 + i}": cluster.name for i, cluster in enumerate(model.clusters)}
    site.networks = {f"network-{base + 1}": "VM Network"}


def seed(world: World, topology: Topology) -> None:
    """Both directions' mappings and placeholder datastores: the topology's where it lists a direction,
    an administrator's defaults where it does not (see ``Topology.inventory_mappings``)."""
    for name, model in topology.sites.items():
        other = next(s for s in topology.sites if s != name)
        site, remote = world.site(name), world.site(other)
        listed = topology.inventory_mappings.get(name)
        direction = listed or _defaults(model, topology.sites[other], site, remote)
        for source, mapped_to in direction.folders.items():
            add(world, name, "folders", site.folders[_path(source)], remote.folders[_path(mapped_to)])
        for source, mapped_to in direction.resource_pools.items():
            add(world, name, "resources", _by_name(site.pools, source), _by_name(remote.pools, mapped_to))
        for source, mapped_to in direction.networks.items():
            add(world, name, "networks", _by_name(site.networks, source), _by_name(remote.networks, mapped_to))
        world.placeholder_datastores[other] = [remote.datastore_by_name(d).id for d in direction.placeholder_datastores]


def _path(folder: str) -> str:
    return "" if folder == ROOT_FOLDER else folder


def _by_name(named: dict[str, str], name: str) -> str:
    found = [moref for moref, value in sorted(named.items()) if value == name]
    if not found:
        raise RuntimeError(f"seeding failed: no {name!r} among {sorted(named.values())}")
    return found[0]


def _defaults(mine: TopologySite, theirs: TopologySite, site: SimSite, remote: SimSite) -> TopologyMappings:
    """Folders by path (else the other VM folder), clusters by position (else the last), networks by name
    (else the first), the other site's first datastore for placeholders."""
    folders = {ROOT_FOLDER: ROOT_FOLDER, **{f: (f if f in theirs.folders else ROOT_FOLDER) for f in mine.folders}}
    clusters = [c.name for c in theirs.clusters]
    pools = {c.name: clusters[min(i, len(clusters) - 1)] for i, c in enumerate(mine.clusters)}
    names = sorted(remote.networks.values())
    networks = {n: (n if n in names else names[0]) for n in sorted(set(site.networks.values()))} if names else {}
    return TopologyMappings(
        folders=folders, resource_pools=pools, networks=networks, placeholder_datastores=theirs.datastores[:1]
    )
