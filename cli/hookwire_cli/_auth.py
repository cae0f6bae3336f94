"""The credential options of ``hookwire`` commands and what they build.

:func:`secret_option`, :func:`signature_file_option`, :func:`basic_auth_option`
(or all three with :func:`auth_options`) read ``HOOKWIRE_SECRET``,
``HOOKWIRE_SIGNATURE_FILE`` and ``HOOKWIRE_BASIC_AUTH`` when the flag is left
out; :func:`build_receiver` makes a :class:`~hookwire.Receiver` (checking side)
and :func:`build_request_auth` a :class:`~hookwire.outgoing.RequestAuth` (sending
side, the library's one builder of outgoing headers, as the sender's) from them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, overload

import click

from hookwire.errors import InvalidSecretError
from hookwire.outgoing import RequestAuth

# The receiving and signing modules (pydantic, cryptography) load inside the functions
# that use them, so `hookwire --help` and `--version` start without them.
if TYPE_CHECKING:
    from hookwire import Receiver

__all__ = [
    "BASIC_AUTH",
    "BasicAuthType",
    "RequestAuth",
    "auth_options",
    "basic_auth_option",
    "build_receiver",
    "build_request_auth",
    "secret_option",
    "signature_file_option",
    "tolerance_option",
]

F = TypeVar("F", bound=Callable[..., Any])


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
    # A whpk_ public key is refused with a message that says what to pass instead.
    return RequestAuth.build(secrets=secrets, basic_auth=basic_auth)
