"""``srmctl validate RUNBOOK``: check a runbook offline; exit 0 when valid, 3 with every problem when not."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from srmctl.cli.app import App
from srmctl.cli.envelope import envelope, neutralise
from srmctl.cli.options import output_option
from srmctl.errors import RunbookInvalid

if TYPE_CHECKING:
    from srmctl.runbook import LoadedRunbook, Runbook


class _ProblemsListed(RunbookInvalid):
    """RunbookInvalid whose problems this command already printed, one per line in the ``file:line:col:``
    form editors parse; the error boundary then adds only a one-line summary instead of repeating them."""

    def __init__(self, path: str, problems: Sequence[str]) -> None:
        super().__init__(problems)
        count = len(self.problems)
        self.message = f"{path}: runbook is invalid ({count} problem{'' if count == 1 else 's'})"


@click.command("validate")
@click.argument("runbook", metavar="RUNBOOK")
@output_option()
@click.pass_obj
def validate(app: App, runbook: str) -> None:
    """Check RUNBOOK without touching the network.

    Exit 0 when valid, 3 when not; each problem is printed as FILE:LINE:COL: KEY.PATH: MESSAGE.
    Warnings (unset password variables, files missing on this machine) do not fail validation.
    """
    # Imported here so that ``srmctl --help`` does not load pydantic and the YAML parser.
    from srmctl.runbook import read_runbook

    try:
        loaded = read_runbook(runbook)
    except RunbookInvalid as invalid:
        if not app.json_output:
            for problem in invalid.problems:
                click.echo(neutralise(problem), err=True)  # problems quote the file's text
        raise _ProblemsListed(runbook, invalid.problems) from None
    if app.json_output:
        click.echo(envelope("validate", _result(loaded)))
        return
    for warning in loaded.warnings:
        click.echo(neutralise(warning), err=True)
    click.echo(neutralise(f"{runbook}: valid: {summary(loaded.runbook)}"))


def summary(rb: Runbook) -> str:
    """``mail-back (planned-migration): new-jersey → new-york, 3 VMs``."""
    return f"{rb.name} ({rb.scenario}): {rb.source_site_name} → {rb.target_site_name}, {rb.selection_summary}"


def _result(loaded: LoadedRunbook) -> dict[str, object]:
    rb = loaded.runbook
    return {
        "valid": True,
        "path": loaded.path,
        "name": rb.name,
        "scenario": rb.scenario,
        "from": rb.source_site_name,
        "to": rb.target_site_name,
        "vms": list(rb.vm_names) if rb.vms is not None else None,
        "select": rb.select.model_dump(exclude_none=True) if rb.select else None,
        "steps": list(rb.effective_steps),
        "warnings": list(loaded.warnings),
    }


command = validate
