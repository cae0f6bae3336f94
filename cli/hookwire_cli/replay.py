"""``hookwire replay``: re-send recorded requests, re-signed with fresh ids and timestamps.

The input is a recording (``hookwire listen --record``, the Flask listener's
recorder) or an export of envelopes: JSON Lines of envelope objects, a JSON
array of them, or one JSON envelope. :func:`load_requests` turns it into
:class:`~hookwire_cli._sending.OutgoingRequest` objects (bodies kept byte for
byte unless ``--new-ids``); :func:`~hookwire_cli._sending.send_requests` sends
them. Bodies are parsed only when a filter or ``--new-ids`` needs their events.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import click

from hookwire import RecordingError
from hookwire.recording import read_recording

from ._common import (
    TIME,
    URL,
    RequestAuth,
    auth_options,
    build_request_auth,
    echo_json,
    json_option,
)
from ._sending import DEFAULT_HEADERS, OutgoingRequest, SendResult, SendSummary, send_requests

__all__ = ["LoadResult", "ReplayFilter", "load_requests"]

DEFAULT_CONTENT_TYPE: Final = DEFAULT_HEADERS["content-type"]


@dataclass(frozen=True)
class ReplayFilter:
    """Which recorded requests to replay.

    A request is replayed whole when any of its events matches ``event_names``
    and any matches ``ids`` (an eventId, or the request's own webhook-id);
    empty sets match everything. ``since``/``until`` bound the time it was
    received. Requests that failed authentication when recorded are skipped
    unless ``include_rejected``, and only POST requests are replayed.
    """

    event_names: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()
    since: datetime | None = None
    until: datetime | None = None
    include_rejected: bool = False

    @property
    def needs_events(self) -> bool:
        """True when matching must look inside the body."""
        return bool(self.event_names or self.ids)


@dataclass(frozen=True, slots=True)
class _Source:
    """One request read from the input, before filtering."""

    body: bytes
    content_type: str
    method: str = "POST"
    msg_id: str | None = None
    received_at: datetime | None = None
    verified: bool | None = None


@dataclass
class LoadResult:
    """The requests to send, and how many of the input's requests were left out."""

    requests: list[OutgoingRequest] = field(default_factory=list)
    skipped: int = 0


def _envelope_source(value: Any, where: str) -> _Source:
    if not isinstance(value, dict) or "events" not in value:
        raise RecordingError(f"{where} is not an envelope (it has no events)")
    body = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    return _Source(body=body, content_type=DEFAULT_CONTENT_TYPE)


def _first_line(path: Path) -> str:
    with path.open("rb") as handle:
        for raw in handle:
            if raw.strip():
                return raw.decode("utf-8", "replace").strip()
    return ""


def _sources(path: Path) -> Iterator[_Source]:
    """Read the input's requests, whichever of the accepted forms it is in."""
    first = _first_line(path)
    if not first:
        # An empty recording: a listener that received nothing yet.
        return
    try:
        head = json.loads(first) if first else None
    except ValueError:
        head = None
    if isinstance(head, dict) and "version" in head and "body" in head:
        for request in read_recording(path):
            yield _Source(
                body=request.body,
                content_type=request.headers.get("content-type", DEFAULT_CONTENT_TYPE),
                method=request.method,
                msg_id=request.headers.get("webhook-id"),
                received_at=request.received_at,
                verified=request.verified,
            )
    elif isinstance(head, dict) and "events" in head:
        with path.open("rb") as handle:
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except (ValueError, RecursionError):
                    # UnicodeDecodeError is a ValueError too: a bad byte is a bad line.
                    raise RecordingError(f"line {line_no}: not JSON", line=line_no) from None
                yield _envelope_source(value, f"line {line_no}")
    else:
        try:
            whole = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, RecursionError):
            whole = None
        if isinstance(whole, dict) and "events" in whole:
            whole = [whole]
        if not isinstance(whole, list):
            raise RecordingError(
                f"{path} is not a recording, JSON Lines of envelopes, or a JSON envelope"
            )
        for n, value in enumerate(whole, start=1):
            yield _envelope_source(value, f"item {n} of {path}")


def _events(body: bytes) -> list[dict[str, Any]]:
    """The event objects of a body, or none when it is not an envelope."""
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError):
        return []
    events = envelope.get("events") if isinstance(envelope, dict) else None
    return [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []


def _matches(source: _Source, flt: ReplayFilter) -> bool:
    events = _events(source.body)
    if flt.event_names and not any(e.get("eventName") in flt.event_names for e in events):
        return False
    return (
        not flt.ids or source.msg_id in flt.ids or any(e.get("eventId") in flt.ids for e in events)
    )


def _with_new_ids(body: bytes) -> bytes:
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError):
        return body
    events = envelope.get("events") if isinstance(envelope, dict) else None
    if not isinstance(events, list):
        return body
    for event in events:
        if isinstance(event, dict):
            event["eventId"] = str(uuid.uuid4())
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def load_requests(
    path: str | Path, flt: ReplayFilter = ReplayFilter(), *, new_ids: bool = False
) -> LoadResult:
    """Read ``path`` and build the requests to replay, in the input's order.

    Each request keeps its body byte for byte (with ``new_ids``, every event
    gets a fresh eventId instead) and its content type; authentication headers
    are added when it is sent, with a fresh webhook-id. Raises
    :class:`RecordingError` for input that cannot be read.
    """
    result = LoadResult()
    requests = result.requests
    default_headers = DEFAULT_HEADERS
    for source in _sources(Path(path)):
        if source.method != "POST" or (source.verified is False and not flt.include_rejected):
            result.skipped += 1
            continue
        if flt.since is not None or flt.until is not None:
            if source.received_at is None:
                raise RecordingError("--since and --until need a recording (exports have no times)")
            if (flt.since is not None and source.received_at < flt.since) or (
                flt.until is not None and source.received_at > flt.until
            ):
                result.skipped += 1
                continue
        if flt.needs_events and not _matches(source, flt):
            result.skipped += 1
            continue
        body = _with_new_ids(source.body) if new_ids else source.body
        headers = (
            default_headers
            if source.content_type == DEFAULT_CONTENT_TYPE
            else {**default_headers, "content-type": source.content_type}
        )
        requests.append(OutgoingRequest(body=body, headers=headers))
    return result


def _describe(request: OutgoingRequest) -> list[dict[str, Any]]:
    return [
        {"eventName": e.get("eventName"), "eventId": e.get("eventId")}
        for e in _events(request.body)
    ]


def _request_line(n: int, request: OutgoingRequest) -> str:
    events = _describe(request)
    if not events:
        return f"{n:>6}  {'(no events)':<42} {'-':<36}  {len(request.body)} bytes"
    more = f" (+{len(events) - 1} more)" if len(events) > 1 else ""
    name = f"{events[0]['eventName']}{more}"
    return f"{n:>6}  {name:<42} {events[0]['eventId']!s:<36}  {len(request.body)} bytes"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _print_summary(summary: SendSummary, skipped: int, url: str) -> None:
    click.echo(
        f"Replayed {_plural(summary.sent, 'request')} to {url} in {summary.elapsed:.2f} s "
        f"({summary.rate:.0f} requests/s); {skipped} skipped"
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
    loaded = load_requests(recording, flt, new_ids=new_ids)
    if not loaded.requests and not loaded.skipped:
        raise RecordingError(f"{recording} holds no requests; record some with `hookwire listen`")
    if dry_run:
        _dry_run(loaded, url, as_json)
        return
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
        echo_json({"url": url, "dryRun": False, "skipped": loaded.skipped, **summary.to_dict()})
    else:
        _print_summary(summary, loaded.skipped, url)
    if summary.failed:
        raise click.exceptions.Exit(1)


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
                "skipped": loaded.skipped,
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
        f"{loaded.skipped} skipped"
    )
