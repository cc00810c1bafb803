"""``srmctl snapshot export|diff|restore``: a recovery plan's metadata to and from a YAML file."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from srmctl.cli.app import App
from srmctl.cli.console import new_table, styled
from srmctl.cli.envelope import envelope
from srmctl.cli.options import lab_option, output_option
from srmctl.errors import ExitCode, UsageError

if TYPE_CHECKING:  # the engine is imported when a command runs, not for 'srmctl --help'
    from srmctl.engine import snapshots


def _where(f: Callable[..., Any]) -> Callable[..., Any]:
    """Shared options: which plan, and which sites (a runbook's or a lab's) to find it at."""

    @click.option("--plan", "plan", required=True, help="Recovery plan name.")
    @click.option(
        "--runbook",
        "runbook",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help="Take the sites' endpoints from this runbook.",
    )
    @lab_option
    @click.option("--site", help="Ask this site's SRM (default: the runbook's 'to' site or the lab's protected site).")
    @wraps(f)
    def wrapper(*args: Any, runbook: Path | None, lab_dir: Path | None, site: str | None, **kwargs: Any) -> Any:
        return f(*args, where=_target(runbook, lab_dir, site), **kwargs)

    return wrapper


def _target(runbook: Path | None, lab_dir: Path | None, site: str | None) -> snapshots.Target:
    """The sites (the runbook's 'to' then 'from' site, or the lab's protected then recovery site) and their
    endpoints, from the runbook or the lab (the lab's when both are given)."""
    from srmctl.cli.endpoints import endpoints_for, read_lab
    from srmctl.engine import snapshots
    from srmctl.runbook import load_runbook

    book = load_runbook(runbook) if runbook else None
    lab = read_lab(lab_dir)
    if book is not None:
        sites = (book.target_site_name, book.source_site_name)
    elif lab is not None:
        sites = (lab.protected_site, lab.recovery_site)
    else:
        raise UsageError("give a RUNBOOK or --lab DIR to know the sites' endpoints")
    return snapshots.target(endpoints_for(book, lab), sites, site)


@click.group("snapshot")
def snapshot() -> None:
    """Export a recovery plan's metadata to YAML, compare it with the live plan, or restore it."""


@snapshot.command("export")
@_where
@click.option(
    "-f",
    "--file",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the snapshot here (mode 0600) instead of standard output.",
)
@output_option("yaml", "json")
@click.pass_obj
def export(app: App, where: snapshots.Target, plan: str, file: Path | None) -> None:
    """Capture PLAN's per-VM settings and custom steps (keyed by VM name, never MoRef).

    The snapshot goes to FILE or standard output as YAML; with -o json, standard output gets the JSON
    envelope (the snapshot itself, or with --file what was written where)."""
    from srmctl.engine import snapshots
    from srmctl.metadata.snapshot import dump_snapshot, write_snapshot

    taken = snapshots.export(where, plan)
    steps = sum(len(s) for s in taken.steps.values())
    if file is not None:
        write_snapshot(taken, file)
    if app.json_output:
        result = (
            {"plan": plan, "file": str(file), "vms": len(taken.vms), "steps": steps}
            if file is not None
            else {"plan": plan, "snapshot": taken.model_dump(mode="json", exclude_none=True)}
        )
        click.echo(envelope("snapshot export", result))
    elif file is None:
        click.echo(dump_snapshot(taken), nl=False)
    else:
        app.err_console.print(f"snapshot of {plan}: {len(taken.vms)} VMs, {steps} custom steps → {file}")


@snapshot.command("diff")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@_where
@output_option()
@click.pass_obj
def diff(app: App, file: Path, where: snapshots.Target, plan: str) -> None:
    """Compare FILE with the live PLAN. Exit 0 when equal, 1 when different."""
    from srmctl.engine import snapshots
    from srmctl.metadata.diff import not_compared
    from srmctl.metadata.snapshot import read_snapshot

    expected = read_snapshot(file)
    changes = snapshots.diff(where, plan, expected)
    notes = not_compared(expected)
    if app.json_output:
        click.echo(
            envelope(
                "snapshot diff",
                {"equal": not changes, "changes": changes, **({"not_compared": notes} if notes else {})},
            )
        )
        return _exit_if(changes)
    for note in notes:  # before the verdict: "equal" must not be read as "the groups are equal too"
        app.err_console.print(f"note: {note}")
    if not changes:
        app.console.print(f"{plan}: equal to {file}")
    else:
        # The heading is a line of its own: as a table title it would wrap at the table's width.
        app.console.print(f"{plan}: {len(changes)} difference(s) from {file}")
        table = new_table("setting", "snapshot", "live")
        for change in changes:
            table.add_row(change.path, _show(change.before), _show(change.after))
        app.console.print(table)
    _exit_if(changes)


def _exit_if(changes: tuple[object, ...]) -> None:
    if changes:
        click.get_current_context().exit(int(ExitCode.FAILED))  # "differs" is an answer, not an error


@snapshot.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@_where
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@output_option()
@click.pass_obj
def restore(app: App, file: Path, where: snapshots.Target, plan: str, dry_run: bool) -> None:
    """Re-apply FILE to PLAN: only what differs, dependencies validated first, VMs matched by name."""
    from srmctl.engine import snapshots
    from srmctl.metadata.snapshot import read_snapshot

    result = snapshots.restore(where, plan, read_snapshot(file), dry_run=dry_run)
    if app.json_output:
        click.echo(envelope("snapshot restore", {"dry_run": dry_run, **_jsonable(result)}))
        return
    verb = "would change" if dry_run else "changed"
    if not result.actions:
        app.console.print(f"{plan}: already equal to {file}; nothing to do")
    for action in result.actions:
        app.console.print(
            styled("{}: {} [bold]{}[/]: {}", verb, action.kind.replace("_", " "), action.target, action.summary)
        )


def _jsonable(result: Any) -> dict[str, Any]:
    return {
        "plan": result.plan_name,
        "unplaced": list(result.unplaced),
        "unmanaged": list(result.unmanaged),
        "actions": [{"kind": a.kind, "target": a.target, "summary": a.summary} for a in result.actions],
    }


def _show(value: object) -> str:
    return "—" if value is None else str(value)


command = snapshot
