"""``hookwire secret new``: make a fresh signing secret or ed25519 key pair."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from hookwire import generate_keypair, generate_secret
from hookwire.signature_file import SCHEME_ED25519, SCHEME_HMAC, SignatureFile


@click.group()
def secret() -> None:
    """Make secrets and keys."""


@secret.command("new")
@click.option("--json", "as_json", is_flag=True, help="Print a signature file (JSON) instead.")
@click.option("--ed25519", is_flag=True, help="Make a whsk_/whpk_ ed25519 key pair instead.")
@click.option("--webhook-id", default="", help="The webhookId to put in the signature file.")
def new(as_json: bool, ed25519: bool, webhook_id: str) -> None:
    """Print a fresh whsec_ secret (or an ed25519 key pair).

    \b
    Examples:
      hookwire secret new
      hookwire secret new --json > signature.json
      hookwire secret new --ed25519 --json
    """
    now = datetime.now(UTC).replace(microsecond=0)
    if ed25519:
        signing_key, public_key = generate_keypair()
        if as_json:
            public = SignatureFile(webhook_id, SCHEME_ED25519, (public_key,), now).to_dict()
            click.echo(json.dumps({**public, "signingKey": signing_key}, indent=2))
        else:
            click.echo(f"signing key (keep it on the sender): {signing_key}")
            click.echo(f"public key (give it to listeners):  {public_key}")
        return
    value = generate_secret()
    if as_json:
        click.echo(
            json.dumps(SignatureFile(webhook_id, SCHEME_HMAC, (value,), now).to_dict(), indent=2)
        )
    else:
        click.echo(value)
