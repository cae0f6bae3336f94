"""JSON Lines files read a line at a time, with a limit on a line's size.

The readers of recordings (``hookwire replay``, ``hookwire verify``) go through
these, so their memory stays bounded whatever a file holds: a line is read in
chunks, and one longer than the limit is skipped to its end without being held
whole. Errors are :class:`~hookwire.errors.RecordingError` naming the line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator, Iterator
from enum import StrEnum
from typing import Any, BinaryIO, Final

from .errors import RecordingError

__all__ = [
    "MAX_LINE_BYTES",
    "FileFormat",
    "decode_line",
    "detect_format",
    "line_prefix",
    "lines",
    "open_for_reading",
    "parse_line",
    "read_json_lines",
    "read_lines",
    "skip_line",
    "too_long",
]

#: The longest line the readers take, in bytes besides its newline: 32 MiB. A request
#: with the listener's default 1 MiB body makes a line of at most about 6 MiB (JSON
#: writes a control byte as a six-character escape); the rest is room for larger bodies.
MAX_LINE_BYTES: Final = 32 * 2**20
#: How much of a line is read at a time; a line over the limit is skipped this way.
_CHUNK_BYTES: Final = 64 * 2**10


def line_prefix(line_no: int | None) -> str:
    return f"line {line_no}: " if line_no is not None else ""


def parse_line(text: str, line_no: int | None) -> Any:
    """Parse one line of JSON; malformed or too deeply nested raises :class:`RecordingError`."""
    where = line_prefix(line_no)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise RecordingError(f"{where}not JSON ({exc.args[0]})", line=line_no) from None
    except RecursionError:
        raise RecordingError(f"{where}nested too deeply to read as JSON", line=line_no) from None


# --- reading --------------------------------------------------------------------------


def open_for_reading(path: str | os.PathLike[str]) -> BinaryIO:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise RecordingError(f"cannot open recording {os.fspath(path)}: {exc.strerror}") from None


def skip_line(handle: BinaryIO) -> bool:
    """Read past the rest of the current line, a chunk at a time; False at the end of the file."""
    found = False
    while chunk := handle.readline(_CHUNK_BYTES):
        found = True
        if chunk.endswith(b"\n"):
            break
    return found


def _finish_line(handle: BinaryIO, start: bytes, limit: int) -> bytes | None:
    """Read the rest of a line begun with ``start``; past ``limit``, skip the rest: None."""
    line = bytearray(start)
    while len(line) <= limit:
        chunk = handle.readline(_CHUNK_BYTES)
        line += chunk
        if not chunk or chunk.endswith(b"\n"):
            return bytes(line)
    line.clear()  # let go of it before skipping the rest
    skip_line(handle)
    return None


def lines(handle: BinaryIO, limit: int) -> Iterator[bytes | None]:
    """Every line of ``handle`` in order; None stands for a line of more than ``limit`` bytes.

    A line is read in chunks, so no more than about ``limit`` bytes of one are ever held,
    whatever the file holds.
    """
    while chunk := handle.readline(_CHUNK_BYTES):
        line = chunk if chunk.endswith(b"\n") else _finish_line(handle, chunk, limit)
        if line is not None and len(line) - line.endswith(b"\n") > limit:
            line = None
        yield line


def too_long(line_no: int, limit: int) -> RecordingError:
    size = f"{limit // 2**20} MiB" if limit % 2**20 == 0 else f"{limit} bytes"
    return RecordingError(
        f"line {line_no}: longer than {size}, the most a line may hold", line=line_no
    )


def decode_line(raw: bytes, line_no: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RecordingError(f"line {line_no}: not UTF-8", line=line_no) from None


def read_lines(
    path: str | os.PathLike[str], *, max_line_bytes: int = MAX_LINE_BYTES
) -> Generator[tuple[int, bytes], None, None]:
    """Stream the non-blank lines of a file as ``(line number, bytes)``, numbered from 1.

    Raises :class:`RecordingError` if the file cannot be opened, or, with ``line``
    set, on reaching a line longer than ``max_line_bytes`` (its newline aside); that
    line is never held whole in memory.
    """
    with open_for_reading(path) as handle:
        for line_no, line in enumerate(lines(handle, max_line_bytes), start=1):
            if line is None:
                raise too_long(line_no, max_line_bytes)
            if not line.isspace():
                yield line_no, line


def read_json_lines(
    path: str | os.PathLike[str], *, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, Any]]:
    """Stream the non-blank lines of a JSON Lines file, parsed: ``(line number, value)``.

    As :func:`read_lines`; a line that is not UTF-8, not JSON, or nested too
    deeply raises :class:`RecordingError` naming it.
    """
    for line_no, raw in read_lines(path, max_line_bytes=max_line_bytes):
        yield line_no, parse_line(decode_line(raw, line_no), line_no)


# --- telling the forms apart -------------------------------------------------------------


class FileFormat(StrEnum):
    """What a file of webhook requests holds, as :func:`detect_format` judges it."""

    EMPTY = "empty"
    """No line but blank ones (a listener that received nothing yet)."""
    RECORDING = "recording"
    """A recording: its first line is a recorded request (it has ``version`` and ``body``)."""
    ENVELOPE_LINES = "envelope-lines"
    """JSON Lines of envelopes: its first line is an object with ``events``."""
    DOCUMENT = "document"
    """Anything else, to be read whole: a JSON array of envelopes, or one envelope."""


def detect_format(
    path: str | os.PathLike[str], *, max_line_bytes: int = MAX_LINE_BYTES
) -> FileFormat:
    """Tell which form a file of requests is in, from its first non-blank line only.

    A first line that is not JSON (or not UTF-8) makes it a :attr:`~FileFormat.DOCUMENT`,
    whose reader then says what is wrong with the whole. Raises
    :class:`RecordingError` if the file cannot be opened, or (with ``line`` set)
    when the first line is longer than ``max_line_bytes`` or nested too deeply to
    read as JSON: read as part of one document, it would be nested as deeply.
    """
    found = read_lines(path, max_line_bytes=max_line_bytes)
    try:
        first = next(found, None)
    finally:
        found.close()
    if first is None:
        return FileFormat.EMPTY
    line_no, raw = first
    try:
        head = json.loads(raw.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError is a ValueError too
        return FileFormat.DOCUMENT
    except RecursionError:
        raise RecordingError(
            f"line {line_no}: nested too deeply to read as JSON", line=line_no
        ) from None
    if isinstance(head, dict) and "version" in head and "body" in head:
        return FileFormat.RECORDING
    if isinstance(head, dict) and "events" in head:
        return FileFormat.ENVELOPE_LINES
    return FileFormat.DOCUMENT
