"""The consoles srmctl prints through, safe for text that comes from elsewhere.

Names and messages from vCenter, SRM, VR, a runbook or a journal are data, never terminal markup: a VM
called ``[red]web02`` must print as ``[red]web02``, a callout called ``[/bold]x`` must not crash a table,
and an ANSI escape sequence in a name must not reach the terminal. Two rules make that hold everywhere
instead of at each call site:

- :func:`safe_console` reads every plain string literally (no markup, no emoji codes, no highlighting) and
  shows control characters as visible escapes (``\\x1b``). Table cells, titles and printed lines are plain
  strings unless a command deliberately styles them.
- Styling is opt-in through :func:`styled`: the template is srmctl's own literal text (markup allowed); every
  value substituted into it is escaped and neutralised first, so a value can never open or close a style.

When standard output is not a terminal (a pipe, a log file, cron), tables are laid out at a wide width, so
lines are not wrapped at 80 columns; ``COLUMNS`` still wins when set.
"""

from __future__ import annotations

import os
import string
from typing import TYPE_CHECKING, Any

from srmctl.cli.envelope import neutralise

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Column, Table
    from rich.text import Text

# rich is imported inside the functions below (and SafeConsole is built on first use): command modules import
# this module at start-up, and 'srmctl --help' should not pay for rich's table and console machinery.

#: The width used when output is not a terminal: wide enough that no real table wraps.
PIPE_WIDTH = 4096


def safe_console(**kwargs: Any) -> Console:
    """A rich Console for untrusted text: strings are literal, control characters are shown escaped."""
    from rich.console import Console

    class SafeConsole(Console):
        def render_str(self, text: str, **options: Any) -> Text:
            # Every str printed or put in a table cell or title passes here (rich's Console.render).
            return super().render_str(neutralise(text), **options)

    kwargs.setdefault("markup", False)
    kwargs.setdefault("emoji", False)
    kwargs.setdefault("highlight", False)
    console = SafeConsole(**kwargs)
    if not console.is_terminal and "COLUMNS" not in os.environ and kwargs.get("width") is None:
        console.width = PIPE_WIDTH
    return console


def new_table(*headers: str | Column, **options: Any) -> Table:
    """A rich Table (cells and titles are rendered through the safe console like any other string)."""
    from rich.table import Table

    return Table(*headers, **options)


def column(header: str, **options: Any) -> Column:
    from rich.table import Column

    return Column(header, **options)


class _EscapingFormatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        from rich.markup import escape

        # Format first (so widths like {step:<22} count the real characters), then make the result inert.
        return escape(neutralise(super().format_field(value, format_spec)))


_FORMATTER = _EscapingFormatter()


def styled(template: str, *args: Any, **kwargs: Any) -> Text:
    """Rich Text from srmctl's own markup ``template`` with ``{}`` fields filled by escaped, neutralised values.

    ``template`` must be a literal: never build it from data (an f-string would bypass the escaping).
    """
    from rich.text import Text

    return Text.from_markup(_FORMATTER.format(template, *args, **kwargs), emoji=False)


def plain(value: object, style: str = "") -> Text:
    """One untrusted value as Text, optionally in one style (e.g. a table cell in red)."""
    from rich.text import Text

    return Text(neutralise(str(value)), style=style)
