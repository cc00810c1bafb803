"""``srmctl verify PACK [--key PUBKEY]``: check an evidence pack offline (never touches the network)."""

from __future__ import annotations

from pathlib import Path

import click

from srmctl.cli.app import App
from srmctl.cli.envelope import envelope, neutralise
from srmctl.cli.options import output_option


@click.command("verify")
@click.argument("pack", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="PACK")
@click.option(
    "--key",
    "key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="PUBKEY",
    help="The Ed25519 public key the pack must be signed with (PEM, or an OpenSSH 'ssh-ed25519' line).",
)
@output_option()
@click.pass_obj
def verify(app: App, pack: Path, key_file: Path | None) -> None:
    """Check an evidence pack written by 'srmctl report --pack': the manifest, every file's SHA-256, the
    journal's hash chain and its last hash, and the signature (against PUBKEY when given). Exit 0 with a
    one-line summary, or 1 naming the first file or journal line that does not match."""
    # Only srmctl.evidence: no engine, no API client, no network.
    from srmctl.evidence.verify import verify_pack

    checked = verify_pack(pack, key_file)
    if app.json_output:
        click.echo(envelope("verify", checked))
        return
    click.echo(neutralise(checked.summary()))  # the file's name is the operator's, not necessarily printable


command = verify
