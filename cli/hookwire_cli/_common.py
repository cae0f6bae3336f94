"""What every ``hookwire`` command shares: error handling, options, JSON output, auth.

Commands build on these so they all behave alike:

- :class:`HookwireGroup` (the class of ``main``) turns any
  :class:`~hookwire.WebhookError` or :class:`OSError` raised by a command into
  ``Error: <one line>`` on stderr with exit status 1, and usage errors into one
  line with exit status 2: never a traceback.
- :func:`secret_option`, :func:`signature_file_option`, :func:`basic_auth_option`
  (or all three with :func:`auth_options`) read ``HOOKWIRE_SECRET``,
  ``HOOKWIRE_SIGNATURE_FILE`` and ``HOOKWIRE_BASIC_AUTH`` when the flag is left
  out; :func:`build_receiver` makes a :class:`~hookwire.Receiver` (checking side)
  and :func:`build_request_auth` a :class:`RequestAuth` (sending side) from them.
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
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, overload
from urllib.parse import urlsplit

import click

from hookwire import USER_AGENT
from hookwire.errors import InvalidSecretError, InvalidTargetError, WebhookError

from ._durations import DURATION_FORMS, parse_duration

# The receiving and signing modules (pydantic, cryptography) load inside the functions
# that use them, so `hookwire --help` and `--version` start without them.
if TYPE_CHECKING:
    from hookwire import Receiver
    from hookwire.signing import Key, Signer

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
            raise click.ClickException(one_line(str(exc))) from exc
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


# --- credentials ------------------------------------------------------------------------


class BasicAuthType(click.ParamType[tuple[str, str]]):
    """``USER:PASSWORD`` as a ``(user, password)`` pair; the value never appears in errors."""

    name = "user:password"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, str]:
        """Split at the first colon; fail (without echoing the value) when there is none."""
        if isinstance(value, tuple):
            return value
        user, sep, password = str(value).partition(":")
        if not sep or not user:
            self.fail("expected USER:PASSWORD (the value is not shown)", param, ctx)
        return user, password


BASIC_AUTH: Final = BasicAuthType()
"""The shared :class:`BasicAuthType` instance."""


def _env_option(flag: str, envvar: str, help_text: str, **kwargs: Any) -> Callable[[F], F]:
    # Every credential flag can come from the environment instead, so it stays out of `ps`.
    return click.option(flag, envvar=envvar, show_envvar=True, help=help_text, **kwargs)


def secret_option(
    help_text: str = "The webhook's whsec_ secret (or a whsk_/whpk_ key).",
) -> Callable[[F], F]:
    """``--secret`` (parameter ``secret``), also read from ``HOOKWIRE_SECRET``."""
    return _env_option("--secret", "HOOKWIRE_SECRET", help_text, metavar="SECRET")


def signature_file_option(
    help_text: str = "A signature file (JSON) holding the webhook's key.",
) -> Callable[[F], F]:
    """``--signature-file`` (``signature_file``), also read from ``HOOKWIRE_SIGNATURE_FILE``."""
    return _env_option("--signature-file", "HOOKWIRE_SIGNATURE_FILE", help_text, metavar="FILE")


def basic_auth_option(
    help_text: str = "Basic auth credentials instead of (or with) a key.",
) -> Callable[[F], F]:
    """``--basic-auth USER:PASSWORD`` (``basic_auth``), also read from ``HOOKWIRE_BASIC_AUTH``."""
    return _env_option("--basic-auth", "HOOKWIRE_BASIC_AUTH", help_text, type=BASIC_AUTH)


def tolerance_option(func: F) -> F:
    """``--tolerance SECONDS`` (parameter ``tolerance``): allowed clock difference, default 300."""
    return click.option(
        "--tolerance",
        type=click.FloatRange(min=0),
        metavar="SECONDS",
        default=300.0,
        show_default=True,
        help="How far webhook-timestamp may be from the clock, in seconds.",
    )(func)


def auth_options(func: F) -> F:
    """Add ``--secret``, ``--signature-file`` and ``--basic-auth`` (each with its env var)."""
    for option in (basic_auth_option(), signature_file_option(), secret_option()):
        func = option(func)
    return func


@overload
def build_receiver(
    *,
    secret: str | None,
    signature_file: str | None,
    basic_auth: tuple[str, str] | None,
    tolerance: float = ...,
    required: Literal[True] = ...,
) -> Receiver: ...


@overload
def build_receiver(
    *,
    secret: str | None,
    signature_file: str | None,
    basic_auth: tuple[str, str] | None,
    tolerance: float = ...,
    required: bool,
) -> Receiver | None: ...


def build_receiver(
    *,
    secret: str | None,
    signature_file: str | None,
    basic_auth: tuple[str, str] | None,
    tolerance: float = 300,
    required: bool = True,
) -> Receiver | None:
    """Make the :class:`~hookwire.Receiver` the options describe.

    With no credentials at all: a usage error when ``required``, else ``None``
    (the caller then checks nothing). Several secrets may be given separated by
    whitespace (during a rotation). Bad secrets and unreadable signature files
    raise :class:`~hookwire.ConfigurationError` subclasses.
    """
    if secret is None and signature_file is None and basic_auth is None:
        if required:
            raise click.UsageError(
                "give --secret, --signature-file or --basic-auth (or set HOOKWIRE_SECRET, "
                "HOOKWIRE_SIGNATURE_FILE or HOOKWIRE_BASIC_AUTH)"
            )
        return None
    from hookwire import Receiver

    # The Flask listener builds its receiver from app config through the same constructor.
    return Receiver.from_settings(
        secret=secret,
        signature_file=signature_file,
        basic_auth=basic_auth,
        tolerance=tolerance,
    )


@dataclass(frozen=True)
class RequestAuth:
    """How the CLI authenticates the requests it sends, as the sender would.

    ``keys`` sign (``webhook-signature`` gets one entry per key);
    ``authorization`` is a ready ``Authorization`` header value. Neither ever
    appears in a repr.
    """

    keys: tuple[Key, ...] = field(default=(), repr=False)
    authorization: str | None = field(default=None, repr=False)
    _signer: Signer | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        from hookwire.signing import Signer

        # Built once: replay signs thousands of requests with the same keys.
        object.__setattr__(self, "_signer", Signer(self.keys) if self.keys else None)

    def __repr__(self) -> str:
        return f"RequestAuth(keys={len(self.keys)}, basic_auth={self.authorization is not None})"

    @property
    def description(self) -> str:
        """What the requests carry, for a start-up line (never the secret itself)."""
        parts = []
        if self.keys:
            parts.append("signed")
        if self.authorization:
            parts.append("basic auth")
        return " + ".join(parts) or "no authentication"

    def headers(
        self, body: bytes, *, msg_id: str | None = None, timestamp: int | None = None
    ) -> dict[str, str]:
        """The authentication headers for one request: ``webhook-*`` and ``authorization``.

        ``webhook-id`` and ``webhook-timestamp`` are always set (a fresh id and
        the current time unless given); ``webhook-signature`` only with keys,
        one entry per key, exactly as :func:`hookwire.sign_headers` makes them.
        """
        if self._signer is not None:
            headers = self._signer.headers(body, msg_id=msg_id, timestamp=timestamp)
        else:
            from hookwire.signing import new_message_id

            headers = {
                "webhook-id": new_message_id() if msg_id is None else msg_id,
                "webhook-timestamp": str(int(time.time()) if timestamp is None else timestamp),
            }
        if self.authorization is not None:
            headers["authorization"] = self.authorization
        return headers


def build_request_auth(
    *,
    secret: str | None,
    signature_file: str | None,
    basic_auth: tuple[str, str] | None,
) -> RequestAuth:
    """Make the :class:`RequestAuth` the options describe (no options: unauthenticated).

    A signature file signs with every secret it lists; an ed25519 one holds
    only the public key and is refused with a message saying what to pass.
    """
    from hookwire.signature_file import SCHEME_ED25519, read_signature_file
    from hookwire.signing import basic_auth_header, parse_key

    secrets: list[str] = []
    if secret is not None:
        secrets.append(secret)
    if signature_file is not None:
        loaded = read_signature_file(signature_file)
        if loaded.scheme == SCHEME_ED25519:
            raise InvalidSecretError(
                "this signature file holds only the public key; sign with --secret whsk_..."
            )
        secrets.extend(loaded.keys)
    authorization = basic_auth_header(*basic_auth) if basic_auth is not None else None
    # Signer refuses a whpk_ public key with a message that says what to pass instead.
    return RequestAuth(keys=tuple(map(parse_key, secrets)), authorization=authorization)


def header_lines(headers: Mapping[str, str]) -> str:
    """Headers as ``name: value`` lines, the form ``hookwire verify --headers`` reads back."""
    return "\n".join(f"{name}: {value}" for name, value in headers.items())
