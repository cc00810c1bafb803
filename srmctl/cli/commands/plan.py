"""``srmctl plan RUNBOOK``: the dry run: live state → the ordered actions of each step. Changes nothing."""

from __future__ import annotations

from pathlib import Path

import click

from srmctl.cli.app import App
from srmctl.cli.envelope import envelope
from srmctl.cli.options import lab_option, output_option, steps_option
from srmctl.cli.plan_view import render_plan


@click.command("plan")
@click.argument(
    "runbooks", metavar="RUNBOOK...", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path)
)
@lab_option
@click.option("--steps", "steps", metavar="A,B", help="Plan only these steps (comma-separated).")
@click.option("--from", "from_step", metavar="STEP", help="Start at this step.")
@click.option("--until", "until_step", metavar="STEP", help="Stop after this step.")
@output_option()
@click.pass_obj
def plan(
    app: App,
    runbooks: tuple[Path, ...],
    lab_dir: Path | None,
    steps: str | None,
    from_step: str | None,
    until_step: str | None,
) -> None:
    """Show what 'srmctl failback RUNBOOK...' would do now, step by step (read-only); several runbooks (a
    site failback) are shown plan by plan, in order."""
    from srmctl import engine
    from srmctl.cli.endpoints import endpoints_for, read_lab
    from srmctl.runbook import load_runbook

    if len(runbooks) > 1:
        from srmctl.cli import site_failback_output

        site_failback_output.plan_site(app, runbooks, lab_dir, bool(steps or from_step or until_step))
        return
    runbook = runbooks[0]
    book = load_runbook(runbook)
    result = engine.dry_run(
        book, endpoints_for(book, read_lab(lab_dir)), engine.Selection(steps_option(steps), from_step, until_step)
    )
    if app.json_output:
        click.echo(envelope("plan", result.to_dict()))
    else:
        render_plan(app, result)


command = plan
