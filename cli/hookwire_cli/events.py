"""``hookwire events``: publish events into the sender's outbox, and list what was published."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import click

from hookwire import event_spec
from hookwire.samples import sample_data
from hookwire.sender import StoredEvent

from ._common import echo_json, json_option, read_stdin
from ._store import db_option, open_sender, print_table, when

__all__ = ["event_dict", "events"]


def event_dict(event: StoredEvent) -> dict[str, Any]:
    """A stored event as JSON-ready data (its ``data`` in wire form)."""
    return {
        "eventId": event.id,
        "eventName": event.name,
        "accountId": event.account_id,
        "timestamp": event.timestamp,
        "realtime": event.realtime,
        "createdAt": event.created_at,
        "data": event.data,
    }


def _read_data(value: str) -> dict[str, Any]:
    """``--data``: inline JSON, ``@FILE``, or ``@-`` for standard input."""
    source = "--data"
    text = value
    if value.startswith("@"):
        source = value[1:]
        raw = read_stdin() if source == "-" else Path(source).read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise click.BadParameter(f"{source} is not UTF-8 text", param_hint="'--data'") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(
            f"{source} is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
            param_hint="'--data'",
        ) from exc
    if not isinstance(data, dict):
        raise click.BadParameter("the event data must be a JSON object", param_hint="'--data'")
    return data


@click.group()
def events() -> None:
    """Publish events to the sender's outbox and list them.

    A published event is stored with one delivery per active webhook of its
    account subscribed to its name; `hookwire dispatch` sends them.

    \b
    Examples:
      hookwire events publish COURSE_COMPLETED --account 1010 --sample
      hookwire events list --json
    """


@events.command("publish")
@click.argument("name")
@click.option("--account", type=int, default=1010, show_default=True, help="The accountId.")
@click.option(
    "--data", "data_text", metavar="JSON|@FILE", help="The event's data (@- reads stdin)."
)
@click.option("--sample", is_flag=True, help="Use realistic sample data for the event name.")
@click.option("--seed", type=int, help="Seed --sample, to publish the same data again.")
@click.option("--id", "event_id", help="The eventId (default: a new one); a repeat is not stored.")
@click.option(
    "--batch-interval",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds between flushes of batch (non-real-time) events.",
)
@db_option
@json_option
def publish(
    *,
    name: str,
    account: int,
    data_text: str | None,
    sample: bool,
    seed: int | None,
    event_id: str | None,
    batch_interval: float,
    db: str,
    as_json: bool,
) -> None:
    """Publish one NAME event for delivery to every subscribed webhook of the account.

    The data is checked against the event's model (wire or Python field
    names). Real-time events are due at once; batch events at the end of the
    current --batch-interval window. Prints the webhooks the event was queued
    for; an --id that is stored already queues nothing (--json: "duplicate").

    \b
    Examples:
      hookwire events publish COURSE_COMPLETED --account 1010 --sample
      hookwire events publish LEARNER_PROGRESS --account 1010 --data \\
        '{"userId": 7, "loId": "course:1", "loInstanceId": "course:1_1", "progressPercent": 40}'
      hookwire events publish CI_STATS --data @ci_stats.json --json
    """
    if (data_text is None) == (not sample):
        raise click.UsageError("give either --data JSON|@FILE or --sample")
    data = None if sample else _read_data(data_text or "")
    with open_sender(db, batch_interval=batch_interval) as sender:
        spec = event_spec(name)
        if data is None:
            data = sample_data(name, random.Random(seed))
        published = sender.publish(name, data=data, account_id=account, event_id=event_id)
        # The stored event: for a duplicate id, the one published first.
        event = sender.events.get(published.event_id)
    receivers = published.webhook_ids
    if as_json:
        echo_json(
            {**event_dict(event), "webhooks": list(receivers), "duplicate": published.duplicate}
        )
        return
    if published.duplicate:
        click.echo(
            f"Event {event.id} ({event.name}, account {event.account_id}) is already stored; "
            "nothing new was queued."
        )
        return
    kind = "real-time, due now" if spec.realtime else f"batch, every {batch_interval:g} s"
    click.echo(f"Published {name} {event.id} for account {account} ({kind}).")
    if receivers:
        click.echo(f"Queued for {len(receivers)} webhook(s): {', '.join(receivers)}.")
    else:
        click.echo(
            f"No active webhook of account {account} subscribes to {name}; nothing will be sent."
        )


@events.command("list")
@click.option("--account", type=int, help="Only this account's events.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many."
)
@db_option
@json_option
def list_events(*, account: int | None, limit: int, db: str, as_json: bool) -> None:
    """List published events, newest first.

    \b
    Examples:
      hookwire events list
      hookwire events list --account 1010 --limit 100 --json
    """
    with open_sender(db) as sender:
        found = sender.events.list(account, limit=limit)
    if as_json:
        echo_json([event_dict(e) for e in found])
        return
    rows = [
        (
            when(e.created_at),
            e.id,
            e.name,
            str(e.account_id),
            "real-time" if e.realtime else "batch",
        )
        for e in found
    ]
    print_table(
        ("PUBLISHED", "EVENT ID", "NAME", "ACCOUNT", "KIND"),
        rows,
        empty="No events yet; publish one with `hookwire events publish`.",
    )
