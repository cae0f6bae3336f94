"""Reading what ``hookwire replay`` sends: a recording or an export of envelopes.

The input is a recording (``hookwire listen --record``, the Flask listener's
recorder) or an export of envelopes: JSON Lines of envelope objects, a JSON
array of them, or one JSON envelope; :func:`hookwire.recording.detect_format`
tells which. :func:`load_requests` turns it into
:class:`~hookwire_cli._sending.OutgoingRequest` objects (bodies kept byte for
byte unless ``--new-ids``). Bodies are parsed only when a filter or
``--new-ids`` needs their events.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from hookwire import RecordingError
from hookwire.recording import (
    MAX_LINE_BYTES,
    FileFormat,
    detect_format,
    read_json_lines,
    read_recording,
)

from ._sending import DEFAULT_HEADERS, OutgoingRequest

__all__ = ["SKIP_REASONS", "LoadResult", "ReplayFilter", "body_events", "load_requests"]

DEFAULT_CONTENT_TYPE: Final = DEFAULT_HEADERS["content-type"]
#: The most read of a JSON array (or single envelope) export, which is parsed whole; the
#: line by line forms are held to MAX_LINE_BYTES a line instead, whatever their length.
MAX_DOCUMENT_BYTES: Final = MAX_LINE_BYTES
_NOT_AN_INPUT: Final = (
    "{path} is not a recording, JSON Lines of envelopes, or a JSON envelope{reason}"
)
#: Why a request of the input is not replayed: its key (as ``--json`` gives it) and a
#: phrase that follows its count ("1 not a POST").
SKIP_REASONS: Final = {
    "notPost": "not a POST (only POSTs are webhook deliveries)",
    "rejected": "rejected when recorded (--include-rejected sends them)",
    "outsideTimes": "received outside --since/--until",
    "noMatch": "matching no --event/--id",
}


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
    """The requests to send, and how many of the input's requests were left out, and why."""

    requests: list[OutgoingRequest] = field(default_factory=list)
    #: Requests left out, by reason (a key of :data:`SKIP_REASONS`), in the order first met.
    skipped_by: Counter[str] = field(default_factory=Counter)

    @property
    def skipped(self) -> int:
        """How many of the input's requests were left out."""
        return sum(self.skipped_by.values())

    def skipped_text(self) -> str:
        """``2 skipped: 1 not a POST (...), 1 rejected when recorded (...)``, or ``0 skipped``."""
        if not self.skipped:
            return "0 skipped"
        reasons = ", ".join(f"{n} {SKIP_REASONS[key]}" for key, n in self.skipped_by.items())
        return f"{self.skipped} skipped: {reasons}"


def _envelope_source(value: Any, where: str) -> _Source:
    if not isinstance(value, dict) or "events" not in value:
        raise RecordingError(f"{where} is not an envelope (it has no events)")
    body = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    return _Source(body=body, content_type=DEFAULT_CONTENT_TYPE)


def _sources(path: Path) -> Iterator[_Source]:
    """Read the input's requests, whichever of the accepted forms it is in."""
    found = detect_format(path)
    if found is FileFormat.RECORDING:
        yield from _recorded_sources(path)
    elif found is FileFormat.ENVELOPE_LINES:
        for line_no, value in read_json_lines(path):
            yield _envelope_source(value, f"line {line_no}")
    elif found is FileFormat.DOCUMENT:
        yield from _document_sources(path)
    # FileFormat.EMPTY: a recording of a listener that received nothing yet.


def _recorded_sources(path: Path) -> Iterator[_Source]:
    for request in read_recording(path):
        yield _Source(
            body=request.body,
            content_type=request.headers.get("content-type", DEFAULT_CONTENT_TYPE),
            method=request.method,
            msg_id=request.headers.get("webhook-id"),
            received_at=request.received_at,
            verified=request.verified,
        )


def _document_sources(path: Path) -> Iterator[_Source]:
    """The envelopes of a JSON array, or of one envelope, read whole (up to a limit)."""
    whole = _read_document(path)
    if isinstance(whole, dict) and "events" in whole:
        whole = [whole]
    if not isinstance(whole, list):
        raise RecordingError(_NOT_AN_INPUT.format(path=path, reason=""))
    for n, value in enumerate(whole, start=1):
        yield _envelope_source(value, f"item {n} of {path}")


def _read_document(path: Path) -> Any:
    """The whole file as one JSON value; over MAX_DOCUMENT_BYTES or not JSON raises."""
    with path.open("rb") as handle:
        data = handle.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise RecordingError(
            f"{path} is over {MAX_DOCUMENT_BYTES // 2**20} MiB, the most read as one JSON "
            "document; give a large export as JSON Lines, one envelope a line"
        )
    line: int | None = None
    try:
        return json.loads(data.decode("utf-8"))
    except json.JSONDecodeError as exc:
        line, reason = exc.lineno, f" (line {exc.lineno}: {exc.msg})"
    except UnicodeDecodeError:
        reason = " (not UTF-8)"
    except RecursionError:
        reason = " (nested too deeply to read as JSON)"
    raise RecordingError(_NOT_AN_INPUT.format(path=path, reason=reason), line=line)


def body_events(body: bytes) -> list[dict[str, Any]]:
    """The event objects of a body, or none when it is not an envelope."""
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError):
        return []
    events = envelope.get("events") if isinstance(envelope, dict) else None
    return [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []


def _skip_reason(source: _Source, flt: ReplayFilter) -> str | None:
    """Why ``source`` is not replayed (a key of :data:`SKIP_REASONS`), or None to replay it."""
    if source.method != "POST":
        return "notPost"
    if source.verified is False and not flt.include_rejected:
        return "rejected"
    if flt.since is not None or flt.until is not None:
        if source.received_at is None:
            raise RecordingError("--since and --until need a recording (exports have no times)")
        if (flt.since is not None and source.received_at < flt.since) or (
            flt.until is not None and source.received_at > flt.until
        ):
            return "outsideTimes"
    if flt.needs_events and not _matches(source, flt):
        return "noMatch"
    return None


def _matches(source: _Source, flt: ReplayFilter) -> bool:
    events = body_events(source.body)
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
    are added when it is sent, with a fresh webhook-id. Requests left out are
    counted by reason. Raises :class:`RecordingError` for input that cannot be
    read.
    """
    result = LoadResult()
    requests = result.requests
    default_headers = DEFAULT_HEADERS
    for source in _sources(Path(path)):
        reason = _skip_reason(source, flt)
        if reason is not None:
            result.skipped_by[reason] += 1
            continue
        body = _with_new_ids(source.body) if new_ids else source.body
        headers = (
            default_headers
            if source.content_type == DEFAULT_CONTENT_TYPE
            else {**default_headers, "content-type": source.content_type}
        )
        requests.append(OutgoingRequest(body=body, headers=headers))
    return result
