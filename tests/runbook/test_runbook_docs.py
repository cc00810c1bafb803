"""docs/runbook.md stays true: its example validates and it documents every key of the schema."""

from __future__ import annotations

import re
from pathlib import Path

from srmctl.runbook import load_runbook, runbook_json_schema

DOC = Path(__file__).parents[2] / "docs" / "runbook.md"


def test_annotated_example_is_a_valid_runbook(tmp_path: Path) -> None:
    example = re.search(r"## Annotated example\n\n```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert example is not None
    runbook = tmp_path / "example.yaml"
    runbook.write_text(example.group(1))
    assert load_runbook(runbook).name == "mail-back-to-new-york"


def test_every_schema_key_is_documented() -> None:
    schema = runbook_json_schema()
    keys = set(schema["properties"])
    for definition in schema["$defs"].values():
        keys |= set(definition.get("properties", {}))
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", DOC.read_text(), re.M))
    assert sorted(keys - documented) == []
