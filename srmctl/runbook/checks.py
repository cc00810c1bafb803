"""Checks that span several keys or touch the file system, run on the plain YAML data.

They work on plain data rather than on the typed model so that the loader can report them together with
every type error in one pass: a pydantic model-level validator only runs once all of its fields are valid.
Each check is defensive about shapes it does not own (a ``sites`` list is the type check's finding, not ours).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from srmctl.runbook.problems import Loc, Problem, did_you_mean

SECRET_KEYS = frozenset({"password", "passwd", "secret"})
SECRET_MESSAGE = "secrets never in runbooks: use password_env or password_file"
SERVICES = ("vcenter", "srm", "vr")


def cross_checks(data: Mapping[str, Any]) -> list[Problem]:
    """Rules between top-level keys; also enforced by :class:`~srmctl.runbook.models.Runbook` itself."""
    return [*_vms_or_select(data), *_failback_sites(data), *_unique_vms(data), *_one_group_setting(data)]


def _one_group_setting(data: Mapping[str, Any]) -> list[Problem]:
    if data.get("protection_group") is not None and data.get("protection_groups") is not None:
        return [
            Problem(
                ("protection_groups",),
                "use either 'protection_group' (one group for all the VMs) or "
                "'protection_groups' (the plan's own groups, renamed), not both",
                "key",
            )
        ]
    groups = data.get("protection_groups")
    rename = groups.get("rename") if isinstance(groups, Mapping) else None
    if not isinstance(rename, Mapping):
        return []
    # Renames are applied once, never chained: a group created under a name that another rename moves away
    # would make the two directions disagree on which group is which.
    return [
        Problem(
            ("protection_groups", "rename", old),
            f"{old!r} is renamed to {new!r}, which is itself "
            f"renamed (to {rename[new]!r}); renames are not chained: map each group to its final name",
            "key",
        )
        for old, new in rename.items()
        if isinstance(new, str) and new != old and new in rename and rename[new] != new
    ]


def _vms_or_select(data: Mapping[str, Any]) -> list[Problem]:
    has_vms, has_select = data.get("vms") is not None, data.get("select") is not None
    if has_vms and has_select:
        return [Problem(("select",), "use either 'vms' or 'select', not both", "key")]
    if not has_vms and not has_select:
        message = "required key is missing: list the VMs in 'vms' or choose them with 'select'"
        return [Problem(("vms",), message, "parent")]
    return []


def _failback_sites(data: Mapping[str, Any]) -> list[Problem]:
    failback, sites = data.get("failback"), data.get("sites")
    if not isinstance(failback, Mapping) or not isinstance(sites, Mapping):
        return []
    names = [str(name) for name in sites]
    problems = []
    for key in ("from", "to"):
        site = failback.get(key)
        if isinstance(site, str) and site not in names:
            hint = did_you_mean(site, names) or f"; sites are: {', '.join(names)}"
            problems.append(Problem(("failback", key), f"unknown site {site!r}{hint}"))
    source, target = failback.get("from"), failback.get("to")
    if isinstance(source, str) and source == target:
        problems.append(Problem(("failback", "to"), f"must differ from failback.from (both are {source!r})"))
    return problems


def _unique_vms(data: Mapping[str, Any]) -> list[Problem]:
    vms = data.get("vms")
    if not isinstance(vms, (list, tuple)):
        return []
    problems = []
    for field, normalise in (("name", str), ("instance_uuid", str.lower)):
        first_at: dict[str, int] = {}
        for index, vm in enumerate(vms):
            value = vm.get(field) if isinstance(vm, Mapping) else None
            if not isinstance(value, str):
                continue
            key = normalise(value)
            if key in first_at:
                message = f"VM {value!r} is listed twice (also vms[{first_at[key]}])"
                problems.append(Problem(("vms", index, field), message))
            else:
                first_at[key] = index
    return problems


#: The longest duration any input may state (timedelta itself overflows near 2.7 million years).
MAX_DURATION = "3650d"
_MAX_DURATION_SECONDS = 3650 * 86400
_DURATION_TEXT = re.compile(r"\s*(\d+[dhms])+\s*")
_DURATION_PART = re.compile(r"(\d+)([dhms])")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def duration_too_long(value: object) -> str | None:
    """The finding for a duration beyond :data:`MAX_DURATION`, or None (also for text that is not a duration:
    the type check reports that). Counted digit by digit, before anything converts it to a timedelta."""
    if not isinstance(value, str) or not _DURATION_TEXT.fullmatch(value):
        return None
    parts = _DURATION_PART.findall(value)
    if any(len(number.lstrip("0")) > 12 for number, _ in parts):
        return f"must be at most {MAX_DURATION}, got {value[:40]!r}"
    if sum(int(number) * _UNIT_SECONDS[unit] for number, unit in parts) > _MAX_DURATION_SECONDS:
        return f"must be at most {MAX_DURATION}, got {value!r}"
    return None


def without(data: Any, locs: Iterable[Loc]) -> Any:
    """A copy of ``data`` with the values at ``locs`` (mapping keys or list entries) left out."""
    drop = set(locs)
    if not drop:
        return data

    def copy(value: Any, loc: Loc) -> Any:
        if isinstance(value, Mapping):
            return {k: copy(v, (*loc, k)) for k, v in value.items() if (*loc, k) not in drop}
        if isinstance(value, list):
            return [copy(v, (*loc, i)) for i, v in enumerate(value) if (*loc, i) not in drop]
        return value

    return copy(data, ())


def literal_secrets(data: Any, loc: Loc = ()) -> list[Problem]:
    """Every ``password:`` (or similar) key anywhere: a runbook is shared, journaled and committed, so a
    secret in it is a leak even when the rest of the runbook is wrong."""
    problems = []
    if isinstance(data, Mapping):
        for key, value in data.items():
            if str(key).lower() in SECRET_KEYS:
                problems.append(Problem((*loc, key), SECRET_MESSAGE, "key"))
            else:
                problems.extend(literal_secrets(value, (*loc, key)))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            problems.extend(literal_secrets(item, (*loc, index)))
    return problems


def endpoints(data: Mapping[str, Any]) -> Iterator[tuple[Loc, Mapping[str, Any]]]:
    """``(("sites", name, service), settings)`` for every endpoint mapping in the raw data."""
    sites = data.get("sites")
    if not isinstance(sites, Mapping):
        return
    for name, site in sites.items():
        if not isinstance(site, Mapping):
            continue
        for service in SERVICES:
            settings = site.get(service)
            if isinstance(settings, Mapping):
                yield ("sites", name, service), settings


def local_checks(data: Mapping[str, Any], base_dir: Path) -> tuple[list[Problem], list[Problem]]:
    """Errors and warnings about this machine: password file modes, unset variables, missing files.

    Missing files and unset variables are only warnings: cron validates runbooks on machines that hold no
    secrets. The values of password variables are never read, only whether they are set.
    """
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for loc, settings in endpoints(data):
        variable = settings.get("password_env")
        if isinstance(variable, str) and variable and variable not in os.environ:
            warnings.append(Problem((*loc, "password_env"), f"environment variable {variable} is not set"))
        for key in ("password_file", "ca_file"):
            value = settings.get(key)
            if isinstance(value, str) and value:
                _check_file(base_dir, value, (*loc, key), errors, warnings)
        if settings.get("insecure") is True:
            warnings.append(Problem((*loc, "insecure"), "TLS verification is disabled for this endpoint"))
    return errors, warnings


def _check_file(base_dir: Path, value: str, loc: Loc, errors: list[Problem], warnings: list[Problem]) -> None:
    path = Path(value) if Path(value).is_absolute() else base_dir / value
    try:
        info = path.stat()
    except FileNotFoundError:
        warnings.append(Problem(loc, f"{value} does not exist on this machine"))
        return
    except OSError as error:
        errors.append(Problem(loc, f"cannot check {value}: {error.strerror}"))
        return
    if not stat.S_ISREG(info.st_mode):
        errors.append(Problem(loc, f"{value} is not a regular file"))
    elif loc[-1] == "password_file" and info.st_mode & 0o077:
        # 0400 is fine too: the rule is "nobody but the owner", which is what 0600 is asked for.
        mode = stat.S_IMODE(info.st_mode)
        errors.append(Problem(loc, f"{value} has mode {mode:04o}; it must be 0600 (run: chmod 600 {value})"))
