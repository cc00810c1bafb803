"""Write a runbook as YAML with comments: each section says what it is for and where its values came from.

``srmctl init`` fills a :class:`RunbookDraft` from a live recovery plan (``srmctl.engine.discover``) and this
module renders it. The text is the format of docs/runbook.md and nothing else: the caller loads the rendered
file with the runbook loader before publishing it, so a draft that would not validate is never written.

Names come from vCenter and SRM, so they are data: every value is written as a YAML scalar that reads back
as the same string (quoted when plain YAML would read it otherwise), and comment text has every line break and
control character escaped, so a name can never end a comment and start YAML of its own.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import yaml

from srmctl.runbook.values import format_duration

#: The sections a draft may comment, in the order they are written.
SECTIONS = (
    "header",
    "scenario",
    "sites",
    "failback",
    "vms",
    "replication",
    "protection_group",
    "recovery_plan",
    "strategy",
    "prompts",
    "confirm",
)


@dataclass(frozen=True)
class EndpointDraft:
    host: str
    port: int = 443
    user: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    thumbprint: str | None = None
    ca_file: str | None = None
    insecure: bool = False


@dataclass(frozen=True)
class SiteDraft:
    name: str
    vcenter: EndpointDraft
    srm: EndpointDraft
    vr: EndpointDraft


@dataclass(frozen=True)
class VmDraft:
    name: str
    instance_uuid: str | None = None
    datastore: str | None = None
    note: str = ""  # one comment line after the VM's entry


@dataclass(frozen=True)
class RunbookDraft:
    """Everything a runbook written by ``srmctl init`` holds, plus comment lines per section (``SECTIONS``)."""

    name: str
    description: str
    scenario: str
    failback_from: str
    failback_to: str
    sites: tuple[SiteDraft, ...]
    vms: tuple[VmDraft, ...]
    rpo: timedelta | None  # the default for VMs with no recorded replication settings (init's --rpo)
    seeds: str
    protection_group: str | None  # one group for all the VMs; None: the plan's own groups (the default)
    plan: str
    metadata: str  # the snapshot file as the runbook names it (relative to the runbook's folder)
    dismiss: tuple[str, ...] = ()
    power_off_stale_vms: bool = False
    strategy: str = "rebuild"
    notes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


_PLAIN = re.compile(r"[A-Za-z0-9_/][A-Za-z0-9@._/+()-]*( [A-Za-z0-9@._/+()-]+)*")
# YAML line breaks (also NEL and the Unicode separators) and every other control character.
_UNSAFE_IN_COMMENT = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def scalar(value: object) -> str:
    """``value`` as a YAML flow scalar that reads back as exactly ``value``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and yaml.safe_load(text) == text:
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def comment_text(text: str) -> str:
    """``text`` safe inside a ``#`` comment: line breaks and control characters shown as escapes."""
    return _UNSAFE_IN_COMMENT.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def comment_lines(text: str, indent: str = "", width: int = 116) -> list[str]:
    """``text`` as ``#`` comment lines of at most ``width`` characters (longer words are kept whole); a
    leading indent of the text is kept and continuation lines are indented two more."""
    safe = comment_text(text)
    lead = safe[: len(safe) - len(safe.lstrip(" "))]
    lines = textwrap.wrap(
        safe.strip(" "),
        width=width - len(indent) - 2,
        initial_indent=lead,
        subsequent_indent=lead + ("  " if lead else ""),
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [f"{indent}# {line}".rstrip() for line in lines or [""]]


def glob_literal(name: str) -> str:
    """An fnmatch pattern matching exactly ``name`` (``prompts.dismiss`` takes patterns)."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def render_runbook(draft: RunbookDraft) -> str:
    out: list[str] = []

    def note(section: str) -> None:
        for line in draft.notes.get(section, ()):
            out.extend(comment_lines(line))

    note("header")
    out += ["", "version: 1", f"name: {scalar(draft.name)}", f"description: {scalar(draft.description)}", ""]
    note("scenario")
    out += [f"scenario: {draft.scenario}", ""]
    note("sites")
    out.append("sites:")
    for site in draft.sites:
        out.append(f"  {scalar(site.name)}:")
        for service, endpoint in (("vcenter", site.vcenter), ("srm", site.srm), ("vr", site.vr)):
            out.append(f"    {service}: {_endpoint(endpoint)}")
    out.append("")
    note("failback")
    out += [f"failback: {{from: {scalar(draft.failback_from)}, to: {scalar(draft.failback_to)}}}", ""]
    note("vms")
    out.append("vms:")
    for vm in draft.vms:
        out.append(f"  - name: {scalar(vm.name)}")
        if vm.instance_uuid:
            out.append(f"    instance_uuid: {vm.instance_uuid}")
        if vm.datastore:
            out.append(f"    datastore: {scalar(vm.datastore)}")
        if vm.note:
            out.extend(comment_lines(vm.note, "    "))
    out.append("")
    note("replication")
    out += [
        "replication:",
        *([f"  rpo: {format_duration(draft.rpo)}"] if draft.rpo is not None else []),
        f"  seeds: {draft.seeds}",
        "",
    ]
    note("protection_group")
    if draft.protection_group is not None:
        out.append(f"protection_group: {{name: {scalar(draft.protection_group)}}}")
    out.append("")
    note("recovery_plan")
    out += ["recovery_plan:", f"  name: {scalar(draft.plan)}", f"  metadata: {scalar(draft.metadata)}", ""]
    note("strategy")
    out += [f"strategy: {draft.strategy}", ""]
    note("prompts")
    out.append("prompts:")
    if draft.dismiss:
        out.append("  dismiss:")
        out += [f"    - {scalar(pattern)}" for pattern in draft.dismiss]
    else:
        out.append("  dismiss: []")
    out.append("")
    note("confirm")
    out += ["confirm:", f"  power_off_stale_vms: {scalar(draft.power_off_stale_vms)}"]
    return "\n".join(out) + "\n"


def _endpoint(e: EndpointDraft) -> str:
    items = [f"host: {scalar(e.host)}"]
    if e.port != 443:
        items.append(f"port: {e.port}")
    for key in ("user", "password_env", "password_file", "thumbprint", "ca_file"):
        value = getattr(e, key)
        if value is not None:
            items.append(f"{key}: {scalar(value)}")
    if e.insecure:
        items.append("insecure: true")
    return "{" + ", ".join(items) + "}"
