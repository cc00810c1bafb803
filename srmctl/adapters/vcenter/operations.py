"""VM, folder and datastore operations. Nothing here ever deletes a file from a datastore."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pyVmomi import vim, vmodl

from srmctl.adapters.vcenter.connection import VCenterSession
from srmctl.adapters.vcenter.faults import VCenterFault, VCenterObjectGone
from srmctl.adapters.vcenter.inventory import exactly_one, retrieve_all, split_datastore_path
from srmctl.adapters.vcenter.tasks import ProgressCallback, run_windowed, wait_for_task
from srmctl.errors import GuardrailViolation, NotFound, OperationFailed


@dataclass(frozen=True)
class DatastoreFile:
    path: str  # "[datastore] folder/file"
    size_bytes: int

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class UnregisteredVm:
    """What was unregistered and where its files stay (recorded before the call, for the journal)."""

    name: str
    moref: str
    instance_uuid: str
    vmx_path: str
    files: tuple[DatastoreFile, ...]
    was_powered_on: bool


def vm_object(session: VCenterSession, moref: str) -> Any:
    return vim.VirtualMachine(moref, session.stub)


def _mo(session: VCenterSession, kind: type, moref: str) -> Any:
    return kind(moref, session.stub)


def vm_properties(session: VCenterSession, moref: str, paths: list[str]) -> dict[str, Any]:
    """Several properties of one VM in one call (reading ``vm.runtime`` whole also trips on vcsim)."""
    pc = vmodl.query.PropertyCollector
    spec = pc.FilterSpec(
        objectSet=[pc.ObjectSpec(obj=vm_object(session, moref))],
        propSet=[pc.PropertySpec(type=vim.VirtualMachine, pathSet=paths)],
    )
    try:
        result = session.content.propertyCollector.RetrievePropertiesEx([spec], pc.RetrieveOptions())
    except VCenterObjectGone as error:
        raise NotFound(f"VM {moref} not found in {session.endpoint.label}") from error
    if result is None or not result.objects:
        raise NotFound(f"VM {moref} not found in {session.endpoint.label}")
    return {p.name: p.val for p in result.objects[0].propSet or []}


_UNREGISTER_PROPS = ["name", "runtime.powerState", "config.instanceUuid", "config.files.vmPathName"]


def vms_properties(
    session: VCenterSession, morefs: Sequence[str], paths: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    """The same properties of many VMs in one retrieval (by MoRef); a VM that is gone is left out. Defaults
    to what :func:`unregister` checks."""
    paths = paths or _UNREGISTER_PROPS
    if not morefs:
        return {}
    pc = vmodl.query.PropertyCollector
    # reportMissingObjectsInResults: a VM that is gone comes back without properties instead of failing all.
    spec = pc.FilterSpec(
        objectSet=[pc.ObjectSpec(obj=vm_object(session, m)) for m in morefs],
        propSet=[pc.PropertySpec(type=vim.VirtualMachine, pathSet=paths)],
        reportMissingObjectsInResults=True,
    )
    try:
        objects, _ = retrieve_all(session.content.propertyCollector, spec, len(morefs))
    except VCenterObjectGone:
        # One VM of the list is gone and vCenter fails the whole retrieval: find out which, one by one.
        found = {}
        for moref in morefs:
            try:
                found[moref] = vm_properties(session, moref, paths)
            except NotFound:
                continue
        return found
    return {moref: props for moref, (_, props) in objects.items() if props}


def power_state(session: VCenterSession, moref: str) -> str:
    return str(vm_properties(session, moref, ["runtime.powerState"])["runtime.powerState"])


def power_on(session: VCenterSession, moref: str, *, progress: ProgressCallback | None = None) -> bool:
    """Power on; False when it already was (idempotent, so re-runs and resumes are safe)."""
    if power_state(session, moref) == "poweredOn":
        return False
    wait_for_task(session, vm_object(session, moref).PowerOnVM_Task(), what=f"power on {moref}", progress=progress)
    return True


def power_off(session: VCenterSession, moref: str, *, progress: ProgressCallback | None = None) -> bool:
    if power_state(session, moref) == "poweredOff":
        return False
    wait_for_task(session, vm_object(session, moref).PowerOffVM_Task(), what=f"power off {moref}", progress=progress)
    return True


def unregister(
    session: VCenterSession,
    moref: str,
    *,
    allow_powered_on: bool = False,
    files: Sequence[DatastoreFile] | None = None,
    props: dict[str, Any] | None = None,
) -> UnregisteredVm:
    """Remove a VM from inventory, keeping every file. Never Destroy_Task.

    A powered-on VM is refused unless ``allow_powered_on`` (the caller has established that the live
    copy runs elsewhere and the operator confirmed); it is then powered off first, as vCenter requires.
    ``files``: the VM folder's listing when the caller already took (and journaled) it; ``props``: the VM's
    :func:`vms_properties` when the caller read them for many VMs at once.
    """
    props = props if props is not None else vm_properties(session, moref, _UNREGISTER_PROPS)
    name, state = props["name"], str(props["runtime.powerState"])
    uuid, vmx = props["config.instanceUuid"], props["config.files.vmPathName"]
    if state == "poweredOn" and not allow_powered_on:
        raise GuardrailViolation(
            f"refusing to unregister {name} ({moref}): it is powered on; only a stale VM whose live copy "
            "runs at the other site may be powered off and unregistered, and only when confirmed"
        )
    if files is None:
        ds, path = split_datastore_path(vmx)
        files = list_files(session, ds, path.rsplit("/", 1)[0] if "/" in path else "")
    if state == "poweredOn":
        power_off(session, moref)
    vm_object(session, moref).UnregisterVM()
    return UnregisteredVm(
        name=name,
        moref=moref,
        instance_uuid=uuid,
        vmx_path=vmx,
        files=tuple(files),
        was_powered_on=state == "poweredOn",
    )


def register(
    session: VCenterSession,
    vmx_path: str,
    *,
    folder: str,
    resource_pool: str,
    name: str | None = None,
    host: str | None = None,
) -> str:
    """Register a VM from its .vmx (MoRefs of folder, pool, optional host); returns the new VM's MoRef."""
    task = _mo(session, vim.Folder, folder).RegisterVM_Task(
        path=vmx_path,
        name=name,
        asTemplate=False,
        pool=_mo(session, vim.ResourcePool, resource_pool),
        host=_mo(session, vim.HostSystem, host) if host else None,
    )
    result = wait_for_task(session, task, what=f"register {vmx_path}")
    return str(result._moId)


def create_folder(session: VCenterSession, datacenter: str, path: str) -> str:
    """Create (or reuse) a nested VM folder ``"Web/Frontend"`` below the datacenter's VM folder."""
    dc = _find_datacenter(session, datacenter)
    parent = dc.vmFolder
    for part in [p for p in path.split("/") if p]:
        existing = [c for c in parent.childEntity if isinstance(c, vim.Folder) and c.name == part]
        if existing:
            parent = existing[0]
            continue
        try:
            parent = parent.CreateFolder(part)
        except VCenterFault as error:
            if not isinstance(error.fault, vim.fault.DuplicateName):
                raise
            # created concurrently by someone else: reuse it
            parent = error.fault.object if getattr(error.fault, "object", None) else parent
    return str(parent._moId)


def _find_datacenter(session: VCenterSession, name: str) -> Any:
    for child in session.content.rootFolder.childEntity:
        if isinstance(child, vim.Datacenter) and child.name == name:
            return child
    raise NotFound(f"datacenter {name!r} not found in {session.endpoint.label}")


def list_files(
    session: VCenterSession, datastore: str, folder: str, *, datastore_moref: str | None = None
) -> list[DatastoreFile]:
    """Files in a datastore folder (seed discovery, file inventories). vcsim needs matchPattern ["*"].
    ``datastore_moref`` (from an inventory already read) saves looking the datastore up by name."""
    browser = _datastore_browser(session, datastore, datastore_moref)
    spec = vim.host.DatastoreBrowser.SearchSpec(
        matchPattern=["*"], details=vim.host.DatastoreBrowser.FileInfo.Details(fileSize=True, fileType=True)
    )
    root = f"[{datastore}] {folder}".rstrip()
    try:
        result = wait_for_task(session, browser.SearchDatastore_Task(root, spec), what=f"browse {root}")
    except OperationFailed as error:
        if "FileNotFound" in error.message:
            return []
        raise
    return _files(result)


def list_files_many(
    session: VCenterSession, folders: Sequence[tuple[str, str, str | None]], *, limit: int = 8
) -> list[list[DatastoreFile]]:
    """The files of many datastore folders, ``(datastore, folder, datastore MoRef or None)`` each, in order. A
    datastore holding one of the folders is searched in that folder (SearchDatastore_Task); one holding several
    is searched once from its root, sub-folders included (SearchDatastoreSubFolders_Task), rather than a task
    per folder. At most ``limit`` tasks in flight, all awaited with one PropertyCollector
    (:class:`TaskWatcher`); a datastore's browser is looked up once. A missing folder lists nothing. Either way
    a file's path reads ``[datastore] folder/file``."""
    spec = vim.host.DatastoreBrowser.SearchSpec(
        matchPattern=["*"], details=vim.host.DatastoreBrowser.FileInfo.Details(fileSize=True, fileType=True)
    )
    browsers: dict[str, Any] = {}
    per_datastore: dict[str, list[int]] = {}
    for index, (datastore, _, _) in enumerate(folders):
        per_datastore.setdefault(datastore, []).append(index)
    searches = [(ds, indexes) for ds, indexes in per_datastore.items()]
    roots = [f"[{ds}] {folders[ix[0]][1]}".rstrip() if len(ix) == 1 else f"[{ds}]" for ds, ix in searches]

    def start(n: int) -> Callable[[], Any]:
        datastore, indexes = searches[n]
        moref = folders[indexes[0]][2]

        def search() -> Any:
            if datastore not in browsers:
                browsers[datastore] = _datastore_browser(session, datastore, moref)
            if len(indexes) == 1:
                return browsers[datastore].SearchDatastore_Task(roots[n], spec)
            return browsers[datastore].SearchDatastoreSubFolders_Task(roots[n], spec)

        return search

    found = run_windowed(
        session,
        [start(n) for n in range(len(searches))],
        limit=limit,
        what=lambda n: f"browse {roots[n]}" if n >= 0 else "browse datastores",
    )
    results: list[list[DatastoreFile]] = [[] for _ in folders]
    for (datastore, indexes), result in zip(searches, found, strict=True):
        if isinstance(result, OperationFailed):
            if "FileNotFound" not in result.message:
                raise result
            continue
        if len(indexes) == 1:
            results[indexes[0]] = _files(result)
            continue
        listed = {_folder_key(r.folderPath): r for r in result or []}
        for index in indexes:
            folder = folders[index][1]
            entry = listed.get(_folder_key(f"[{datastore}] {folder}"))
            if entry is not None:
                results[index] = _files(entry, folder_path=f"[{datastore}] {folder}".rstrip())
    return results


def _folder_key(folder_path: str) -> tuple[str, str]:
    """``(datastore, folder)`` of a search result's folder path, whichever way the server writes it: vSphere
    ``[ds] vm1/``, vcsim's sub-folder search ``[ds]/vm1``."""
    datastore, _, folder = folder_path.partition("]")
    return datastore.lstrip("["), folder.strip().strip("/")


def power_off_many(session: VCenterSession, morefs: Sequence[str], *, limit: int = 8) -> None:
    """Power off many VMs: a PowerOffVM_Task each, at most ``limit`` in flight, awaited together. Raises the
    failures together once every task has ended."""
    starts = [lambda m=m: vm_object(session, m).PowerOffVM_Task() for m in morefs]
    found = run_windowed(
        session, starts, limit=limit, what=lambda i: f"power off {morefs[i]}" if i >= 0 else "power off VMs"
    )
    failures = [r.message for r in found if isinstance(r, OperationFailed)]
    if failures:
        raise OperationFailed("; ".join(failures))


def _files(result: Any, *, folder_path: str | None = None) -> list[DatastoreFile]:
    folder_path = (folder_path or result.folderPath).rstrip("/")
    return sorted(
        (DatastoreFile(path=f"{folder_path}/{f.path}", size_bytes=int(f.fileSize or 0)) for f in result.file or []),
        key=lambda f: f.path,
    )


def _datastore_browser(session: VCenterSession, name: str, moref: str | None) -> Any:
    if moref is not None:
        return _mo(session, vim.Datastore, moref).browser
    # One retrieval of every datastore's name and browser, not a property read per datastore.
    pc = vmodl.query.PropertyCollector
    view = session.content.viewManager.CreateContainerView(session.content.rootFolder, [vim.Datastore], True)
    try:
        spec = pc.FilterSpec(
            objectSet=[
                pc.ObjectSpec(
                    obj=view,
                    skip=True,
                    selectSet=[pc.TraversalSpec(name="view", type=vim.view.ContainerView, path="view", skip=False)],
                )
            ],
            propSet=[pc.PropertySpec(type=vim.Datastore, pathSet=["name", "browser"])],
        )
        result = session.content.propertyCollector.RetrievePropertiesEx([spec], pc.RetrieveOptions())
    finally:
        view.Destroy()
    found = [(oc.obj, {p.name: p.val for p in oc.propSet or []}) for oc in (result.objects if result else [])]
    matches = [(obj, props["browser"]) for obj, props in found if props.get("name") == name]
    return exactly_one(f"datastore {name!r} in {session.endpoint.label}", matches, lambda m: str(m[0]._moId))[1]


def _first_datacenter(session: VCenterSession) -> Any:
    datacenters = sorted(
        (e for e in session.content.rootFolder.childEntity if isinstance(e, vim.Datacenter)), key=lambda d: d._moId
    )
    if not datacenters:
        raise NotFound(f"no datacenter in {session.endpoint.label}")
    return datacenters[0]


def get_datacenter_attribute(session: VCenterSession, field: str) -> str | None:
    """Custom attribute ``field`` on the site's (first) datacenter; None when unset. Used for markers that
    other operators see in the vSphere Client, such as srmctl's run lock."""
    cfm = session.content.customFieldsManager
    keys = [f.key for f in cfm.field or [] if f.name == field]
    if not keys:
        return None
    for value in _first_datacenter(session).customValue or []:
        if value.key in keys and value.value:
            return str(value.value)
    return None


def set_datacenter_attribute(session: VCenterSession, field: str, value: str) -> None:
    """Set custom attribute ``field`` on the site's datacenter ("" clears it), defining it when needed."""
    cfm = session.content.customFieldsManager
    keys = [f.key for f in cfm.field or [] if f.name == field]
    if keys:
        key = keys[0]
    else:
        try:
            key = cfm.AddFieldDefinition(name=field, moType=vim.Datacenter).key
        except VCenterFault as error:
            if not isinstance(error.fault, vim.fault.DuplicateName):
                raise
            # defined concurrently by another run: use theirs
            key = next(f.key for f in cfm.field or [] if f.name == field)
    cfm.SetField(entity=_first_datacenter(session), key=key, value=value)


def find_vm_by_vmx(session: VCenterSession, datacenter: str, vmx_path: str) -> str | None:
    """The MoRef of the VM registered from ``"[ds] folder/vm.vmx"``, or None (SearchIndex, one call)."""
    found = session.content.searchIndex.FindByDatastorePath(_find_datacenter(session, datacenter), vmx_path)
    return str(found._moId) if found is not None else None
