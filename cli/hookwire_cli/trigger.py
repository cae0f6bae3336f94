"""``hookwire trigger``: send realistic sample events, signed as the sender would."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import click

from hookwire import CATALOGUE, UnknownEventError
from hookwire.samples import sample_envelope

from ._auth import auth_options, build_request_auth
from ._common import URL, echo_json, json_option
from ._sending import OutgoingRequest, SendResult, send_requests


def _print_catalogue(as_json: bool) -> None:
    if as_json:
        echo_json([{"eventName": s.name, "realtime": s.realtime} for s in CATALOGUE.values()])
        return
    for spec in CATALOGUE.values():
        click.echo(f"{spec.name:<44} {'real-time' if spec.realtime else 'batch'}")


def _result_line(result: SendResult) -> str:
    status = str(result.status) if result.status is not None else "error"
    line = f"{status:<5} {result.request.label}  {result.msg_id}  {result.elapsed * 1000:.0f} ms"
    return f"{line}  {result.error}" if result.error else line


def _result_json(result: SendResult) -> dict[str, Any]:
    return {
        **(result.request.info or {}),
        "webhookId": result.msg_id,
        "status": result.status,
        "ok": result.ok,
        "error": result.error,
        "elapsedMs": round(result.elapsed * 1000, 1),
    }


def _sample_requests(
    event: str, *, account: int, count: int, seed: int | None
) -> list[OutgoingRequest]:
    """``count`` requests, each an envelope of one sample ``event`` (seeded by ``seed``)."""
    rng = random.Random(seed)
    requests = []
    for _ in range(count):
        envelope = sample_envelope([event], account, rng)
        first = envelope["events"][0]
        requests.append(
            OutgoingRequest(
                body=json.dumps(envelope, separators=(",", ":")).encode(),
                label=f"{event}  {first['eventId']}",
                info={"eventName": event, "eventId": first["eventId"]},
            )
        )
    return requests


@click.command(short_help="Send signed sample events to a URL.")
@click.argument("event", required=False, metavar="EVENT")
@click.option("--to", "url", type=URL, help="The listener's URL.")
@auth_options
@click.option(
    "--count",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="N",
    help="Requests to send.",
)
@click.option(
    "--account", type=int, default=1010, show_default=True, help="The envelope's accountId."
)
@click.option("--seed", type=int, help="Seed the sample data, to send the same events again.")
@click.option("--list", "list_names", is_flag=True, help="List the event names and exit.")
@json_option
def trigger(
    *,
    event: str | None,
    url: str | None,
    secret: str | None,
    signature_file: str | None,
    basic_auth: tuple[str, str] | None,
    count: int,
    account: int,
    seed: int | None,
    list_names: bool,
    as_json: bool,
) -> None:
    """Send COUNT sample EVENT deliveries to a listener, one event per request.

    The events are realistic and valid for their name, and the requests carry
    what the sender's would: webhook-* headers signed with --secret (or the
    secret of --signature-file), basic auth with --basic-auth, content-type
    application/json. Prints one line per request; exits 1 if any answer is
    not 2xx.

    \b
    Examples:
      hookwire trigger --list
      hookwire trigger COURSE_COMPLETED --to http://127.0.0.1:8000/webhooks --secret "$S"
      hookwire trigger LEARNER_PROGRESS --to http://127.0.0.1:8000/ --count 5 --seed 7 --json
    """
    if list_names:
        _print_catalogue(as_json)
        return
    if event is None or url is None:
        raise click.UsageError(
            "give an EVENT name and --to URL (hookwire trigger --list names them)"
        )
    if event not in CATALOGUE:
        raise UnknownEventError(
            f"unknown event name {event!r}; `hookwire trigger --list` shows the known names",
            event_name=event,
        )
    auth = build_request_auth(secret=secret, signature_file=signature_file, basic_auth=basic_auth)
    requests = _sample_requests(event, account=account, count=count, seed=seed)
    results: list[SendResult] = []

    def report(result: SendResult) -> None:
        results.append(result)
        if not as_json:
            click.echo(_result_line(result))

    summary = asyncio.run(send_requests(url, requests, auth=auth, concurrency=1, on_result=report))
    if as_json:
        echo_json([_result_json(result) for result in results])
    if summary.failed:
        raise click.exceptions.Exit(1)
