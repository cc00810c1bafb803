"""The CLI side of one run (``failback``, ``resume``): the confirmation before high-impact actions, the lines
printed as steps finish (with per-VM progress bars while a step waits), the closing line, and a step's status
mark (``runs``). Site failbacks add their own prompts and lines on top (srmctl.cli.site_failback_output)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from srmctl.cli.app import App
from srmctl.cli.console import plain, styled
from srmctl.cli.envelope import envelope
from srmctl.cli.plan_view import render_plan
from srmctl.errors import UsageError

if TYPE_CHECKING:  # the engine and rich's progress bars are imported when a command runs, not for 'srmctl --help'
    from rich.progress import Progress, TaskID
    from rich.text import Text

    from srmctl.engine import Event, RunPlan, RunReport
    from srmctl.engine.events import Subscriber
    from srmctl.engine.run import ConfirmPlan

_STATUS = {"verified": "[green]✓[/]", "failed": "[red]✗[/]", "interrupted": "[yellow]![/]", "not_run": "[dim]·[/]"}


def status_mark(status: str) -> Text | str:
    """A step's status as its coloured mark (markup from srmctl's own table), or the status as plain text."""
    return styled(_STATUS[status]) if status in _STATUS else status


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
            self.live = Progress(
                TextColumn("  {task.description:<28}", markup=False),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                console=self.app.console,
                transient=True,
            )
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
            app.console.print(
                styled(
                    "[green]✓[/] {:<22} {} action(s)  [dim]{}[/]",
                    event.step,
                    event.data.get("actions", 0),
                    event.data.get("summary", ""),
                )
            )
        elif event.kind == ev.STEP_FAILED:
            app.console.print(styled("[red]✗[/] {:<22} [red]{}[/]", event.step, event.data.get("error", "")))
        elif event.kind == ev.STEP_REVERIFIED:
            undone = event.data.get("undone_by")
            summary = f"undone by {undone}, which started after it" if undone else "still holds"
            app.console.print(
                styled("[green]=[/] {:<22} {}  [dim]{}[/]", event.step, summary, event.data.get("summary", ""))
            )
        elif event.kind == ev.STEP_STALE:
            problems = "; ".join(map(str, event.data.get("problems", [])))
            app.console.print(
                styled(
                    "[yellow]![/] {:<22} [yellow]no longer holds[/]: {}; planning it and every later step again",
                    event.step,
                    problems,
                )
            )
        elif event.kind == ev.ACTION_DONE:
            action = event.data.get("action", {})
            app.console.print(
                styled(
                    "  [dim]{} {} at {}[/]",
                    action.get("kind"),
                    ", ".join(map(str, action.get("targets", []))),
                    action.get("site"),
                )
            )
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
            raise UsageError(
                "this run has high-impact actions (" + "; ".join(risky) + "); review them with "
                "'srmctl plan' and pass --yes to run without a terminal"
            )
        if not app.json_output:
            render_plan(app, plan)
        return click.confirm("Apply these high-impact actions?", default=False, err=True)

    return confirm


def finish(app: App, command: str, report: RunReport) -> None:
    if app.json_output:
        click.echo(envelope(command, report))
        return
    app.console.print(styled("run {}: [bold]{}[/] (journal {})", report.run_id, report.outcome, report.journal))
