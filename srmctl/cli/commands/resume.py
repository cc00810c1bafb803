"""``srmctl resume RUN_ID``: continue an interrupted run; steps not verified yet are planned again."""

from __future__ import annotations

from pathlib import Path

import click

from srmctl.cli.app import App
from srmctl.cli.options import output_option
from srmctl.cli.run_output import confirmer, finish, live_printer


@click.command("resume")
@click.argument("run_id", metavar="RUN_ID")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before high-impact actions (needed without a terminal).")
@click.option("--break-lock", is_flag=True, help="Take over a lock left by another run that is no longer active.")
@output_option()
@click.pass_obj
def resume(app: App, run_id: str, yes: bool, break_lock: bool) -> None:
    """Continue run RUN_ID from its journal (see 'srmctl runs'), with the same runbook and lab.

    A site failback continues from the plan where it stopped: that plan's run is resumed, or the pause before the
    next plan is held again and the plan started."""
    from srmctl import engine
    from srmctl.cli.endpoints import endpoints_for, read_lab
    from srmctl.engine import site_failback

    if site_failback.is_site_failback(app.home, run_id):
        from srmctl.cli import site_failback_output

        site = site_failback.pending_site_failback(app.home, run_id)
        site_failback_output.need_yes(app, yes)
        result = site_failback.resume_site_failback(
            app.home,
            site,
            site_failback_output.endpoints_of(site),
            confirm=confirmer(app, yes),
            ask_next=site_failback_output.ask_next(app, yes),
            subscribers=site_failback_output.subscribers(app),
            break_lock=break_lock,
        )
        site_failback_output.finish(app, "resume", result)
        return
    pending = engine.pending_run(app.home, run_id)
    # The endpoints are built again the way the run obtained them (its lab, else its runbook's sites:).
    lab = read_lab(Path(pending.origin.folder)) if pending.origin.kind == "lab" and pending.origin.folder else None
    report = engine.resume(
        app.home,
        pending,
        endpoints_for(pending.runbook, lab),
        confirm=confirmer(app, yes),
        subscribers=[live_printer(app)],
        break_lock=break_lock,
    )
    finish(app, "resume", report)


command = resume
