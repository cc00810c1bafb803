"""``srmctl report RUN_ID [--pack FILE [--sign KEYFILE]]``: a run's offline report, and its evidence pack."""

from __future__ import annotations

from pathlib import Path

import click

from srmctl.cli.app import App
from srmctl.cli.console import styled
from srmctl.cli.envelope import envelope
from srmctl.cli.options import output_option
from srmctl.errors import UsageError


@click.command("report")
@click.argument("run_id", metavar="RUN_ID")
@click.option(
    "--pack",
    "pack",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also write the run's evidence pack (a zip: report, journal, runbook, plan, metadata before and "
    "after, SRM's history reports, and a manifest of SHA-256 hashes) to FILE.",
)
@click.option(
    "--sign",
    "key_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="KEYFILE",
    help="With --pack: sign the manifest with this Ed25519 private key (PEM or OpenSSH, unencrypted, "
    "mode 0600); its public key's fingerprint is printed.",
)
@click.option("--force", is_flag=True, help="With --pack: replace FILE if it exists.")
@click.option("--open", "open_report", is_flag=True, help="Open report.html in the default browser.")
@output_option()
@click.pass_obj
def report(app: App, run_id: str, pack: Path | None, key_file: Path | None, force: bool, open_report: bool) -> None:
    """Write run RUN_ID's report.html from its journal (see 'srmctl runs'); with --pack, also its evidence
    pack, which 'srmctl verify' checks offline. A journal whose hash chain is broken (a line edited after it
    was written) is refused (exit 2)."""
    from srmctl import engine

    if (key_file or force) and pack is None:
        raise UsageError("--sign and --force need --pack FILE")
    html = engine.html_report(app.home, run_id)
    written = None
    if pack is not None:
        from srmctl.engine.pack import write_pack

        written = write_pack(app.home, run_id, pack, key_file=key_file, force=force)
    if app.json_output:
        click.echo(envelope("report", {"report": str(html), "pack": written}))
    else:
        click.echo(str(html))
        if written is not None:
            app.console.print(
                styled(
                    "pack {}: {} files, {} bytes, journal {} (last hash {})",
                    written.path,
                    written.files,
                    written.bytes,
                    written.journal_chain,
                    written.last_hash,
                )
            )
            for name in written.missing:
                app.console.print(styled("  not in the run folder: {}", name))
            if written.signed_by:
                app.console.print(styled("signed by Ed25519 key {}", written.signed_by))
    if open_report:
        click.launch(str(html))


command = report
