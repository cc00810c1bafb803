"""``srmctl schema``: the runbook JSON Schema on stdout, for editors and CI linters."""

from __future__ import annotations

import json

import click

from srmctl.cli.app import App
from srmctl.cli.envelope import envelope
from srmctl.cli.options import output_option


@click.command("schema")
@output_option("schema", "json")
@click.pass_obj
def schema(app: App) -> None:
    """Print the runbook JSON Schema (draft 2020-12).

    Save it and point yaml-language-server at it to get completion and checks in editors:
    srmctl schema > runbook.schema.json, then add
    "# yaml-language-server: $schema=runbook.schema.json" as the runbook's first line.
    With -o json, the schema comes inside srmctl's JSON envelope, like every command's data.
    """
    # Imported here so that ``srmctl --help`` does not load pydantic.
    from srmctl.runbook import runbook_json_schema

    if app.json_output:
        click.echo(envelope("schema", runbook_json_schema()))
        return
    click.echo(json.dumps(runbook_json_schema(), indent=2))


command = schema
