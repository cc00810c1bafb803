"""``srmctl steps``: the step library: names, impact, what each does."""

from __future__ import annotations

import click

from srmctl.cli.app import App
from srmctl.cli.envelope import envelope
from srmctl.cli.options import output_option


@click.command("steps")
@output_option()
@click.pass_obj
def steps(app: App) -> None:
    """List the steps this version implements, in the order 'srmctl failback' runs them."""
    # Imported here: the step library loads the API clients, which ``srmctl --help`` must not pay for.
    from srmctl.cli.console import new_table
    from srmctl.steps import available_steps

    found = available_steps()
    if app.json_output:
        click.echo(
            envelope(
                "steps",
                {
                    "steps": [
                        {
                            "name": s.name,
                            "impact": s.impact.value,
                            "summary": s.summary(),
                            "description": s.description(),
                        }
                        for s in found
                    ]
                },
            )
        )
        return
    table = new_table("step", "impact", "what it does")
    for step in found:
        table.add_row(step.name, step.impact.value, step.description())
    app.console.print(table)


command = steps
