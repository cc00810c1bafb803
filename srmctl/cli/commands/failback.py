"""``srmctl failback RUNBOOK``: plan, confirm, then apply and verify step by step, journaled and locked.

Also home of the rendering shared by ``plan`` and ``resume`` (command modules are discovered by their
``command`` attribute, so shared helpers live in the module that owns the main use).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from srmctl.cli.app import App
from srmctl.cli.console import new_table, plain, styled
from srmctl.cli.options import lab_option, output_option
from srmctl.cli.plan_view import FORECAST_NOTE, action_cell, shown_details
from srmctl.cli.render import envelope
from srmctl.errors import StepFailed, UsageError

if TYPE_CHECKING:  # the engine and rich's progress bars are imported when a command runs, not for 'srmctl --help'
    from rich.progress import Progress, TaskID
    from rich.text import Text

    from srmctl.engine import Event, RunPlan, RunReport
    from srmctl.engine.events import Subscriber
    from srmctl.engine.run import ConfirmPlan
    from srmctl.engine.site_run import Between

_SHOWN_DETAILS = ("moref", "power_state", "group", "settings", "changes")
_STATUS = {"verified": "[green]✓[/]", "failed": "[red]✗[/]", "interrupted": "[yellow]![/]", "not_run": "[dim]·[/]"}


def status_mark(status: str) -> Text | str:
    """A step's status as its coloured mark (markup from srmctl's own table), or the status as plain text."""
    return styled(_STATUS[status]) if status in _STATUS else status


def render_plan(app: App, plan: RunPlan) -> None:
    # Plain strings print literally (safe_console); only styled() templates carry markup.
    app.console.print(styled("[bold]{}[/] ({}): {} → {}, {} action(s)", plan.runbook, plan.scenario, plan.source,
                             plan.target, plan.action_count))
    for check in plan.rechecked:  # a resume verified these again before skipping them
        if check.holds:
            app.console.print(styled("[green]=[/] {:<22} still holds  [dim]{}[/]", check.step, check.summary))
        elif check.undone_by:
            app.console.print(styled("[green]=[/] {:<22} undone by {}, which started after it", check.step,
                                     check.undone_by))
        else:
            app.console.print(styled("[yellow]![/] {:<22} [yellow]no longer holds[/]: {} (planned again from here)",
                                     check.step, "; ".join(check.problems)))
    table = new_table(show_header=True, header_style="bold")
    for column in ("#", "step", "impact", "action", "site", "target"):
        table.add_column(column, no_wrap=True)
    table.add_column("details", overflow="fold")
    for number, step in enumerate(plan.steps, 1):
        if not step.actions:
            table.add_row(str(number), step.name, step.impact.value, styled("[dim]nothing to do[/]"), "", "", "")
        for index, action in enumerate(step.actions):
            # The table shows what tells VMs apart at a glance; -o json has every detail.
            table.add_row(str(number) if index == 0 else "", step.name if index == 0 else "",
                          step.impact.value if index == 0 else "", action_cell(action),
                          action.site, ", ".join(action.targets), shown_details(action, _SHOWN_DETAILS))
    app.console.print(table)
    if any(a.forecast for s in plan.steps for a in s.actions):
        app.console.print(FORECAST_NOTE)


class _ProgressBars:
    """Per-VM progress bars for long waits (replication sync, recovery tasks), only on a terminal; they
    disappear when the step ends, leaving its one summary line."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.live: Progress | None = None
        self.bars: dict[str, TaskID] = {}

    def update(self, event: Event) -> None:
        if not self.app.console.is_terminal:
            return
        if self.live is None:
            from rich.progress import BarColumn, Progress, TextColumn

            # The description holds a VM name: never markup.
            self.live = Progress(TextColumn("  {task.description:<28}", markup=False), BarColumn(),
                                 TextColumn("{task.percentage:>3.0f}%"), console=self.app.console, transient=True)
            self.live.start()
        vm = str(event.data.get("vm", "?"))
        label = plain(f"{vm} {event.data.get('status', '')}".strip()).plain
        if vm not in self.bars:
            self.bars[vm] = self.live.add_task(label, total=100)
        self.live.update(self.bars[vm], completed=float(event.data.get("percent", 0) or 0), description=label)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
        self.live, self.bars = None, {}


def live_printer(app: App) -> Subscriber:
    """One line per step as it finishes (and per action at -v-like detail), on the terminal, with per-VM
    progress bars while a step waits."""
    from srmctl.engine import events as ev

    bars = _ProgressBars(app)

    def show(event: Event) -> None:
        if app.json_output:
            return
        if event.kind == "progress":
            bars.update(event)
            return
        if event.kind in (ev.STEP_VERIFIED, ev.STEP_FAILED, ev.RUN_FINISHED):
            bars.close()
        if event.kind == ev.STEP_VERIFIED:
            app.console.print(styled("[green]✓[/] {:<22} {} action(s)  [dim]{}[/]", event.step,
                                     event.data.get("actions", 0), event.data.get("summary", "")))
        elif event.kind == ev.STEP_FAILED:
            app.console.print(styled("[red]✗[/] {:<22} [red]{}[/]", event.step, event.data.get("error", "")))
        elif event.kind == ev.STEP_REVERIFIED:
            undone = event.data.get("undone_by")
            summary = f"undone by {undone}, which started after it" if undone else "still holds"
            app.console.print(styled("[green]=[/] {:<22} {}  [dim]{}[/]", event.step, summary,
                                     event.data.get("summary", "")))
        elif event.kind == ev.STEP_STALE:
            problems = "; ".join(map(str, event.data.get("problems", [])))
            app.console.print(styled("[yellow]![/] {:<22} [yellow]no longer holds[/]: {}; planning it and every "
                                     "later step again", event.step, problems))
        elif event.kind == ev.ACTION_DONE:
            action = event.data.get("action", {})
            app.console.print(styled("  [dim]{} {} at {}[/]", action.get("kind"),
                                     ", ".join(map(str, action.get("targets", []))), action.get("site")))
        elif event.kind in (ev.RUN_STARTED, ev.RUN_RESUMED):
            verb = "started" if event.kind == ev.RUN_STARTED else "resumed"
            app.err_console.print(f"run {event.data.get('run_id')} {verb}")

    return show


def confirmer(app: App, yes: bool) -> ConfirmPlan:
    """Asks on a terminal; without one, ``--yes`` is required (exit 2 otherwise)."""

    def confirm(plan: RunPlan) -> bool:
        if yes:
            return True
        risky = [f"{s.name}: {len(s.actions)} action(s)" for s in plan.steps if s.needs_confirmation]
        if not app.interactive:
            raise UsageError("this run has high-impact actions (" + "; ".join(risky) + "); review them with "
                             "'srmctl plan' and pass --yes to run without a terminal")
        if not app.json_output:
            render_plan(app, plan)
        return click.confirm("Apply these high-impact actions?", default=False, err=True)

    return confirm


def finish(app: App, command: str, report: RunReport) -> None:
    if app.json_output:
        click.echo(envelope(command, report))
        return
    app.console.print(styled("run {}: [bold]{}[/] (journal {})", report.run_id, report.outcome, report.journal))


def steps_option(value: str | None) -> tuple[str, ...] | None:
    return tuple(s.strip() for s in value.split(",") if s.strip()) if value else None


@click.command("failback")
@click.argument("runbooks", metavar="RUNBOOK...", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@lab_option
@click.option("--dry-run", is_flag=True, help="Only show the plan (read-only); same as 'srmctl plan'.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before high-impact actions (needed without a terminal).")
@click.option("--steps", "steps", metavar="A,B", help="Run only these steps (comma-separated), in the default order.")
@click.option("--from", "from_step", metavar="STEP", help="Start at this step.")
@click.option("--until", "until_step", metavar="STEP", help="Stop after this step.")
@click.option("--between", "between", metavar="prompt|continue|wait:DURATION",
              help="With several runbooks: what happens between two plans (default prompt; without a terminal "
                   "--yes makes a prompt continue).")
@click.option("--break-lock", is_flag=True, help="Take over a lock left by a run that is no longer active.")
@output_option()
@click.pass_obj
def failback(app: App, runbooks: tuple[Path, ...], lab_dir: Path | None, dry_run: bool, yes: bool,
             steps: str | None, from_step: str | None, until_step: str | None, between: str | None,
             break_lock: bool) -> None:
    """Bring the runbook's VMs home: plan, confirm, then apply and verify each step.

    Several runbooks (one per recovery plan) make a site run: the plans fail back in that order, in one
    journaled run, with a pause between them (--between). Every runbook is validated first.

    The run is journaled under $SRMCTL_HOME/runs/RUN_ID; continue an interrupted run with 'srmctl resume'.
    Exit 0 done, 1 a plan is locked by another run, 2 usage (e.g. --yes needed), 3 runbook invalid, 4 a step
    failed, 5 connection failure, 130 aborted.
    """
    if len(runbooks) > 1 or between is not None:
        if len(runbooks) < 2:
            raise UsageError("--between needs two or more runbooks (one per recovery plan)")
        pause = _between(between or "prompt")
        if dry_run:
            plan_site(app, runbooks, lab_dir, bool(steps or from_step or until_step), "failback", {"dry_run": True})
        elif steps or from_step or until_step:
            plan_site(app, runbooks, lab_dir, True)  # refuses
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
    report = engine.start(book, endpoints, app.home, runbook_path=runbook, selection=selection,
                          confirm=confirmer(app, yes), subscribers=[live_printer(app)], break_lock=break_lock)
    finish(app, "failback", report)
    if report.outcome == "failed":  # errors are raised, so this only guards an unexpected report
        raise StepFailed(report.error or "run failed")


def plan_site(app: App, runbooks: Sequence[Path], lab_dir: Path | None, selected: bool, command: str = "plan",
              extra: dict[str, object] | None = None) -> None:
    """The dry run of a site run: every plan's steps, plan by plan in order (shared with 'srmctl plan')."""
    from srmctl.cli import site_output
    from srmctl.engine import site_run

    if selected:
        raise UsageError("--steps, --from and --until select the steps of one runbook; in a site run each "
                         "runbook runs its own steps (its 'steps:' key)")
    site, endpoints = site_output.load(runbooks, lab_dir)
    site_output.show_plans(app, site, site_run.site_dry_run(site, endpoints), command, extra)


def _between(text: str) -> Between:
    from srmctl.engine.site_run import Between

    return Between.parse(text)


def _site(app: App, runbooks: tuple[Path, ...], lab_dir: Path | None, yes: bool, pause: Between,
          break_lock: bool) -> None:
    """Several runbooks: a site run (docs/architecture.md, "Site runs")."""
    from srmctl.cli import site_output
    from srmctl.engine import site_run

    site, endpoints = site_output.load(runbooks, lab_dir)  # every runbook validated before anything starts
    site_output.need_yes(app, yes)
    report = site_run.start_site(site, endpoints, app.home, between=pause,
                                 confirm_site=site_output.confirm_site(app, yes, site), confirm=confirmer(app, yes),
                                 ask_next=site_output.ask_next(app, yes), subscribers=site_output.subscribers(app),
                                 break_lock=break_lock)
    site_output.finish(app, "failback", report)


command = failback
