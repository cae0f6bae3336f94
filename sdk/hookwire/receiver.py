"""Receiver: raw body and headers in, a verified :class:`~hookwire.events.Envelope` out.

Example::

    receiver = Receiver(secret="whsec_...")
    try:
        envelope = receiver.verify(request_body, request_headers)
    except VerificationError:
        return 401
    except PayloadError:
        return 400

Headers are matched case-insensitively, and ``svix-id``, ``svix-timestamp`` and
``svix-signature`` are accepted in place of the ``webhook-*`` headers. Whatever
the input, only :class:`~hookwire.errors.WebhookError` subclasses escape, and
the body is not parsed before authentication has passed.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from pydantic import ValidationError

from ._payload_errors import payload_error
from .errors import ConfigurationError, HeaderError, PayloadError
from .events import Envelope
from .signature_file import SignatureFile, read_signature_file
from .signing import Key, Verifier, check_basic_auth

__all__ = ["HeaderMapping", "Receiver", "parse_unverified"]

# The envelope's validator, called without model_validate_json's Python wrapper.
_validate_envelope: Callable[[bytes], Envelope] = Envelope.__pydantic_validator__.validate_json


class HeaderMapping(Protocol):
    """Where :class:`Receiver` reads headers: a dict, werkzeug ``Headers``, a ``CIMultiDict``."""

    def get(self, key: str, /) -> Any:
        """Return the value of one header, or None."""

    def items(self) -> Iterable[tuple[Any, Any]]:
        """Return every (name, value) pair."""


_WEBHOOK_NAMES = ("webhook-id", "webhook-timestamp", "webhook-signature")
# Slot of each accepted name in the scan below: webhook-* first, their svix-* aliases after.
_SLOTS: dict[str, int] = {
    name: slot
    for slot, name in enumerate(
        (*_WEBHOOK_NAMES, "svix-id", "svix-timestamp", "svix-signature", "authorization")
    )
}


def _text(value: Any, name: str) -> str:
    if value is None:
        raise HeaderError(f"the {name} header is missing", header=name)
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str):
        raise HeaderError(f"the {name} header is not text", header=name)
    return value


def _scan(headers: HeaderMapping) -> list[Any]:
    """Collect the accepted headers in one pass over any spelling of their names."""
    found: list[Any] = [None] * len(_SLOTS)
    for key, value in headers.items():
        if isinstance(key, str):
            slot = _SLOTS.get(key.lower())
            if slot is not None and found[slot] is None:
                found[slot] = value
    return found


def _webhook_headers(headers: HeaderMapping) -> tuple[str, str, str]:
    """Return ``webhook-id``, ``-timestamp`` and ``-signature`` (or their ``svix-*`` aliases)."""
    get = headers.get
    msg_id = get("webhook-id")
    timestamp = get("webhook-timestamp")
    signature = get("webhook-signature")
    # Fast path: lower-case names (or a case-insensitive mapping) holding str values.
    if type(msg_id) is str and type(timestamp) is str and type(signature) is str:
        return msg_id, timestamp, signature
    # Second fast path: the title case that dict(request.headers) gives in WSGI servers.
    msg_id = get("Webhook-Id")
    timestamp = get("Webhook-Timestamp")
    signature = get("Webhook-Signature")
    if type(msg_id) is str and type(timestamp) is str and type(signature) is str:
        return msg_id, timestamp, signature
    found = _scan(headers)
    return (
        _text(found[0] if found[0] is not None else found[3], _WEBHOOK_NAMES[0]),
        _text(found[1] if found[1] is not None else found[4], _WEBHOOK_NAMES[1]),
        _text(found[2] if found[2] is not None else found[5], _WEBHOOK_NAMES[2]),
    )


def _authorization(headers: HeaderMapping) -> str | None:
    value = headers.get("authorization")
    if value is None:
        value = _scan(headers)[_SLOTS["authorization"]]
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value if isinstance(value, str) else None


def _body_bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, bytearray | memoryview):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8", "surrogatepass")
    raise PayloadError(f"the body must be bytes, not {type(body).__name__}")


def _basic_auth_pair(value: str | tuple[str, str]) -> tuple[str, str]:
    if not isinstance(value, str):
        return value
    user, sep, password = value.partition(":")
    if not sep or not user:
        raise ConfigurationError(
            "HOOKWIRE_BASIC_AUTH must look like user:password (the value is not shown)"
        )
    return user, password


def _seconds(value: float | str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError("HOOKWIRE_TOLERANCE must be a number of seconds") from None
    if not math.isfinite(seconds):
        raise ConfigurationError("HOOKWIRE_TOLERANCE must be a finite number of seconds")
    return seconds


class Receiver:
    """Authenticates webhook requests and parses their envelopes.

    Give one or more of: ``secret`` (a ``whsec_`` secret of any non-zero
    length; other senders' secrets need not be hookwire's 24 to 64 bytes),
    ``secrets`` (several, during a rotation), ``signature_file`` (a path, its
    loaded JSON object or a :class:`~hookwire.SignatureFile`), ``public_key``
    (a ``whpk_`` key for ed25519 webhooks) and ``basic_auth``
    (``(username, password)``). When both a signature key and basic auth are
    set, a request must pass both. ``tolerance`` is how far, in seconds,
    ``webhook-timestamp`` may be from the receiver's clock, either way.

    Example::

        receiver = Receiver(signature_file="signature.json", tolerance=300)
        envelope = receiver.verify(body, headers)
    """

    __slots__ = ("_basic_auth", "_verifier")

    def __init__(
        self,
        secret: str | bytes | Key | None = None,
        *,
        secrets: Iterable[str | bytes | Key] | None = None,
        signature_file: str | os.PathLike[str] | Mapping[str, Any] | SignatureFile | None = None,
        public_key: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        tolerance: float = 300,
    ) -> None:
        keys: list[str | bytes | Key] = []
        if secret is not None:
            keys.append(secret)
        if secrets is not None:
            keys.extend(secrets)
        if signature_file is not None:
            loaded = (
                signature_file
                if isinstance(signature_file, SignatureFile)
                else read_signature_file(signature_file)
            )
            keys.extend(loaded.keys)
        if public_key is not None:
            keys.append(public_key)
        if tolerance < 0:
            raise ConfigurationError("tolerance must be zero or more seconds")
        if basic_auth is not None and (
            len(basic_auth) != 2 or not all(isinstance(part, str) for part in basic_auth)
        ):
            raise ConfigurationError("basic_auth must be a (username, password) pair of strings")
        if not keys and basic_auth is None:
            raise ConfigurationError(
                "Receiver needs a secret, secrets, signature_file, public_key or basic_auth"
            )
        self._verifier = Verifier(keys, tolerance=tolerance) if keys else None
        self._basic_auth = basic_auth

    @classmethod
    def from_settings(
        cls,
        *,
        secret: str | Iterable[str] | None = None,
        signature_file: str | os.PathLike[str] | None = None,
        public_key: str | None = None,
        basic_auth: str | tuple[str, str] | None = None,
        tolerance: float | str | None = None,
    ) -> Receiver:
        """A receiver from settings as text: environment variables, app config, CLI options.

        ``secret`` is one secret or key, several separated by whitespace (during
        a rotation), or a list; ``basic_auth`` is ``"user:password"`` or a pair;
        ``tolerance`` is seconds, as a number or numeric text (default 300).
        Empty values count as not set. Raises :class:`ConfigurationError` naming the ``HOOKWIRE_*``
        setting at fault (never its value), or the settings to give when none is.

        Example::

            receiver = Receiver.from_settings(
                secret=os.environ.get("HOOKWIRE_SECRET"),
                basic_auth=os.environ.get("HOOKWIRE_BASIC_AUTH"),
            )
        """
        secrets = secret.split() if isinstance(secret, str) else list(secret or ())
        if not (secrets or signature_file or public_key or basic_auth):
            raise ConfigurationError(
                "no webhook authentication is configured: set HOOKWIRE_SECRET (a whsec_ secret),"
                " HOOKWIRE_SIGNATURE_FILE (the downloaded signature JSON), HOOKWIRE_PUBLIC_KEY"
                " (a whpk_ key) or HOOKWIRE_BASIC_AUTH (user:password)"
            )
        return cls(
            secrets=secrets,
            signature_file=signature_file or None,
            public_key=public_key or None,
            basic_auth=_basic_auth_pair(basic_auth) if basic_auth else None,
            tolerance=300 if tolerance is None or tolerance == "" else _seconds(tolerance),
        )

    def __repr__(self) -> str:
        auth = []
        if self._verifier is not None:
            auth.append(repr(self._verifier))
        if self._basic_auth is not None:
            auth.append("basic_auth=<redacted>")
        return f"Receiver({', '.join(auth)})"

    @property
    def uses_basic_auth(self) -> bool:
        """True when requests must carry basic auth credentials."""
        return self._basic_auth is not None

    @property
    def uses_signatures(self) -> bool:
        """True when requests must carry a matching ``webhook-signature``."""
        return self._verifier is not None

    def authenticate(
        self, body: bytes, headers: HeaderMapping, *, now: float | None = None
    ) -> None:
        """Check the request's credentials; raise a :class:`VerificationError` if they fail.

        ``now`` is the receiver's clock in Unix seconds (the current time if left out).
        """
        try:
            if self._basic_auth is not None:
                check_basic_auth(_authorization(headers), *self._basic_auth)
            if self._verifier is not None:
                msg_id, timestamp, signature = _webhook_headers(headers)
                self._verifier.check(
                    msg_id,
                    timestamp,
                    _body_bytes(body),
                    signature=signature,
                    now=time.time() if now is None else now,
                )
        except (AttributeError, TypeError) as exc:
            # Headers that are not a mapping of strings: a caller's mistake, still not a crash.
            raise HeaderError(
                f"headers must be a mapping of names to strings ({type(exc).__name__})",
                header="",
            ) from exc

    def verify(self, body: bytes, headers: HeaderMapping, *, now: float | None = None) -> Envelope:
        """Authenticate the request, then parse its body into a typed :class:`Envelope`.

        Raises :class:`VerificationError` (answer 401) or :class:`PayloadError` (answer 400).
        """
        self.authenticate(body, headers, now=now)
        return parse_unverified(body)


def parse_unverified(body: bytes | str) -> Envelope:
    """Parse an envelope WITHOUT checking who sent it: only for input you already trust.

    Raises only :class:`PayloadError`. Use :meth:`Receiver.verify` for requests
    from the network.
    """
    try:
        return _validate_envelope(_body_bytes(body))
    except ValidationError as exc:
        raise payload_error(exc) from exc
    except (ValueError, TypeError, RecursionError) as exc:
        raise PayloadError(f"the body is not an envelope: {type(exc).__name__}") from exc
