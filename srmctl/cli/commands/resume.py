"""``srmctl resume RUN_ID``: continue an interrupted run; steps not verified yet are planned again."""

from __future__ import annotations

import click

from srmctl import engine
from srmctl.cli.app import App
from srmctl.cli.commands.failback import confirmer, finish, live_printer
from srmctl.cli.options import output_option


@click.command("resume")
@click.argument("run_id", metavar="RUN_ID")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before high-impact actions (needed without a terminal).")
@click.option("--break-lock", is_flag=True, help="Take over a lock left by another run that is no longer active.")
@output_option()
@click.pass_obj
def resume(app: App, run_id: str, yes: bool, break_lock: bool) -> None:
    """Continue run RUN_ID from its journal (see 'srmctl runs'), with the same runbook and lab."""
    report = engine.resume(app.home, run_id, confirm=confirmer(app, yes), subscribers=[live_printer(app)],
                           break_lock=break_lock)
    finish(app, "resume", report)


command = resume
