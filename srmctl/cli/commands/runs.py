"""``srmctl runs [RUN_ID]``: the journal: past runs, their steps, timings and outcome."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from srmctl.cli.app import App
from srmctl.cli.console import column, new_table, styled
from srmctl.cli.envelope import envelope
from srmctl.cli.options import output_option
from srmctl.cli.run_output import status_mark
from srmctl.errors import UsageError

if TYPE_CHECKING:
    from rich.text import Text

    from srmctl.engine import StepOutcome

_OUTCOME = {
    "succeeded": "[green]succeeded[/]",
    "failed": "[red]failed[/]",
    "aborted": "[yellow]aborted[/]",
    "incomplete": "[yellow]incomplete[/]",
    "damaged": "[red]damaged[/]",
    "not_started": "[dim]not started[/]",
}


@click.command("runs")
@click.argument("run_id", metavar="[RUN_ID]", required=False)
@click.option(
    "--report",
    is_flag=True,
    help="Write the run's report.html (from its journal) and print its path "
    "(as 'srmctl report RUN_ID', which also writes evidence packs).",
)
@click.option("--open", "open_report", is_flag=True, help="With --report: open it in the default browser.")
@output_option()
@click.pass_obj
def runs(app: App, run_id: str | None, report: bool, open_report: bool) -> None:
    """List past runs, or show one run's steps (a site failback's: plan by plan). 'incomplete' runs can be continued
    with 'srmctl resume'."""
    from srmctl import engine

    if report:
        if run_id is None:
            raise UsageError("--report needs a RUN_ID")
        path = engine.html_report(app.home, run_id)
        if app.json_output:
            click.echo(envelope("runs", {"report": str(path)}))
        else:
            click.echo(str(path))
        if open_report:
            click.launch(str(path))
        return
    if run_id is not None:
        summary = engine.run_summary(app.home, run_id)
        if app.json_output:
            click.echo(envelope("runs", summary))
            return
        app.console.print(
            styled("run {} ({}), started {}: ", summary.run_id, summary.runbook, summary.started)
            + _outcome(summary.outcome)
        )
        if summary.damage:
            app.console.print(styled("  {}", summary.damage))
        elif summary.journal_chain:
            app.console.print(styled("  journal: {}", summary.journal_chain))
        if summary.error:
            app.console.print(styled("  why: {}", summary.error))
        if summary.site_run:
            app.console.print(f"  one plan of site failback {summary.site_run} (resume that run)")
        if summary.position:
            app.console.print(f"  stopped at {summary.position}")
        for plan in summary.plans:  # a site failback: each plan, in order, with its run's steps
            app.console.print(
                styled(
                    "plan {}: {} (recovery plan {}), run {}: ",
                    plan.index,
                    plan.runbook,
                    plan.recovery_plan,
                    plan.run_id,
                )
                + _outcome(plan.outcome)
            )
            _steps_table(app, plan.steps)
        if not summary.plans:
            _steps_table(app, summary.steps)
        return
    found = engine.list_runs(app.home)
    if app.json_output:
        click.echo(envelope("runs", {"runs": found}))
        return
    if not found:
        app.console.print(f"no runs in {app.home / 'runs'}")
        return
    # The run id is what 'srmctl resume' needs: never cut it.
    table = new_table(column("run", no_wrap=True), "runbook", "started", "outcome", "steps verified")
    for run in found:
        steps = [s for plan in run.plans for s in plan.steps] if run.plans else list(run.steps)
        verified = sum(1 for s in steps if s.status == "verified")
        planned = f" of {len(run.plans)} plans" if run.plans else ""
        table.add_row(run.run_id, run.runbook, run.started, _outcome(run.outcome), f"{verified}/{len(steps)}{planned}")
    app.console.print(table)
    for run in found:  # the reason, in full: a table cell would cut the file's path
        if run.damage:
            app.console.print(styled("{} is damaged: {}", run.run_id, run.damage))


def _steps_table(app: App, steps: Sequence[StepOutcome]) -> None:
    table = new_table("", "step", "actions done", "seconds", "message")
    for step in steps:
        table.add_row(
            status_mark(step.status),
            step.step,
            str(step.actions_done),
            "" if step.seconds is None else f"{step.seconds:.2f}",
            step.message,
        )
    app.console.print(table)


def _outcome(outcome: str) -> Text:
    """A run's outcome, coloured when srmctl knows it (a journal may say anything: then plain)."""
    return styled(_OUTCOME[outcome]) if outcome in _OUTCOME else styled("{}", outcome)


command = runs
