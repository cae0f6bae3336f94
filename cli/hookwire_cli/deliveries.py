"""``hookwire deliveries``: the delivery log, and sending failed deliveries again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from hookwire.sender import DELIVERY_STATUSES, Attempt, Delivery, DeliveryStatus

from ._common import TIME, echo_json, json_option
from ._hints import cli_text
from ._store import db_option, open_sender, print_table, when

__all__ = ["attempt_dict", "deliveries", "delivery_dict"]

_STATUS_COLOURS = {"pending": "yellow", "succeeded": "green", "failed": "red", "dead": "magenta"}


def attempt_dict(attempt: Attempt) -> dict[str, Any]:
    """One attempt as JSON-ready data."""
    return {
        "attemptId": attempt.id,
        "requestId": attempt.request_id,
        "webhookId": attempt.webhook_id,
        "startedAt": attempt.started_at,
        "statusCode": attempt.status_code,
        "succeeded": attempt.succeeded,
        "latencyMs": round(attempt.latency_ms, 1),
        "error": attempt.error,
        "responseBody": attempt.response_body,
        "eventIds": list(attempt.event_ids),
    }


def delivery_dict(delivery: Delivery, *, with_attempts: bool = False) -> dict[str, Any]:
    """One delivery as JSON-ready data (its attempts too when asked)."""
    data: dict[str, Any] = {
        "id": delivery.id,
        "eventId": delivery.event_id,
        "eventName": delivery.event_name,
        "webhookId": delivery.webhook_id,
        "accountId": delivery.account_id,
        "status": delivery.status,
        "requestId": delivery.request_id,
        "createdAt": delivery.created_at,
        "dueAt": delivery.due_at,
        "updatedAt": delivery.updated_at,
    }
    if with_attempts:
        data["attempts"] = [attempt_dict(a) for a in delivery.attempts]
    return data


def _status(status: str) -> str:
    return click.style(status, fg=_STATUS_COLOURS.get(status))


def _attempt_outcome(attempt: Attempt) -> str:
    if attempt.status_code is not None:
        return str(attempt.status_code)
    return "error"


def _print_delivery(delivery: Delivery) -> None:
    click.secho(f"Delivery {delivery.id}", bold=True)
    for label, value in (
        ("status", _status(delivery.status)),
        ("event", f"{delivery.event_name} {delivery.event_id}"),
        ("webhook", delivery.webhook_id),
        ("account", str(delivery.account_id)),
        ("request", delivery.request_id or "-"),
        ("created", when(delivery.created_at)),
        ("due", when(delivery.due_at)),
        ("updated", when(delivery.updated_at)),
    ):
        click.echo(f"  {label:<9} {value}")
    click.echo()
    print_table(
        ("ATTEMPT", "STARTED", "STATUS", "LATENCY", "REQUEST", "EVENTS", "ERROR"),
        [
            (
                str(number),
                when(a.started_at),
                _attempt_outcome(a),
                f"{a.latency_ms:.0f} ms",
                a.request_id,
                str(len(a.event_ids)),
                cli_text(a.error or ""),
            )
            for number, a in enumerate(delivery.attempts, start=1)
        ],
        empty="No attempts yet.",
    )


@click.group()
def deliveries() -> None:
    """Inspect the delivery log and send failed deliveries again.

    A delivery is one event on its way to one webhook; it travels in a request
    (the webhook-id header) that may carry other events too, and every attempt
    at that request is logged.

    \b
    Examples:
      hookwire deliveries list --status failed
      hookwire deliveries show dlv_...
      hookwire deliveries recover wh_... --since 2h
    """


@deliveries.command("list")
@click.option("--webhook", "webhook_id", metavar="ID", help="Only this webhook's deliveries.")
@click.option(
    "--status", type=click.Choice(DELIVERY_STATUSES), help="Only deliveries in this state."
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="How many."
)
@click.option("--counts", is_flag=True, help="Print how many are in each status instead.")
@db_option
@json_option
def list_deliveries(
    *,
    webhook_id: str | None,
    status: DeliveryStatus | None,
    limit: int,
    counts: bool,
    db: str,
    as_json: bool,
) -> None:
    """List deliveries, newest first.

    pending: not sent yet; failed: tried and will be retried; succeeded;
    dead: given up (too old) or dropped when the webhook was disabled.

    \b
    Examples:
      hookwire deliveries list
      hookwire deliveries list --webhook wh_0123 --status dead --json
      hookwire deliveries list --counts
    """
    with open_sender(db) as sender:
        if webhook_id is not None:
            sender.webhooks.get(webhook_id)
        if counts:
            tally = sender.deliveries.counts(webhook_id)
        else:
            found = sender.deliveries.list(webhook_id, status, limit=limit)
    if counts:
        if as_json:
            echo_json(tally)
        else:
            for name, count in tally.items():
                click.echo(f"{_status(name)}{' ' * (11 - len(name))}{count}")
        return
    if as_json:
        echo_json([delivery_dict(d) for d in found])
        return
    print_table(
        ("ID", "STATUS", "EVENT", "EVENT ID", "WEBHOOK", "UPDATED"),
        [
            (d.id, d.status, d.event_name, d.event_id, d.webhook_id, when(d.updated_at))
            for d in found
        ],
        empty="No deliveries match.",
    )


@deliveries.command("show")
@click.argument("delivery_id", metavar="ID")
@db_option
@json_option
def show(*, delivery_id: str, db: str, as_json: bool) -> None:
    """Show one delivery with every attempt of the requests it travelled in.

    \b
    Example:
      hookwire deliveries show dlv_0123456789abcdef
    """
    with open_sender(db) as sender:
        delivery = sender.deliveries.get(delivery_id)
    if as_json:
        echo_json(delivery_dict(delivery, with_attempts=True))
        return
    _print_delivery(delivery)


@deliveries.command("redeliver")
@click.argument("delivery_id", metavar="ID")
@db_option
@json_option
def redeliver(*, delivery_id: str, db: str, as_json: bool) -> None:
    """Send a delivery again: a succeeded or dead one is queued anew, a failed one is
    retried now. A running `hookwire dispatch` sends it.

    \b
    Example:
      hookwire deliveries redeliver dlv_0123456789abcdef
    """
    with open_sender(db) as sender:
        before = sender.deliveries.get(delivery_id)
        delivery = sender.deliveries.redeliver(delivery_id)
    if as_json:
        echo_json(delivery_dict(delivery))
        return
    if before.status == "pending":
        click.echo(f"Delivery {delivery_id} is still pending; it goes out with the next request.")
        return
    click.echo(
        f"Delivery {delivery_id} ({before.status}) queued again; `hookwire dispatch` sends it."
    )


@deliveries.command("recover")
@click.argument("webhook_id", metavar="WEBHOOK_ID")
@click.option(
    "--since",
    type=TIME,
    required=True,
    help="Resend failed and dead deliveries created since then (ISO time or 2h, 3d).",
)
@db_option
@json_option
def recover(*, webhook_id: str, since: datetime, db: str, as_json: bool) -> None:
    """Resend every failed and dead delivery of a webhook created since a time.

    Use it after fixing a listener that was down: what it missed goes out
    again, in order.

    \b
    Examples:
      hookwire deliveries recover wh_0123456789abcdef --since 6h
      hookwire deliveries recover wh_0123456789abcdef --since 2026-11-28T08:00:00Z --json
    """
    with open_sender(db) as sender:
        count = sender.deliveries.recover(webhook_id, since)
    if as_json:
        echo_json({"webhookId": webhook_id, "since": since, "queued": count})
        return
    noun = "delivery" if count == 1 else "deliveries"
    click.echo(f"Queued {count} failed or dead {noun} of {webhook_id} since {when(since)} again.")
