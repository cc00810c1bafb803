"""The plan table (``srmctl plan``, ``failback``, ``resume``): a plan's steps and actions, an action's kind
with its markers, and the details worth a column. Values from vCenter/SRM go through
:func:`~srmctl.cli.console.styled` or stay plain strings, which the console prints literally."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from srmctl.cli.app import App
from srmctl.cli.console import new_table, styled

if TYPE_CHECKING:
    from rich.text import Text

    from srmctl.engine import RunPlan
    from srmctl.steps.base import Action

#: Said under a table holding forecasts (see docs/architecture.md, "Dry run").
FORECAST_NOTE = (
    "(forecast): what the step expects to do once the steps before it have run (e.g. SRM's defaults "
    "after the groups are rebuilt); it is planned again from live state right before it runs. Every "
    "other action is exactly what the step would do now."
)
_SHOWN_DETAILS = ("moref", "power_state", "group", "settings", "changes")


def action_cell(action: Action) -> Text:
    """``kind``, then ``(high impact)`` and ``(forecast)`` when they apply."""
    if action.high_impact and action.forecast:
        return styled("{} [red](high impact)[/] [yellow](forecast)[/]", action.kind)
    if action.high_impact:
        return styled("{} [red](high impact)[/]", action.kind)
    if action.forecast:
        return styled("{} [yellow](forecast)[/]", action.kind)
    return styled("{}", action.kind)


def shown_details(action: Action, keys: Iterable[str]) -> str:
    """The details named by ``keys`` (in the action's order), lists joined with "; " (a VM's changes)."""
    wanted = set(keys)
    return " ".join(
        "; ".join(map(str, v)) if isinstance(v, tuple) else str(v) for k, v in action.details if k in wanted
    )


def render_plan(app: App, plan: RunPlan) -> None:
    # Plain strings print literally (safe_console); only styled() templates carry markup.
    app.console.print(
        styled(
            "[bold]{}[/] ({}): {} → {}, {} action(s)",
            plan.runbook,
            plan.scenario,
            plan.source,
            plan.target,
            plan.action_count,
        )
    )
    for check in plan.rechecked:  # a resume verified these again before skipping them
        if check.holds:
            app.console.print(styled("[green]=[/] {:<22} still holds  [dim]{}[/]", check.step, check.summary))
        elif check.undone_by:
            app.console.print(
                styled("[green]=[/] {:<22} undone by {}, which started after it", check.step, check.undone_by)
            )
        else:
            app.console.print(
                styled(
                    "[yellow]![/] {:<22} [yellow]no longer holds[/]: {} (planned again from here)",
                    check.step,
                    "; ".join(check.problems),
                )
            )
    table = new_table(show_header=True, header_style="bold")
    for column in ("#", "step", "impact", "action", "site", "target"):
        table.add_column(column, no_wrap=True)
    table.add_column("details", overflow="fold")
    for number, step in enumerate(plan.steps, 1):
        if not step.actions:
            table.add_row(str(number), step.name, step.impact.value, styled("[dim]nothing to do[/]"), "", "", "")
        for index, action in enumerate(step.actions):
            # The table shows what tells VMs apart at a glance; -o json has every detail.
            table.add_row(
                str(number) if index == 0 else "",
                step.name if index == 0 else "",
                step.impact.value if index == 0 else "",
                action_cell(action),
                action.site,
                ", ".join(action.targets),
                shown_details(action, _SHOWN_DETAILS),
            )
    app.console.print(table)
    if any(a.forecast for s in plan.steps for a in s.actions):
        app.console.print(FORECAST_NOTE)
