"""Cells of the plan table (``srmctl plan``, ``failback``): an action's kind with its markers, and the details
worth a column. Values from vCenter/SRM go through :func:`~srmctl.cli.console.styled` or stay plain strings,
which the console prints literally."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from srmctl.cli.console import styled

if TYPE_CHECKING:
    from rich.text import Text

    from srmctl.steps.base import Action

#: Said under a table holding forecasts (see docs/architecture.md, "Dry run").
FORECAST_NOTE = ("(forecast): what the step expects to do once the steps before it have run (e.g. SRM's defaults "
                 "after the groups are rebuilt); it is planned again from live state right before it runs. Every "
                 "other action is exactly what the step would do now.")


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
    return " ".join("; ".join(map(str, v)) if isinstance(v, tuple) else str(v)
                    for k, v in action.details if k in wanted)
