"""``srmctl failback RUNBOOK``: plan, confirm, then apply and verify step by step, journaled and locked."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from srmctl.cli.app import App
from srmctl.cli.envelope import envelope
from srmctl.cli.options import lab_option, output_option, steps_option
from srmctl.cli.plan_view import render_plan
from srmctl.cli.run_output import confirmer, finish, live_printer
from srmctl.errors import StepFailed, UsageError

if TYPE_CHECKING:  # the engine is imported when a command runs, not for 'srmctl --help'
    from srmctl.engine.site_failback import Between


@click.command("failback")
@click.argument(
    "runbooks", metavar="RUNBOOK...", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path)
)
@lab_option
@click.option("--dry-run", is_flag=True, help="Only show the plan (read-only); same as 'srmctl plan'.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before high-impact actions (needed without a terminal).")
@click.option("--steps", "steps", metavar="A,B", help="Run only these steps (comma-separated), in the default order.")
@click.option("--from", "from_step", metavar="STEP", help="Start at this step.")
@click.option("--until", "until_step", metavar="STEP", help="Stop after this step.")
@click.option(
    "--between",
    "between",
    metavar="prompt|continue|wait:DURATION",
    help="With several runbooks: what happens between two plans (default prompt; without a terminal "
    "--yes makes a prompt continue).",
)
@click.option("--break-lock", is_flag=True, help="Take over a lock left by a run that is no longer active.")
@output_option()
@click.pass_obj
def failback(
    app: App,
    runbooks: tuple[Path, ...],
    lab_dir: Path | None,
    dry_run: bool,
    yes: bool,
    steps: str | None,
    from_step: str | None,
    until_step: str | None,
    between: str | None,
    break_lock: bool,
) -> None:
    """Bring the runbook's VMs home: plan, confirm, then apply and verify each step.

    Several runbooks (one per recovery plan) make a site failback: the plans fail back in that order, in one
    journaled run, with a pause between them (--between). Every runbook is validated first.

    The run is journaled under $SRMCTL_HOME/runs/RUN_ID; continue an interrupted run with 'srmctl resume'.
    Exit 0 done, 1 a plan is locked by another run, 2 usage (e.g. --yes needed), 3 runbook invalid, 4 a step
    failed, 5 connection failure, 130 aborted.
    """
    if len(runbooks) > 1 or between is not None:
        if len(runbooks) < 2:
            raise UsageError("--between needs two or more runbooks (one per recovery plan)")
        from srmctl.cli import site_failback_output

        pause = _between(between or "prompt")
        if dry_run:
            site_failback_output.plan_site(
                app, runbooks, lab_dir, bool(steps or from_step or until_step), "failback", {"dry_run": True}
            )
        elif steps or from_step or until_step:
            site_failback_output.plan_site(app, runbooks, lab_dir, True)  # refuses
        else:
            _site(app, runbooks, lab_dir, yes, pause, break_lock)
        return
    from srmctl import engine
    from srmctl.cli.endpoints import endpoints_for, read_lab
    from srmctl.runbook import load_runbook

    runbook = runbooks[0]
    selection = engine.Selection(steps_option(steps), from_step, until_step)
    book = load_runbook(runbook)
    endpoints = endpoints_for(book, read_lab(lab_dir))
    if dry_run:
        plan = engine.dry_run(book, endpoints, selection)
        if app.json_output:
            click.echo(envelope("failback", {"dry_run": True, "plan": plan.to_dict()}))
        else:
            render_plan(app, plan)
        return
    report = engine.start(
        book,
        endpoints,
        app.home,
        runbook_path=runbook,
        selection=selection,
        confirm=confirmer(app, yes),
        subscribers=[live_printer(app)],
        break_lock=break_lock,
    )
    finish(app, "failback", report)
    if report.outcome == "failed":  # errors are raised, so this only guards an unexpected report
        raise StepFailed(report.error or "run failed")


def _between(text: str) -> Between:
    from srmctl.engine.site_failback import Between

    return Between.parse(text)


def _site(
    app: App, runbooks: tuple[Path, ...], lab_dir: Path | None, yes: bool, pause: Between, break_lock: bool
) -> None:
    """Several runbooks: a site failback (docs/architecture.md, "Site failbacks")."""
    from srmctl.cli import site_failback_output
    from srmctl.engine import site_failback

    site, endpoints = site_failback_output.load(runbooks, lab_dir)  # every runbook validated before anything starts
    site_failback_output.need_yes(app, yes)
    report = site_failback.start_site_failback(
        site,
        endpoints,
        app.home,
        between=pause,
        confirm_site=site_failback_output.confirm_site(app, yes, site),
        confirm=confirmer(app, yes),
        ask_next=site_failback_output.ask_next(app, yes),
        subscribers=site_failback_output.subscribers(app),
        break_lock=break_lock,
    )
    site_failback_output.finish(app, "failback", report)


command = failback
