"""``srmctl schema``: the runbook JSON Schema on stdout, for editors and CI linters."""

from __future__ import annotations

import json

import click


@click.command("schema")
def schema() -> None:
    """Print the runbook JSON Schema (draft 2020-12).

    Save it and point yaml-language-server at it to get completion and checks in editors:
    srmctl schema > runbook.schema.json, then add
    "# yaml-language-server: $schema=runbook.schema.json" as the runbook's first line.
    """
    # Imported here so that ``srmctl --help`` does not load pydantic.
    from srmctl.runbook import runbook_json_schema

    click.echo(json.dumps(runbook_json_schema(), indent=2))


command = schema
