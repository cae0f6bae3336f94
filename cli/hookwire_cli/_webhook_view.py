"""How ``hookwire webhooks`` shows a webhook: JSON data, the detail block, a new key.

Kept apart from the commands so that what a webhook looks like on screen is
decided in one place; nothing here ever shows a stored secret except
:func:`print_new_key`, which prints the key made a moment ago exactly once.
"""

from __future__ import annotations

from typing import Any

import click

from hookwire.sender import Sender, Webhook

from ._common import echo_json
from ._store import when

__all__ = [
    "new_key",
    "print_new_key",
    "print_webhook",
    "report_changed",
    "state",
    "webhook_dict",
]


def webhook_dict(webhook: Webhook) -> dict[str, Any]:
    """A webhook as JSON-ready data (camelCase, like the wire format); never a secret."""
    return {
        "id": webhook.id,
        "accountId": webhook.account_id,
        "name": webhook.name,
        "description": webhook.description,
        "targetUrl": webhook.target_url,
        "events": list(webhook.events),
        "auth": webhook.auth,
        "basicUsername": webhook.basic_username,
        "active": webhook.active,
        "disabledReason": webhook.disabled_reason,
        "failingSince": webhook.failing_since,
        "createdAt": webhook.created_at,
        "updatedAt": webhook.updated_at,
    }


def state(webhook: Webhook) -> str:
    """``active``, ``disabled`` (by the sender, with a reason) or ``retired`` (by a person)."""
    if webhook.active:
        return "active"
    return "disabled" if webhook.disabled_reason else "retired"


def new_key(sender: Sender, webhook: Webhook) -> dict[str, str]:
    """The key a listener needs right after it was made: a secret, or an ed25519 public key."""
    if webhook.auth not in ("signature", "signature-ed25519"):
        return {}
    file = sender.webhooks.signature_file(webhook.id)
    if file.public_key is not None:
        return {"publicKey": file.public_key}
    return {"secret": file.keys[0]}


def print_new_key(webhook: Webhook, key: dict[str, str]) -> None:
    """Print the key :func:`new_key` returned (nothing when it is empty), with how to use it."""
    if "secret" in key:
        click.echo()
        click.secho("Secret (shown this once; store it now):", bold=True)
        click.echo(f"  {key['secret']}")
    elif "publicKey" in key:
        click.echo()
        click.secho("Public key (give it to the listener; the private key stays here):", bold=True)
        click.echo(f"  {key['publicKey']}")
    if key:
        click.echo(
            f"A listener can also verify with: hookwire webhooks signature-file {webhook.id} "
            "-o signature.json"
        )


def print_webhook(webhook: Webhook, counts: dict[str, int] | None = None) -> None:
    """Print a webhook as a labelled block; ``counts`` adds its deliveries by status."""
    click.secho(f"Webhook {webhook.id}", bold=True)
    rows = [
        ("name", webhook.name),
        ("account", str(webhook.account_id)),
        ("target", webhook.target_url),
        ("events", ", ".join(webhook.events)),
        (
            "auth",
            webhook.auth + (f" (user {webhook.basic_username})" if webhook.auth == "basic" else ""),
        ),
        (
            "state",
            state(webhook) + (f": {webhook.disabled_reason}" if webhook.disabled_reason else ""),
        ),
    ]
    if webhook.description:
        rows.insert(1, ("description", webhook.description))
    if webhook.failing_since is not None:
        rows.append(("failing since", when(webhook.failing_since)))
    rows += [("created", when(webhook.created_at)), ("updated", when(webhook.updated_at))]
    if counts is not None:
        rows.append(("deliveries", ", ".join(f"{n} {status}" for status, n in counts.items())))
    for label, value in rows:
        click.echo(f"  {label:<13} {value}")


def report_changed(webhook: Webhook, key: dict[str, str], headline: str, *, as_json: bool) -> None:
    """Report a webhook just made or changed: as JSON with its new key, or headline, block, key."""
    if as_json:
        echo_json({**webhook_dict(webhook), **key})
        return
    click.echo(headline)
    print_webhook(webhook)
    print_new_key(webhook, key)
