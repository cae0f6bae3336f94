"""Recordings: received webhook requests, one JSON object a line, appended to a file.

This one format is written by ``hookwire listen`` and by the Flask listener's
recorder, and read by ``hookwire replay`` and ``hookwire verify`` through the
readers here (:func:`detect_format` tells a recording from an export of
envelopes), which take a file a line at a time and at most
:data:`MAX_LINE_BYTES` of a line, so their memory stays bounded whatever the
file holds. Each line is::

    {"version": 1, "receivedAt": "2026-11-28T17:00:00.123456Z", "method": "POST",
     "path": "/webhooks", "query": "", "headers": {"content-type": "application/json", ...},
     "body": "<raw body as text>", "bodyEncoding": "utf-8", "verified": true,
     "error": null, "status": 202}

Header names are lower-cased and the values of ``authorization``, ``cookie`` and
``proxy-authorization`` are replaced by ``"<redacted>"``. ``body`` holds the
exact raw bytes as UTF-8 text, or their base64 with ``bodyEncoding: "base64"``
when they are not valid UTF-8.

Example::

    with Recorder("requests.jsonl") as recorder:
        recorder.record(RecordedRequest.from_request(
            method="POST", path="/webhooks", query="", headers=headers, body=body,
            received_at=datetime.now(UTC), verified=True, status=202))
    for request in read_recording("requests.jsonl"):
        print(request.headers["webhook-id"], len(request.body))
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final

from ._lines import (
    MAX_LINE_BYTES,
    FileFormat,
    decode_line,
    detect_format,
    line_prefix,
    lines,
    open_for_reading,
    parse_line,
    read_json_lines,
    read_lines,
    skip_line,
    too_long,
)
from .errors import ConfigurationError, RecordingError
from .files import open_private

__all__ = [
    "MAX_LINE_BYTES",
    "REDACTED",
    "REDACTED_HEADERS",
    "FileFormat",
    "RecordedRequest",
    "Recorder",
    "detect_format",
    "read_json_lines",
    "read_lines",
    "read_recording",
    "read_recording_line",
]

#: The format version written in every line.
VERSION = 1
#: What replaces the value of a redacted header.
REDACTED = "<redacted>"
#: Headers whose values are never written to a recording.
REDACTED_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
#: What HTTP forbids in a header value (RFC 9110 section 5.5): C0 controls but tab, and DEL.
_BAD_VALUE_CHARS: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
#: What a header name may not hold: every C0 control, tab included, and DEL.
_BAD_NAME_CHARS: Final = re.compile(r"[\x00-\x1f\x7f]")


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    if moment.tzinfo is None:
        raise ValueError("receivedAt has no time zone")
    return moment.astimezone(UTC)


def _optional(record: Mapping[str, Any], key: str, kind: type) -> Any:
    value = record.get(key)
    # bool is an int subclass: a status of true must not pass as an int.
    if value is not None and (
        not isinstance(value, kind) or (kind is int and isinstance(value, bool))
    ):
        raise ValueError(f"{key} must be {kind.__name__} or null")
    return value


def _shown(name: str) -> str:
    """A header name fit for a one-line message: quoted, escaped, and cut short."""
    return repr(name[:40] + "..." if len(name) > 40 else name)


def _headers_of(value: Any) -> dict[str, str]:
    """The recorded headers, names lower-cased; refuses control characters in any of them.

    A CR, LF or NUL in a header would be an injected header line once sent, so such
    a request is refused here, for every reader. Errors name the header, never its value.
    """
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError("headers must be an object of strings")
    # One search over all names and one over all values; only a hit looks header by header.
    if _BAD_NAME_CHARS.search("".join(value)) or _BAD_VALUE_CHARS.search("".join(value.values())):
        raise ValueError(_bad_header(value))
    return {k.lower(): v for k, v in value.items()}


def _bad_header(headers: Mapping[str, str]) -> str:
    """Say which header holds a control character, by name only."""
    for name, text in headers.items():
        if _BAD_NAME_CHARS.search(name):
            return f"header name {_shown(name)} holds a control character"
        if _BAD_VALUE_CHARS.search(text):
            return (
                f"header {_shown(name)} holds a control character (such as CR, LF or NUL) "
                "in its value (not shown)"
            )
    return "a header holds a control character"


def _body_of(record: Mapping[str, Any]) -> bytes:
    """The exact body bytes of a parsed line, from UTF-8 text or base64."""
    text = record["body"]
    if not isinstance(text, str):
        raise ValueError("body must be a string")
    encoding = record.get("bodyEncoding", "utf-8")
    if encoding == "utf-8":
        return text.encode("utf-8")
    if encoding == "base64":
        return base64.b64decode(text, validate=True)
    raise ValueError(f"unknown bodyEncoding {encoding!r}")


@dataclass(frozen=True)
class RecordedRequest:
    """One received request, as kept in a recording.

    ``headers`` are already lower-cased and redacted; ``body`` is the exact raw
    bytes; ``verified`` is None when the request was not checked; ``status`` is
    the answer's status code, when one was given.
    """

    received_at: datetime
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    verified: bool | None
    error: str | None
    status: int | None

    def to_json_line(self) -> str:
        """The request as one line of JSON, without the trailing newline."""
        try:
            body, encoding = self.body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            body, encoding = base64.b64encode(self.body).decode("ascii"), "base64"
        return json.dumps(
            {
                "version": VERSION,
                "receivedAt": _format_time(self.received_at),
                "method": self.method,
                "path": self.path,
                "query": self.query,
                "headers": self.headers,
                "body": body,
                "bodyEncoding": encoding,
                "verified": self.verified,
                "error": self.error,
                "status": self.status,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json_line(cls, line: str, *, line_no: int | None = None) -> RecordedRequest:
        """Read one recording line; a bad one raises :class:`RecordingError` naming ``line_no``."""
        return cls._from_value(parse_line(line, line_no), line_no)

    @classmethod
    def _from_value(cls, record: Any, line_no: int | None) -> RecordedRequest:
        """Build a request from one parsed line, checking every field."""
        where = line_prefix(line_no)
        if not isinstance(record, dict):
            raise RecordingError(f"{where}not a JSON object", line=line_no)
        try:
            if record.get("version") != VERSION:
                raise ValueError(f"unsupported version {record.get('version')!r}")
            headers = _headers_of(record["headers"])
            for key in ("method", "path", "query", "receivedAt"):
                if not isinstance(record.get(key, ""), str):
                    raise ValueError(f"{key} must be a string")
            return cls(
                received_at=_parse_time(record["receivedAt"]),
                method=record["method"],
                path=record["path"],
                query=record.get("query", ""),
                headers=headers,
                body=_body_of(record),
                verified=_optional(record, "verified", bool),
                error=_optional(record, "error", str),
                status=_optional(record, "status", int),
            )
        except KeyError as exc:
            raise RecordingError(f"{where}missing field {exc.args[0]}", line=line_no) from None
        except (ValueError, binascii.Error) as exc:
            raise RecordingError(f"{where}{exc}", line=line_no) from None

    @classmethod
    def from_request(
        cls,
        *,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
        received_at: datetime,
        verified: bool | None = None,
        error: str | None = None,
        status: int | None = None,
    ) -> RecordedRequest:
        """Build a record from a live request: header names lower-cased, credentials redacted."""
        kept: dict[str, str] = {}
        for name, value in headers.items():
            lower = name.lower()
            kept[lower] = REDACTED if lower in REDACTED_HEADERS else value
        if received_at.tzinfo is None:
            raise ConfigurationError("received_at must be a time-zone-aware datetime")
        return cls(
            received_at=received_at.astimezone(UTC),
            method=method.upper(),
            path=path,
            query=query,
            headers=kept,
            body=bytes(body),
            verified=verified,
            error=None if error is None else " ".join(error.split()),
            status=status,
        )


class Recorder:
    """Appends :class:`RecordedRequest` lines to a file, rotating it by size.

    Each record is one ``os.write`` of the whole line to a file opened with
    ``O_APPEND``, so several processes (gunicorn workers) can share one file
    without interleaving lines. When the file is over ``max_bytes`` it is
    renamed to ``path.1`` (``path.1`` to ``path.2``, and so on up to
    ``path.<backups>``, the oldest dropped) and a new file is started.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, max_bytes: int = 100 * 2**20, backups: int = 5
    ) -> None:
        if max_bytes <= 0:
            raise ConfigurationError("max_bytes must be positive")
        if backups < 0:
            raise ConfigurationError("backups must be zero or more")
        self.path = os.fspath(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self._lock = threading.Lock()
        self._fd: int | None = None

    def __repr__(self) -> str:
        return f"Recorder({self.path!r}, max_bytes={self.max_bytes}, backups={self.backups})"

    def _open(self) -> int:
        try:
            return open_private(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        except OSError as exc:
            raise RecordingError(f"cannot open {self.path} for recording: {exc.strerror}") from None

    def _rotate(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        try:
            if self.backups == 0:
                os.unlink(self.path)
            else:
                for n in range(self.backups - 1, 0, -1):
                    older = f"{self.path}.{n}"
                    if os.path.exists(older):
                        os.replace(older, f"{self.path}.{n + 1}")
                os.replace(self.path, f"{self.path}.1")
        except FileNotFoundError:
            # Another process sharing the file rotated it first.
            pass

    def record(self, request: RecordedRequest) -> None:
        """Append one request as one line; thread-safe and safe across processes."""
        # A lone surrogate (from a str built by the caller) is written as its JSON
        # escape, so the line stays valid UTF-8 and reads back to the same text.
        data = (request.to_json_line() + "\n").encode("utf-8", "backslashreplace")
        with self._lock:
            if self._fd is None:
                self._fd = self._open()
            else:
                # Another process may have rotated the file away from our descriptor.
                try:
                    same = os.path.samestat(os.fstat(self._fd), os.stat(self.path))
                except FileNotFoundError:
                    same = False
                if not same:
                    os.close(self._fd)
                    self._fd = self._open()
            if os.fstat(self._fd).st_size >= self.max_bytes:
                self._rotate()
                self._fd = self._open()
            os.write(self._fd, data)

    def close(self) -> None:
        """Close the file; a later :meth:`record` opens it again."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --- reading ---------------------------------------------------------------------------


def read_recording(
    path: str | os.PathLike[str], *, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[RecordedRequest]:
    """Stream the requests of a recording file; blank lines are skipped.

    Raises :class:`RecordingError` if the file cannot be opened, or with
    ``line`` set on the first line that cannot be read (longer than
    ``max_line_bytes``, not JSON, not a recorded request, or holding a header
    with a control character).
    """
    for line_no, value in read_json_lines(path, max_line_bytes=max_line_bytes):
        yield RecordedRequest._from_value(value, line_no)


def read_recording_line(
    path: str | os.PathLike[str], line: int, *, max_line_bytes: int = MAX_LINE_BYTES
) -> RecordedRequest:
    """Read line ``line`` (1-based) of a recording; the lines before it are skipped unread.

    Raises :class:`RecordingError` with ``line`` set when that line is past the
    end, blank, longer than ``max_line_bytes``, or not a recorded request.
    """
    if line < 1:
        raise RecordingError(f"line {line}: lines are numbered from 1", line=line)
    with open_for_reading(path) as handle:
        for _ in range(line - 1):
            if not skip_line(handle):
                raise RecordingError(f"{os.fspath(path)} has fewer than {line} lines", line=line)
        # b"" is the end of the file: a line, even a last one with no newline, has a byte.
        raw = next(lines(handle, max_line_bytes), b"")
    if raw is None:
        raise too_long(line, max_line_bytes)
    if not raw:
        raise RecordingError(f"{os.fspath(path)} has fewer than {line} lines", line=line)
    if raw.isspace():
        raise RecordingError(f"line {line} of {os.fspath(path)} is blank", line=line)
    return RecordedRequest.from_json_line(decode_line(raw, line), line_no=line)
