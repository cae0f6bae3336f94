"""HMAC-SHA256 from precomputed key pads: the hot path of signing and verifying ``v1``."""

from __future__ import annotations

import hashlib

__all__ = ["hmac_pads", "hmac_sha256"]

_SHA256_BLOCK = 64
_IPAD = bytes(byte ^ 0x36 for byte in range(256))
_OPAD = bytes(byte ^ 0x5C for byte in range(256))


def hmac_pads(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """Return HMAC-SHA256's keyed inner and outer hash states (RFC 2104).

    Copying these per message skips the key setup that :func:`hmac.digest`
    repeats on every call, which is about half the cost of a short message.
    """
    if len(key) > _SHA256_BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_SHA256_BLOCK, b"\0")
    return hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))


def hmac_sha256(pads: tuple[hashlib._Hash, hashlib._Hash], content: bytes) -> bytes:
    """HMAC-SHA256 of ``content`` from the key's precomputed pads (equal to :func:`hmac.digest`)."""
    inner_pad, outer_pad = pads
    inner = inner_pad.copy()
    inner.update(content)
    outer = outer_pad.copy()
    outer.update(inner.digest())
    return outer.digest()
