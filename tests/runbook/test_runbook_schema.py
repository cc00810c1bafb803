"""``srmctl schema``: a valid draft 2020-12 JSON Schema that accepts good runbooks and rejects bad ones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from srmctl.cli.main import cli

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed in this environment")

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0, result.output
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def test_schema_is_valid_draft_2020_12(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] and schema["title"]
    jsonschema.Draft202012Validator.check_schema(schema)


def _properties(node: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield from node.get("properties", {}).items()
        for value in node.values():
            yield from _properties(value)
    elif isinstance(node, list):
        for item in node:
            yield from _properties(item)


def test_every_key_is_described(schema: dict[str, Any]) -> None:
    undocumented = [name for name, sub in _properties(schema) if not sub.get("description")]
    assert undocumented == []


@pytest.mark.parametrize("path", sorted((HERE / "good").glob("*.yaml")), ids=lambda p: p.stem)
def test_good_runbooks_validate_against_schema(schema: dict[str, Any], path: Path) -> None:
    jsonschema.Draft202012Validator(schema).validate(_yaml(path))


@pytest.mark.parametrize(
    "name",
    [
        "unknown-key-nested",
        "wrong-type-port",
        "thumbprint-invalid",
        "vms-and-select",
        "neither-vms-nor-select",
        "unknown-step",
        "rpo-bad-unit",
        "password-literal-srm",
        "select-both-keys",
        "password-env-and-file",
    ],
)
def test_bad_runbooks_fail_schema_validation(schema: dict[str, Any], name: str) -> None:
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(_yaml(HERE / "bad" / f"{name}.yaml")))
    assert errors
