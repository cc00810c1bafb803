"""The CLI side of site failbacks (several runbooks on one command line; docs/architecture.md, "Site
failbacks"): loading and checking them at the edge, the dry run of every plan, the prompts, and what is
shown. Used by ``failback``, ``plan`` and ``resume``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from srmctl.cli.app import App
from srmctl.cli.console import styled
from srmctl.cli.envelope import envelope
from srmctl.cli.plan_view import render_plan
from srmctl.cli.run_output import live_printer
from srmctl.errors import UsageError

if TYPE_CHECKING:
    from srmctl.adapters.endpoints import Endpoints
    from srmctl.engine import Event, RunPlan
    from srmctl.engine.events import Subscriber
    from srmctl.engine.site_failback import (
        AskNext,
        ConfirmSiteFailback,
        NextPlan,
        PendingSiteFailback,
        SiteFailbackReport,
        Tier,
    )


def load(runbooks: Sequence[Path], lab_dir: Path | None) -> tuple[tuple[Tier, ...], list[Endpoints]]:
    """Every runbook validated (all problems of all files, exit 3) before any endpoint is built."""
    from srmctl.cli.endpoints import endpoints_for, read_lab
    from srmctl.engine.site_failback import load_site_failback

    site = load_site_failback(runbooks)
    lab = read_lab(lab_dir)
    return site, [endpoints_for(plan.runbook, lab) for plan in site]


def plan_site(
    app: App,
    runbooks: Sequence[Path],
    lab_dir: Path | None,
    selected: bool,
    command: str = "plan",
    extra: dict[str, object] | None = None,
) -> None:
    """The dry run of a site failback: every plan's steps, plan by plan in order (shared with 'srmctl plan')."""
    from srmctl.engine import site_failback

    if selected:
        raise UsageError(
            "--steps, --from and --until select the steps of one runbook; in a site failback each "
            "runbook runs its own steps (its 'steps:' key)"
        )
    site, endpoints = load(runbooks, lab_dir)
    show_plans(app, site, site_failback.site_failback_dry_run(site, endpoints), command, extra)


def endpoints_of(pending: PendingSiteFailback) -> list[Endpoints]:
    """Each plan's endpoints, built again the way the site failback obtained them (its lab, else the runbook)."""
    from srmctl.cli.endpoints import endpoints_for, read_lab

    return [
        endpoints_for(plan.runbook, read_lab(Path(origin.folder)) if origin.kind == "lab" and origin.folder else None)
        for plan, origin in zip(pending.plans, pending.origins, strict=True)
    ]


def need_yes(app: App, yes: bool) -> None:
    """Without a terminal nobody can answer a prompt: a site failback needs --yes up front, so it never stops at
    the second plan for want of an answer (a prompt between plans then continues, journaled as such)."""
    if not yes and not app.interactive:
        raise UsageError(
            "a site failback without a terminal needs --yes: it confirms every plan's high-impact actions "
            "and lets a prompt between plans continue (or pass --between continue|wait:DURATION)"
        )


def show_plans(
    app: App, site: Sequence[Tier], plans: Sequence[RunPlan], command: str, extra: dict[str, object] | None = None
) -> None:
    if app.json_output:
        click.echo(
            envelope(
                command,
                {
                    **(extra or {}),
                    "plans": [
                        {
                            "index": p.index,
                            "runbook_path": str(p.path),
                            "recovery_plan": p.runbook.recovery_plan.name,
                            **plan.to_dict(),
                        }
                        for p, plan in zip(site, plans, strict=True)
                    ],
                },
            )
        )
        return
    for plan, result in zip(site, plans, strict=True):
        _header(app, plan.index, len(site), str(plan.path), plan.runbook.recovery_plan.name)
        render_plan(app, result)


def _header(app: App, index: int, total: int, runbook: str, recovery_plan: str) -> None:
    app.console.print(styled("[bold]── plan {}/{}[/]: {} (recovery plan {})", index, total, runbook, recovery_plan))


def confirm_site(app: App, yes: bool, site: Sequence[Tier]) -> ConfirmSiteFailback:
    """Asked once, with every plan's dry run, when any holds a high-impact action."""

    def confirm(plans: Sequence[RunPlan]) -> bool:
        if yes:
            return True
        need_yes(app, yes)
        if not app.json_output:
            for plan, result in zip(site, plans, strict=True):
                _header(app, plan.index, len(site), str(plan.path), plan.runbook.recovery_plan.name)
                render_plan(app, result)
        return click.confirm(
            f"Apply these high-impact actions, {len(plans)} plans in this order?", default=False, err=True
        )

    return confirm


def ask_next(app: App, yes: bool) -> AskNext:
    """The prompt between plans: asked on a terminal (even with --yes: the pause was asked for); without one,
    --yes lets the site failback continue."""

    def ask(nxt: NextPlan) -> str | None:
        if not app.interactive:
            return "no terminal: continued (--yes)" if yes else None
        app.err_console.print(
            styled(
                "plan {}/{} ({}) done; next: plan {}/{} {} (recovery plan {})",
                nxt.done.index,
                nxt.total,
                nxt.done.runbook.name,
                nxt.next.index,
                nxt.total,
                nxt.next.runbook.name,
                nxt.next.runbook.recovery_plan.name,
            )
        )
        if click.confirm(f"Start plan {nxt.next.index}/{nxt.total}?", default=False, err=True):
            return "answered yes"
        return None

    return ask


def site_printer(app: App) -> Subscriber:
    """One line per plan as it starts and ends, and for each pause between plans."""
    from srmctl.engine import site_failback as sf

    def show(event: Event) -> None:
        if app.json_output:
            return
        data = event.data
        if event.kind in (sf.SITE_STARTED, sf.SITE_RESUMED):
            verb = "started" if event.kind == sf.SITE_STARTED else "resumed"
            app.err_console.print(f"site failback {data.get('run_id')} {verb}")
        elif event.kind == sf.PLAN_STARTED:
            app.console.print(
                styled(
                    "[bold]── plan {}[/]: {} (recovery plan {}), run {}{}",
                    data.get("plan"),
                    data.get("runbook"),
                    data.get("recovery_plan"),
                    data.get("run_id"),
                    " (resumed)" if data.get("resumed") else "",
                )
            )
        elif event.kind == sf.PLAN_FINISHED:
            app.console.print(styled("   plan {} {}: {}", data.get("plan"), data.get("runbook"), data.get("outcome")))
        elif event.kind == sf.BETWEEN_STARTED and data.get("until"):
            app.console.print(f"   waiting until {data['until']} before plan {data.get('next')}")
        elif event.kind == sf.BETWEEN_PASSED:
            app.console.print(f"   before plan {data.get('next')}: {data.get('how')}")

    return show


def subscribers(app: App) -> list[Subscriber]:
    return [live_printer(app), site_printer(app)]


def finish(app: App, command: str, report: SiteFailbackReport) -> None:
    if app.json_output:
        click.echo(envelope(command, report))
        return
    for plan in report.plans:
        app.console.print(
            styled(
                "  plan {} {} ({}): {} (run {})",
                plan.index,
                plan.runbook,
                plan.recovery_plan,
                plan.outcome,
                plan.run_id,
            )
        )
    app.console.print(
        styled("site failback {}: [bold]{}[/] (journal {})", report.run_id, report.outcome, report.journal)
    )
