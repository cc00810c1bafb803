"""``srmctl resume RUN_ID``: continue an interrupted run; steps not verified yet are planned again."""

from __future__ import annotations

from pathlib import Path

import click

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
    from srmctl import engine
    from srmctl.cli.endpoints import endpoints_for, read_lab

    pending = engine.pending_run(app.home, run_id)
    # The endpoints are built again the way the run obtained them (its lab, else its runbook's sites:).
    lab = read_lab(Path(pending.origin.folder)) if pending.origin.kind == "lab" and pending.origin.folder else None
    report = engine.resume(app.home, pending, endpoints_for(pending.runbook, lab), confirm=confirmer(app, yes),
                           subscribers=[live_printer(app)], break_lock=break_lock)
    finish(app, "resume", report)


command = resume
