"""The runbook's JSON Schema (draft 2020-12), generated from the models so it can never drift from them.

Editors use it through yaml-language-server (``# yaml-language-server: $schema=runbook.schema.json``); the
loader uses it to know which keys are allowed where, for "did you mean" hints.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from srmctl.runbook.models import FORMAT_VERSION, Runbook
from srmctl.runbook.problems import Loc

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = f"urn:srmctl:schema:runbook:v{FORMAT_VERSION}"

# Rules pydantic cannot express from the field types; stated here so editors flag them too.
_EXTRA_RULES: dict[str, dict[str, Any]] = {
    "Runbook": {"oneOf": [{"required": ["vms"]}, {"required": ["select"]}]},
    "Select": {"oneOf": [{"required": ["protection_group"]}, {"required": ["recovery_plan"]}]},
    "Endpoint": {"not": {"required": ["password_env", "password_file"]}},
    "VCenterEndpoint": {"not": {"required": ["password_env", "password_file"]}},
}


@lru_cache(maxsize=1)
def _generated() -> dict[str, Any]:
    schema = Runbook.model_json_schema(by_alias=True, mode="validation")
    for name, rule in _EXTRA_RULES.items():
        target = schema if name == "Runbook" else schema["$defs"][name]
        target.update(rule)
    return {
        "$schema": DIALECT,
        "$id": SCHEMA_ID,
        **schema,
        "title": f"srmctl runbook (format version {FORMAT_VERSION})",
    }


def runbook_json_schema() -> dict[str, Any]:
    """The JSON Schema of a runbook; a fresh copy the caller may change."""
    return copy.deepcopy(_generated())


def schema_at(loc: Loc) -> dict[str, Any] | None:
    """The subschema describing the value at ``loc``, or ``None`` when the path leaves the schema."""
    node: dict[str, Any] | None = _resolve(_generated())
    for part in loc:
        if node is None:
            return None
        node = _resolve(_child(node, part))
    return node


def allowed_keys(loc: Loc) -> list[str]:
    """Keys the mapping at ``loc`` may have (empty when unknown)."""
    node = schema_at(loc)
    return list(node.get("properties", {})) if node else []


def _child(node: dict[str, Any], part: str | int) -> dict[str, Any] | None:
    if isinstance(part, int):
        items = node.get("items")
        return items if isinstance(items, dict) else None
    if part in node.get("properties", {}):
        child: dict[str, Any] = node["properties"][part]
        return child
    extra = node.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def _resolve(node: dict[str, Any] | None) -> dict[str, Any] | None:
    """Follow ``$ref`` and pick the non-null branch of ``anyOf`` (how pydantic spells ``X | None``)."""
    while node is not None:
        if "$ref" in node:
            node = _generated()["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        elif "anyOf" in node:
            branches = [b for b in node["anyOf"] if b.get("type") != "null"]
            node = branches[0] if branches else None
        else:
            return node
    return None
