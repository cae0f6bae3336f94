"""The secret commands of ``hookwire webhooks``: ``rotate-secret`` and ``signature-file``.

``webhooks`` (in :mod:`hookwire_cli.webhooks`) adds them to its group.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from ._common import echo_json, json_option
from ._store import DURATION, db_option, open_sender, when
from ._webhook_view import new_key, print_new_key

__all__ = ["rotate_secret", "signature_file"]


@click.command("rotate-secret")
@click.argument("webhook_id", metavar="ID")
@click.option(
    "--grace",
    type=DURATION,
    default="24h",
    show_default=True,
    help="How long the old secret keeps signing beside the new one.",
)
@db_option
@json_option
def rotate_secret(*, webhook_id: str, grace: timedelta, db: str, as_json: bool) -> None:
    """Make a new secret and print it once; the old one stays valid for --grace.

    During the grace period every request carries a signature for each valid
    secret, so the listener can switch to the new secret at its own pace.

    \b
    Examples:
      hookwire webhooks rotate-secret wh_0123456789abcdef
      hookwire webhooks rotate-secret wh_0123456789abcdef --grace 0s   # old one dies now
    """
    with open_sender(db) as sender:
        webhook = sender.webhooks.rotate_secret(webhook_id, grace=grace)
        key = new_key(sender, webhook)
    until = datetime.now(UTC) + grace
    if as_json:
        echo_json({"webhookId": webhook.id, **key, "previousValidUntil": until})
        return
    click.echo(f"Rotated the secret of {webhook.id}; the old one signs too until {when(until)}.")
    print_new_key(webhook, key)


@click.command("signature-file")
@click.argument("webhook_id", metavar="ID")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to FILE (mode 0600) instead of printing.",
)
@db_option
def signature_file(*, webhook_id: str, output: str | None, db: str) -> None:
    """Write the webhook's signature file: the JSON a listener verifies with.

    It holds the secret (or the ed25519 public key), so it is written readable
    by its owner only. Give it to `hookwire listen --signature-file` or
    `hookwire.Receiver(signature_file=...)`.

    \b
    Examples:
      hookwire webhooks signature-file wh_0123456789abcdef -o signature.json
      hookwire listen --signature-file signature.json
    """
    with open_sender(db) as sender:
        file = sender.webhooks.signature_file(webhook_id)
    if output is None:
        click.echo(file.to_json(), nl=False)
        return
    file.write(output)
    click.echo(f"Wrote the signature file of {webhook_id} to {output} (mode 0600).", err=True)
