"""What every ``hookwire`` command shares: error handling, options, JSON output, auth.

The credential options and what they build live in :mod:`hookwire_cli._auth`;
this module re-exports them, so ``from ._common import auth_options`` still works.

Commands build on these so they all behave alike:

- :class:`HookwireGroup` (the class of ``main``) turns any
  :class:`~hookwire.WebhookError` or :class:`OSError` raised by a command into
  ``Error: <one line>`` on stderr with exit status 1 (an error's hint worded for
  the command line, by :func:`~hookwire_cli._hints.cli_message`), and usage
  errors into one line with exit status 2: never a traceback.
- :func:`secret_option`, :func:`signature_file_option`, :func:`basic_auth_option`
  (or all three with :func:`auth_options`) read ``HOOKWIRE_SECRET``,
  ``HOOKWIRE_SIGNATURE_FILE`` and ``HOOKWIRE_BASIC_AUTH`` when the flag is left
  out; :func:`build_receiver` makes a :class:`~hookwire.Receiver` (checking side)
  and :func:`build_request_auth` a :class:`~hookwire.outgoing.RequestAuth` (sending side).
- :data:`URL` validates http(s) URLs, :data:`TIME` reads ISO times or ``15m``-style
  ages, :func:`json_option` and :func:`echo_json` give every command its ``--json``.

Example::

    @click.command()
    @click.option("--to", "url", type=URL, required=True)
    @auth_options
    @json_option
    def ping(url: str, secret: str | None, signature_file: str | None,
             basic_auth: tuple[str, str] | None, as_json: bool) -> None:
        auth = build_request_auth(secret=secret, signature_file=signature_file,
                                  basic_auth=basic_auth)
        ...
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import click

from hookwire import USER_AGENT
from hookwire.errors import InvalidTargetError, WebhookError

# The auth names live in ._auth; they stay importable from here.
from ._auth import (
    BASIC_AUTH,
    BasicAuthType,
    RequestAuth,
    auth_options,
    basic_auth_option,
    build_receiver,
    build_request_auth,
    secret_option,
    signature_file_option,
    tolerance_option,
)
from ._durations import DURATION_FORMS, parse_duration
from ._hints import cli_message

__all__ = [
    "BASIC_AUTH",
    "TIME",
    "URL",
    "USER_AGENT",
    "BasicAuthType",
    "HookwireGroup",
    "InputFile",
    "RequestAuth",
    "TimeType",
    "UrlType",
    "auth_options",
    "basic_auth_option",
    "build_receiver",
    "build_request_auth",
    "check_url",
    "echo_json",
    "header_lines",
    "json_option",
    "one_line",
    "read_stdin",
    "secret_option",
    "signature_file_option",
    "tolerance_option",
]

F = TypeVar("F", bound=Callable[..., Any])


# click >= 8.2 shows a group's help through NoArgsIsHelpError; older versions exit 0 instead.
_HELP_ERRORS: Final[tuple[type[click.UsageError], ...]] = tuple(
    error
    for error in (getattr(click.exceptions, "NoArgsIsHelpError", None),)
    if isinstance(error, type) and issubclass(error, click.UsageError)
)
_ERRNO_PREFIX = re.compile(r"^\[Errno -?\d+\]\s*")


def one_line(text: str) -> str:
    """Collapse whitespace (newlines included) so a message fits on one line."""
    return " ".join(text.split())


def _describe_os_error(exc: OSError) -> str:
    reason = exc.strerror or _ERRNO_PREFIX.sub("", str(exc)) or type(exc).__name__
    if exc.filename is not None:
        return f"{exc.filename}: {reason}"
    return reason


class HookwireGroup(click.Group):
    """A click group whose commands fail with one line on stderr, never a traceback.

    :class:`~hookwire.WebhookError` and :class:`OSError` (a missing file, a port
    in use) become ``Error: ...`` with exit status 1; usage errors keep exit
    status 2 but lose the multi-line usage banner. Nested groups need not use
    this class: errors of their commands pass through the top-level group.
    """

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, translating hookwire and OS errors into click errors."""
        try:
            return super().invoke(ctx)
        except WebhookError as exc:
            raise click.ClickException(one_line(cli_message(exc))) from exc
        except OSError as exc:
            raise click.ClickException(one_line(_describe_os_error(exc))) from exc
        except click.UsageError as exc:
            # A group called without a command shows its help: that text must stay as it is.
            if exc.ctx is None or isinstance(exc, _HELP_ERRORS):
                raise
            hint = f" (see '{exc.ctx.command_path} --help')"
            raise click.UsageError(one_line(exc.format_message()) + hint) from exc


def echo_json(value: Any) -> None:
    """Print ``value`` as indented JSON; datetimes become ISO-8601 UTC strings."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_option(func: F) -> F:
    """Add ``--json`` (the ``as_json`` parameter): print machine-readable JSON instead."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print JSON instead of text, for scripts."
    )(func)


# --- standard input --------------------------------------------------------------------

_STDIN_CLOSED: Final = "standard input is closed; give the input as a file instead"


def _stdin_closed() -> bool:
    # Python sets sys.stdin to None when the process starts without file descriptor 0.
    stdin: object = sys.stdin
    return stdin is None


class InputFile(click.File):
    """:class:`click.File` that fails in one line when ``-`` names a closed standard input."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Open the file; ``-`` with no standard input at all (``<&-``) is a usage error."""
        if value == "-" and _stdin_closed():
            self.fail(_STDIN_CLOSED, param, ctx)
        return super().convert(value, param, ctx)


def read_stdin() -> bytes:
    """All of standard input as bytes; a usage error when it is closed (``<&-``)."""
    if _stdin_closed():
        raise click.UsageError(_STDIN_CLOSED)
    with click.open_file("-", "rb") as source:
        data: bytes = source.read()
    return data


# --- URLs and times --------------------------------------------------------------------


def check_url(value: str) -> str:
    """Return ``value`` if it is an absolute http(s) URL; raise :class:`InvalidTargetError`."""
    try:
        parts = urlsplit(value)
        # .port raises ValueError for a port that is not a number or out of range.
        ok = parts.scheme in {"http", "https"} and bool(parts.hostname) and parts.port != 0
        # urlsplit keeps spaces and control characters; no server or client accepts them.
        ok = ok and not any(ch.isspace() or not ch.isprintable() for ch in value)
    except ValueError:
        ok = False
    if not ok:
        raise InvalidTargetError(
            f"{value!r} is not an absolute http(s) URL; write it like http://127.0.0.1:8000/webhooks"
        )
    return value


class UrlType(click.ParamType[str]):
    """A click type for absolute http(s) URLs; a bad one is a one-line error with exit 1."""

    name = "url"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        """Check the URL (a bad one raises a :class:`click.ClickException`, exit status 1)."""
        try:
            return check_url(str(value))
        except InvalidTargetError as exc:
            where = f"{param.get_error_hint(ctx)}: " if param is not None and ctx else ""
            raise click.ClickException(f"{where}{exc}") from exc


URL: Final = UrlType()
"""The shared :class:`UrlType` instance."""


class TimeType(click.ParamType[datetime]):
    """A point in time: ISO-8601 (``2026-11-28T17:00:00Z``) or an age (``15m``, ``2h``, ``1w``).

    Converts to an aware UTC datetime; a naive ISO time is taken as UTC and an
    age counts back from now.
    """

    name = "time"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        """Parse the value or fail with a usage error naming the accepted forms."""
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            age = parse_duration(text)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if age is not None:
            return datetime.now(UTC) - age
        try:
            moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            self.fail(
                f"{text!r} is not a time; use ISO-8601 (2026-11-28T17:00:00Z) or an age "
                f"({DURATION_FORMS})",
                param,
                ctx,
            )
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


TIME: Final = TimeType()
"""The shared :class:`TimeType` instance."""


def header_lines(headers: Mapping[str, str]) -> str:
    """Headers as ``name: value`` lines, the form ``hookwire verify --headers`` reads back."""
    return "\n".join(f"{name}: {value}" for name, value in headers.items())
