"""``hookwire replay``: re-send recorded requests, re-signed with fresh ids and timestamps.

The input is a recording or an export of envelopes, which
:func:`~hookwire_cli._replay_load.load_requests` reads;
:func:`~hookwire_cli._sending.send_requests` sends what it returns.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

from hookwire import RecordingError

from ._auth import RequestAuth, auth_options, build_request_auth
from ._common import TIME, URL, echo_json, json_option
from ._replay_load import LoadResult, ReplayFilter, body_events, load_requests
from ._sending import OutgoingRequest, SendResult, SendSummary, send_requests

__all__ = ["LoadResult", "ReplayFilter", "load_requests", "replay"]


def _describe(request: OutgoingRequest) -> list[dict[str, Any]]:
    return [
        {"eventName": e.get("eventName"), "eventId": e.get("eventId")}
        for e in body_events(request.body)
    ]


def _request_line(n: int, request: OutgoingRequest) -> str:
    events = _describe(request)
    if not events:
        return f"{n:>6}  {'(no events)':<42} {'-':<36}  {len(request.body)} bytes"
    more = f" (+{len(events) - 1} more)" if len(events) > 1 else ""
    name = f"{events[0]['eventName']}{more}"
    return f"{n:>6}  {name:<42} {events[0]['eventId']!s:<36}  {len(request.body)} bytes"


def _skipped_fields(loaded: LoadResult) -> dict[str, Any]:
    """``skipped`` (how many) and ``skippedBy`` (how many for each reason) for ``--json``."""
    return {"skipped": loaded.skipped, "skippedBy": dict(loaded.skipped_by)}


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _print_summary(summary: SendSummary, loaded: LoadResult, url: str) -> None:
    click.echo(
        f"Replayed {_plural(summary.sent, 'request')} to {url} in {summary.elapsed:.2f} s "
        f"({summary.rate:.0f} requests/s); {loaded.skipped_text()}"
    )
    rows: list[tuple[str, int]] = [("sent", summary.sent), ("2xx", summary.ok)]
    rows += [
        (f"status {status}", n)
        for status, n in sorted(summary.statuses.items())
        if not 200 <= status < 300
    ]
    rows.append(("failures", summary.failures))
    width = max(len(label) for label, _ in rows)
    for label, n in rows:
        click.echo(f"  {label:<{width}}  {n:>7}")
    for error, n in summary.errors.most_common(5):
        click.echo(f"    {n} x {error}")


@click.command(short_help="Re-send recorded requests, re-signed, to a URL.")
@click.argument("recording", type=click.Path(exists=True, dir_okay=False))
@click.option("--to", "url", type=URL, required=True, help="Where to send the requests.")
@auth_options
@click.option("--event", "event_names", multiple=True, metavar="NAME", help="Only these events.")
@click.option("--since", type=TIME, help="Only requests received at or after this time.")
@click.option("--until", type=TIME, help="Only requests received at or before this time.")
@click.option(
    "--id", "ids", multiple=True, metavar="ID", help="Only these eventIds (or webhook-ids)."
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    metavar="PER_SECOND",
    help="At most this many requests a second.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    metavar="N",
    default=8,
    show_default=True,
    help="Requests in flight at once (1 keeps the recorded order).",
)
@click.option("--new-ids", is_flag=True, help="Give every event a fresh eventId.")
@click.option("--include-rejected", is_flag=True, help="Also replay requests recorded as 401.")
@click.option("--dry-run", is_flag=True, help="List what would be sent; send nothing.")
@click.option("-v", "--verbose", is_flag=True, help="Print one line per request.")
@json_option
def replay(
    *,
    recording: str,
    url: str,
    secret: str | None,
    signature_file: str | None,
    basic_auth: tuple[str, str] | None,
    event_names: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
    ids: tuple[str, ...],
    rate: float | None,
    concurrency: int,
    new_ids: bool,
    include_rejected: bool,
    dry_run: bool,
    verbose: bool,
    as_json: bool,
) -> None:
    """Re-send the requests of RECORDING to a URL, re-signed with fresh ids and timestamps.

    RECORDING is a file written by `hookwire listen --record` or the Flask
    listener, or an export of envelopes (JSON Lines, a JSON array, or one
    envelope). A request is replayed whole when any of its events matches the
    filters. Shows a progress bar on a terminal and a summary at the end;
    exits 1 if any request failed or got an answer other than 2xx.

    \b
    Examples:
      hookwire replay requests.jsonl --to http://127.0.0.1:5000/webhooks --secret "$S"
      hookwire replay requests.jsonl --to http://127.0.0.1:5000/ --signature-file sig.json \\
          --event COURSE_COMPLETED --since 2h --new-ids
      hookwire replay requests.jsonl --to http://127.0.0.1:5000/ --dry-run --json
    """
    flt = ReplayFilter(
        event_names=frozenset(event_names),
        ids=frozenset(ids),
        since=since,
        until=until,
        include_rejected=include_rejected,
    )
    auth = build_request_auth(secret=secret, signature_file=signature_file, basic_auth=basic_auth)
    loaded = _load(recording, flt, new_ids=new_ids)
    if dry_run:
        _dry_run(loaded, url, as_json)
        return
    summary = _replay_all(
        loaded, url, auth, concurrency=concurrency, rate=rate, verbose=verbose, as_json=as_json
    )
    if summary.failed:
        raise click.exceptions.Exit(1)


def _load(recording: str, flt: ReplayFilter, *, new_ids: bool) -> LoadResult:
    """The requests of ``recording`` that pass ``flt``; a recording of none is an error."""
    loaded = load_requests(recording, flt, new_ids=new_ids)
    if not loaded.requests and not loaded.skipped:
        raise RecordingError(f"{recording} holds no requests; record some with `hookwire listen`")
    return loaded


def _replay_all(
    loaded: LoadResult,
    url: str,
    auth: RequestAuth,
    *,
    concurrency: int,
    rate: float | None,
    verbose: bool,
    as_json: bool,
) -> SendSummary:
    """Send the loaded requests to ``url`` and print how it went (text or JSON)."""
    if not as_json:
        click.echo(
            f"Replaying {_plural(len(loaded.requests), 'request')} to {url} "
            f"({auth.description}, concurrency {concurrency})"
        )
    summary = _send(
        loaded.requests,
        url,
        auth,
        concurrency,
        rate,
        verbose=verbose and not as_json,
        progress=not as_json and not verbose and sys.stderr.isatty(),
    )
    if as_json:
        echo_json({"url": url, "dryRun": False, **_skipped_fields(loaded), **summary.to_dict()})
    else:
        _print_summary(summary, loaded, url)
    return summary


def _send(
    requests: list[OutgoingRequest],
    url: str,
    auth: RequestAuth,
    concurrency: int,
    rate: float | None,
    *,
    verbose: bool,
    progress: bool,
) -> SendSummary:
    def run(on_result: Callable[[SendResult], None] | None) -> SendSummary:
        return asyncio.run(
            send_requests(
                url, requests, auth=auth, concurrency=concurrency, rate=rate, on_result=on_result
            )
        )

    if progress:
        with click.progressbar(length=len(requests), label="Replaying", file=sys.stderr) as bar:
            return run(lambda _: bar.update(1))
    counter = iter(range(1, len(requests) + 1))

    def report(result: SendResult) -> None:
        status = result.status if result.status is not None else "error"
        line = f"{status!s:<5} {_request_line(next(counter), result.request)}  {result.msg_id}"
        click.echo(f"{line}  {result.error}" if result.error else line)

    return run(report if verbose else None)


def _dry_run(loaded: LoadResult, url: str, as_json: bool) -> None:
    if as_json:
        echo_json(
            {
                "url": url,
                "dryRun": True,
                "count": len(loaded.requests),
                **_skipped_fields(loaded),
                "requests": [
                    {"events": _describe(r), "bytes": len(r.body)} for r in loaded.requests
                ],
            }
        )
        return
    for n, request in enumerate(loaded.requests, start=1):
        click.echo(_request_line(n, request))
    click.echo(
        f"Dry run: would send {_plural(len(loaded.requests), 'request')} to {url}; "
        f"{loaded.skipped_text()}"
    )
