"""Decoding the bytes of a secret or key from its text, with one-line errors."""

from __future__ import annotations

import base64
import binascii

from .errors import InvalidSecretError

__all__ = ["ED25519_BYTES", "b64decode_key", "ed25519_bytes", "nonempty"]

ED25519_BYTES = 32
"""The length of an ed25519 seed or public key, in bytes."""


def b64decode_key(text: str, what: str) -> bytes:
    """Decode standard or URL-safe base64, padded or not."""
    if not text.isascii():
        raise InvalidSecretError(f"the {what} is not base64; copy it again from its source")
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSecretError(
            f"the {what} is not base64; copy it again from its source"
        ) from exc


def nonempty(raw: bytes) -> bytes:
    """Return ``raw``; raise :class:`InvalidSecretError` when it is empty."""
    if not raw:
        raise InvalidSecretError("the secret is 0 bytes long; pass a whsec_... secret")
    return raw


def ed25519_bytes(text: str, what: str) -> bytes:
    """Decode an ed25519 key (``what``: ``"signing key"`` or ``"public key"``) to 32 bytes."""
    raw = b64decode_key(text, what)
    # libsodium-style 64-byte secret keys carry the seed followed by the public key.
    if what == "signing key" and len(raw) == 2 * ED25519_BYTES:
        raw = raw[:ED25519_BYTES]
    if len(raw) != ED25519_BYTES:
        raise InvalidSecretError(f"an ed25519 {what} is {ED25519_BYTES} bytes, not {len(raw)}")
    return raw
