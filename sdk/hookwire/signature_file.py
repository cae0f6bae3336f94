"""The signature file: the downloadable JSON that hands a webhook's key to its listener.

Shape::

    {"webhookId": "wh_...", "scheme": "standard-webhooks-v1",
     "secret": "whsec_...", "createdAt": "2026-11-28T17:00:00Z"}

For ed25519 webhooks the scheme is ``standard-webhooks-v1a`` and the file holds
``publicKey`` (``whpk_...``) instead of a secret: the listener never needs the
signing key. During a rotation ``secrets`` may list every secret still valid.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import InvalidSecretError, SignatureFileError
from .files import open_private
from .signing import parse_key

__all__ = ["SCHEME_ED25519", "SCHEME_HMAC", "SignatureFile", "read_signature_file"]

SCHEME_HMAC = "standard-webhooks-v1"
SCHEME_ED25519 = "standard-webhooks-v1a"


@dataclass(frozen=True)
class SignatureFile:
    """A webhook's verification keys as a listener receives them.

    ``keys`` holds ``whsec_`` secrets, newest first (scheme v1), or one
    ``whpk_`` public key (scheme v1a); they never appear in a repr.
    :attr:`secret` and :attr:`public_key` name the file's key as its JSON
    does. Pass the object itself to ``Receiver(signature_file=...)``, or
    :meth:`write` it for a listener elsewhere.

    Example::

        file = sender.webhooks.signature_file(hook.id)
        receiver = Receiver(signature_file=file)
        file.write("signature.json")
    """

    webhook_id: str
    scheme: str
    keys: tuple[str, ...] = field(repr=False)
    created_at: datetime

    def __repr__(self) -> str:
        return (
            f"SignatureFile(webhook_id={self.webhook_id!r}, scheme={self.scheme!r}, "
            f"keys=<{len(self.keys)} redacted>, created_at={self.created_at.isoformat()!r})"
        )

    @property
    def secret(self) -> str | None:
        """The newest ``whsec_`` secret (the JSON's ``secret``); None for an ed25519 file."""
        return None if self.scheme == SCHEME_ED25519 else self.keys[0]

    @property
    def public_key(self) -> str | None:
        """The ``whpk_`` public key (the JSON's ``publicKey``); None for an HMAC file."""
        return self.keys[0] if self.scheme == SCHEME_ED25519 else None

    def to_dict(self) -> dict[str, Any]:
        """Return the file's JSON object."""
        data: dict[str, Any] = {"webhookId": self.webhook_id, "scheme": self.scheme}
        if self.scheme == SCHEME_ED25519:
            data["publicKey"] = self.keys[0]
        else:
            data["secret"] = self.keys[0]
            if len(self.keys) > 1:
                data["secrets"] = list(self.keys)
        data["createdAt"] = self.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return data

    def to_json(self) -> str:
        """The file's text as :meth:`write` writes it: indented JSON and a final newline."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the file, readable by its owner only (it holds a secret), also over an old one."""
        fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self.to_json())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, path: str | None = None) -> SignatureFile:
        """Build from the file's JSON object; raise :class:`SignatureFileError` if it is not one."""
        if not isinstance(data, Mapping):
            raise SignatureFileError("a signature file holds a JSON object", path=path)
        scheme = data.get("scheme", SCHEME_HMAC)
        if scheme == SCHEME_ED25519:
            keys: list[Any] = [data.get("publicKey")]
        elif scheme == SCHEME_HMAC:
            listed = data.get("secrets")
            keys = list(listed) if isinstance(listed, list) and listed else [data.get("secret")]
        else:
            raise SignatureFileError(
                f"unknown scheme {scheme!r}; expected {SCHEME_HMAC} or {SCHEME_ED25519}", path=path
            )
        if not all(isinstance(k, str) and k for k in keys):
            wanted = "publicKey" if scheme == SCHEME_ED25519 else "secret"
            raise SignatureFileError(f"the signature file has no {wanted!r}", path=path)
        for key in keys:
            try:
                parse_key(key)
            except InvalidSecretError as exc:
                raise SignatureFileError(
                    f"the signature file's key is unusable: {exc}", path=path
                ) from exc
        created = data.get("createdAt")
        try:
            created_at = datetime.fromisoformat(created) if isinstance(created, str) else None
        except ValueError:
            created_at = None
        if created_at is None:
            raise SignatureFileError("the signature file's createdAt is not an ISO date", path=path)
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=UTC)
        return cls(
            webhook_id=str(data.get("webhookId", "")),
            scheme=scheme,
            keys=tuple(keys),
            created_at=created_at,
        )


def read_signature_file(source: str | os.PathLike[str] | Mapping[str, Any]) -> SignatureFile:
    """Read a signature file from a path or an already-loaded JSON object."""
    if isinstance(source, Mapping):
        return SignatureFile.from_dict(source)
    path = os.fspath(source)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        shown = path if path.isprintable() else repr(path)
        raise SignatureFileError(
            f"cannot read the signature file {shown}: {exc.strerror}", path=path
        ) from exc
    except UnicodeDecodeError as exc:
        raise SignatureFileError("the signature file is not UTF-8 text", path=path) from exc
    except ValueError as exc:
        # pathlib refuses a path with a NUL byte before the OS sees it.
        raise SignatureFileError(f"not a usable file path: {exc}", path=path) from exc
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise SignatureFileError(f"the signature file is not JSON: {exc}", path=path) from exc
    return SignatureFile.from_dict(data, path=path)
