"""Secrets, signatures and basic auth: the sans-IO core of the wire contract.

Signatures follow Standard Webhooks 1.0. The signed bytes are
``{webhook-id}.{webhook-timestamp}.{raw body}``; a ``v1`` signature is the
base64 HMAC-SHA256 of them under a ``whsec_`` secret, a ``v1a`` signature the
base64 ed25519 signature under a ``whsk_`` key (verified with its ``whpk_``
public key). Nothing here reads the clock unless a caller leaves a timestamp
out of :func:`sign_headers`. Basic auth lives in
:mod:`hookwire.basic_auth`; this module re-exports it.

Example::

    >>> secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    >>> sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ._hmac import hmac_pads as _hmac_pads
from ._hmac import hmac_sha256 as _hmac_sha256
from ._key_bytes import b64decode_key as _b64decode
from ._key_bytes import ed25519_bytes as _ed25519_bytes
from ._key_bytes import nonempty as _nonempty

# Basic auth lives in .basic_auth; its names stay importable from here.
from .basic_auth import basic_auth_header, check_basic_auth
from .errors import (
    HeaderError,
    InvalidSecretError,
    SignatureMismatchError,
    TimestampError,
)

__all__ = [
    "MAX_SECRET_BYTES",
    "MIN_SECRET_BYTES",
    "Key",
    "Signer",
    "Verifier",
    "basic_auth_header",
    "check_basic_auth",
    "generate_keypair",
    "generate_secret",
    "new_message_id",
    "parse_key",
    "public_key_of",
    "sign",
    "sign_headers",
    "verify_signature",
]

SECRET_PREFIX = "whsec_"
SIGNING_KEY_PREFIX = "whsk_"
PUBLIC_KEY_PREFIX = "whpk_"
MIN_SECRET_BYTES = 24
"""The fewest bytes of a ``whsec_`` secret hookwire signs with (the Standard Webhooks range)."""
MAX_SECRET_BYTES = 64
"""The most bytes of a ``whsec_`` secret hookwire signs with; verifying takes any length."""
MAX_SIGNATURES = 16
"""The most entries one ``webhook-signature`` header may carry (rotations need two or three)."""


@dataclass(frozen=True, slots=True)
class Key:
    """One parsed secret or key, ready to sign or verify with.

    ``scheme`` is ``"v1"`` (HMAC secret), ``"v1a-private"`` (ed25519 signing key)
    or ``"v1a-public"`` (ed25519 public key). The key bytes never appear in a repr.
    """

    scheme: str
    material: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"Key(scheme={self.scheme!r}, material=<redacted>)"


def parse_key(value: str | bytes | Key) -> Key:
    """Parse a ``whsec_`` secret, a ``whsk_`` signing key or a ``whpk_`` public key.

    A secret may come with or without its ``whsec_`` prefix, in standard or
    URL-safe base64, padded or not; raw ``bytes`` are taken as the secret
    itself. Any non-empty secret parses, as Standard Webhooks verifiers take
    it: the 24 to 64 bytes the standard asks of a sender's secret are checked
    where hookwire signs (:class:`Signer`) and made sure of where it makes one
    (:func:`generate_secret`). Raises :class:`InvalidSecretError` for an empty
    or undecodable value.
    """
    if isinstance(value, Key):
        return value
    if isinstance(value, bytes | bytearray):
        return Key("v1", _nonempty(bytes(value)))
    if not isinstance(value, str):
        raise InvalidSecretError(f"a secret must be a str or bytes, not {type(value).__name__}")
    text = value.strip()
    if not text:
        raise InvalidSecretError("the secret is empty; pass a whsec_... secret")
    if text.startswith(SIGNING_KEY_PREFIX):
        return Key("v1a-private", _ed25519_bytes(text[len(SIGNING_KEY_PREFIX) :], "signing key"))
    if text.startswith(PUBLIC_KEY_PREFIX):
        return Key("v1a-public", _ed25519_bytes(text[len(PUBLIC_KEY_PREFIX) :], "public key"))
    if text.startswith(SECRET_PREFIX):
        text = text[len(SECRET_PREFIX) :]
    return Key("v1", _nonempty(_b64decode(text, "secret")))


def _check_signing_length(raw: bytes) -> None:
    """Refuse to sign with a secret outside the Standard Webhooks range of 24 to 64 bytes."""
    if len(raw) < MIN_SECRET_BYTES:
        raise InvalidSecretError(
            f"the secret is {len(raw)} bytes long; signing takes at least {MIN_SECRET_BYTES} "
            "(hookwire secret new makes one)"
        )
    if len(raw) > MAX_SECRET_BYTES:
        raise InvalidSecretError(
            f"the secret is {len(raw)} bytes long; signing takes at most {MAX_SECRET_BYTES}"
        )


def generate_secret() -> str:
    """Return a fresh ``whsec_`` secret of 32 random bytes (Standard Webhooks asks 24 to 64)."""
    return SECRET_PREFIX + base64.b64encode(_random.token_bytes(32)).decode()


def generate_keypair() -> tuple[str, str]:
    """Return a fresh ed25519 ``(whsk_ signing key, whpk_ public key)`` pair."""
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes_raw()
    public = private.public_key().public_bytes_raw()
    return (
        SIGNING_KEY_PREFIX + base64.b64encode(seed).decode(),
        PUBLIC_KEY_PREFIX + base64.b64encode(public).decode(),
    )


def public_key_of(signing_key: str | Key) -> str:
    """Return the ``whpk_`` public key that verifies what ``signing_key`` signs."""
    key = parse_key(signing_key)
    if key.scheme != "v1a-private":
        raise InvalidSecretError("only a whsk_ signing key has a public key")
    public = Ed25519PrivateKey.from_private_bytes(key.material).public_key().public_bytes_raw()
    return PUBLIC_KEY_PREFIX + base64.b64encode(public).decode()


def new_message_id() -> str:
    """Return a fresh ``msg_`` delivery id for the ``webhook-id`` header."""
    return "msg_" + _random.token_urlsafe(18)


def _signed_content(msg_id: str, timestamp: int | str, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode() + body


def sign(secret: str | bytes | Key, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return one ``webhook-signature`` entry (``v1,...`` or ``v1a,...``) for ``body``.

    ``secret`` is a ``whsec_`` secret of 24 to 64 bytes or a ``whsk_`` signing
    key; a public key cannot sign and raises :class:`InvalidSecretError`.
    """
    return Signer([secret]).signature(msg_id, timestamp, body)


class Signer:
    """Signs many bodies with a fixed set of secrets and keys, parsed once.

    A ``whsec_`` secret must hold 24 to 64 bytes, the range Standard Webhooks
    asks of a sender's secret (a shorter or longer one raises
    :class:`InvalidSecretError`; verifying takes any non-empty secret).
    Each HMAC secret's keyed state is built once, which is about half the cost
    of signing a short body; senders and replays sign thousands with one set.
    Entries come out in the order the keys were given.

    Example::

        signer = Signer(["whsec_new...", "whsec_old..."])  # during a rotation
        headers = signer.headers(body)
    """

    __slots__ = ("_entries",)

    def __init__(self, keys: Iterable[str | bytes | Key]) -> None:
        entries: list[tuple[hashlib._Hash, hashlib._Hash] | Ed25519PrivateKey] = []
        for key in map(parse_key, keys):
            if key.scheme == "v1":
                _check_signing_length(key.material)
                entries.append(_hmac_pads(key.material))
            elif key.scheme == "v1a-private":
                entries.append(Ed25519PrivateKey.from_private_bytes(key.material))
            else:
                raise InvalidSecretError(
                    "a whpk_ public key can only verify; sign with its whsk_ key"
                )
        if not entries:
            raise InvalidSecretError("signing needs at least one secret")
        self._entries = entries

    def __repr__(self) -> str:
        return f"Signer(keys={len(self._entries)})"

    def signature(self, msg_id: str, timestamp: int | str, body: bytes) -> str:
        """The ``webhook-signature`` value: one entry per key, space-separated."""
        content = _signed_content(msg_id, timestamp, body)
        entries = []
        for entry in self._entries:
            if isinstance(entry, Ed25519PrivateKey):
                entries.append("v1a," + base64.b64encode(entry.sign(content)).decode())
            else:
                entries.append("v1," + base64.b64encode(_hmac_sha256(entry, content)).decode())
        return " ".join(entries)

    def headers(
        self, body: bytes, *, msg_id: str | None = None, timestamp: int | None = None
    ) -> dict[str, str]:
        """The ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers.

        ``msg_id`` defaults to a fresh id and ``timestamp`` to the current Unix time.
        """
        msg_id = new_message_id() if msg_id is None else msg_id
        timestamp = int(time.time()) if timestamp is None else int(timestamp)
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": self.signature(msg_id, timestamp, body),
        }


def sign_headers(
    secret: str | bytes | Key | Sequence[str | bytes | Key],
    body: bytes,
    *,
    msg_id: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """Return the ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers.

    Pass several secrets (a list) during a rotation: each adds its signature,
    and a receiver accepts any that matches. ``msg_id`` defaults to a fresh
    id and ``timestamp`` to the current Unix time. To sign many bodies with the
    same secrets, build a :class:`Signer` once instead.

    Example::

        headers = sign_headers("whsec_...", body)
        requests.post(url, data=body, headers=headers)
    """
    keys: Sequence[str | bytes | Key] = (
        [secret] if isinstance(secret, str | bytes | bytearray | Key) else secret
    )
    return Signer(keys).headers(body, msg_id=msg_id, timestamp=timestamp)


class Verifier:
    """Checks ``webhook-*`` header values against a fixed set of keys.

    Takes any non-empty ``whsec_`` secret, as other Standard Webhooks
    verifiers do, whatever length its sender chose. Built once per receiver
    so that keys are parsed once; :meth:`check` is the hot path of every listener.
    """

    __slots__ = ("_hmac_pads", "_public_keys", "tolerance")

    def __init__(self, keys: Iterable[str | bytes | Key], *, tolerance: float = 300) -> None:
        parsed = [parse_key(k) for k in keys]
        if not parsed:
            raise InvalidSecretError("give at least one secret or public key to verify with")
        self._hmac_pads = [_hmac_pads(k.material) for k in parsed if k.scheme == "v1"]
        public: list[Ed25519PublicKey] = []
        for key in parsed:
            if key.scheme == "v1a-public":
                public.append(Ed25519PublicKey.from_public_bytes(key.material))
            elif key.scheme == "v1a-private":
                private = Ed25519PrivateKey.from_private_bytes(key.material)
                public.append(private.public_key())
        self._public_keys = public
        self.tolerance = tolerance

    def __repr__(self) -> str:
        return (
            f"Verifier(secrets={len(self._hmac_pads)}, public_keys={len(self._public_keys)}, "
            f"tolerance={self.tolerance})"
        )

    def check(
        self, msg_id: str, timestamp: str, body: bytes, *, signature: str, now: float
    ) -> None:
        """Raise a :class:`VerificationError` unless one signature matches.

        The message comes in the order it is signed: ``msg_id`` and
        ``timestamp`` (the raw ``webhook-id`` and ``webhook-timestamp`` header
        values), then the raw ``body``. ``signature`` is the raw
        ``webhook-signature`` value, by keyword so that it cannot be swapped
        with another header value.
        """
        if not msg_id or not msg_id.isascii() or len(msg_id) > 256:
            raise HeaderError("webhook-id must be 1 to 256 ASCII characters", header="webhook-id")
        if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
            raise HeaderError(
                "webhook-timestamp must be whole Unix seconds", header="webhook-timestamp"
            )
        ts = int(timestamp)
        # Written as "not within" so that a NaN clock fails closed instead of passing.
        if not abs(now - ts) <= self.tolerance:
            direction = "old" if ts < now else "far in the future"
            raise TimestampError(
                f"webhook-timestamp is too {direction} ({abs(now - ts):.0f} s off, tolerance "
                f"{self.tolerance:g} s); check the clocks or resend",
                timestamp=ts,
                now=now,
                tolerance=self.tolerance,
            )
        content = _signed_content(msg_id, timestamp, body)
        candidates = signature.split()
        if not candidates:
            raise HeaderError("webhook-signature is empty", header="webhook-signature")
        if len(candidates) > MAX_SIGNATURES:
            # Each v1a entry costs an ed25519 check: a bound keeps a hostile header cheap.
            raise HeaderError(
                f"webhook-signature carries {len(candidates)} signatures; at most "
                f"{MAX_SIGNATURES} are accepted",
                header="webhook-signature",
            )
        expected = [
            binascii.b2a_base64(_hmac_sha256(pads, content), newline=False)
            for pads in self._hmac_pads
        ]
        for candidate in candidates:
            version, _, value = candidate.partition(",")
            if not value.isascii():
                continue
            if version == "v1":
                raw = value.encode()
                for digest in expected:
                    if hmac.compare_digest(digest, raw):
                        return
            elif version == "v1a" and self._public_keys and self._ed25519_ok(value, content):
                return
        raise SignatureMismatchError(
            "no signature matches; check that the secret is this webhook's current one"
        )

    def _ed25519_ok(self, value: str, content: bytes) -> bool:
        try:
            signature = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return False
        for public in self._public_keys:
            try:
                public.verify(signature, content)
            except InvalidSignature:
                continue
            return True
        return False


def verify_signature(
    keys: Iterable[str | bytes | Key],
    msg_id: str,
    timestamp: str,
    body: bytes,
    *,
    signature: str,
    now: float,
    tolerance: float = 300,
) -> None:
    """Check one set of ``webhook-*`` header values; raise a :class:`VerificationError` if bad.

    Arguments come as :func:`sign` takes them: the keys, then the message
    (``webhook-id``, ``webhook-timestamp``, body); the ``webhook-signature``
    value to check and the clock by keyword. A one-shot form of
    :class:`Verifier` for scripts and tests; a listener should build a
    :class:`~hookwire.Receiver` once instead.
    """
    Verifier(keys, tolerance=tolerance).check(msg_id, timestamp, body, signature=signature, now=now)
