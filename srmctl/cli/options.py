"""Options shared by several commands, defined once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from srmctl.cli.app import App

F = TypeVar("F", bound=Callable[..., Any])


def _set_output(ctx: click.Context, _param: click.Parameter, value: str) -> str:
    ctx.ensure_object(App).output = value
    return value


def output_option(*choices: str) -> Callable[[F], F]:
    """``-o table|json`` (or the given choices); stored on the App so errors use the same format."""
    names = choices or ("table", "json")
    return click.option(
        "-o",
        "--output",
        type=click.Choice(names),
        default=names[0],
        show_default=True,
        expose_value=False,
        is_eager=True,
        callback=_set_output,
        help="Output format.",
    )


def lab_option(f: F) -> F:
    return click.option(
        "--lab",
        "lab_dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="SRMCTL_LAB",
        help="Use the endpoints of a lab started by 'srmctl lab up' (its lab.yaml). Env: SRMCTL_LAB.",
    )(f)


def steps_option(value: str | None) -> tuple[str, ...] | None:
    """The step names of ``--steps A,B`` (blanks dropped), or None when the option is not given."""
    return tuple(s.strip() for s in value.split(",") if s.strip()) if value else None
