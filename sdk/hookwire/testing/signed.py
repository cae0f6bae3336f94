"""Signed webhook requests for tests: good ones, and ones tampered with on purpose.

:func:`signed_request` builds the request a hookwire sender would send (the
same headers, from :mod:`hookwire.outgoing`) for an envelope or a raw body;
``tamper=`` spoils it in one named way, so that a test can check that a
listener refuses it. :func:`tamperings_for` lists the tamperings that a
receiver with given credentials must refuse.

Example::

    request = signed_request(envelope, secret="whsec_...")
    response = client.post("/webhooks", data=request.body, headers=request.headers)
    assert response.status_code == 202

    for name in tamperings_for(secret="whsec_..."):
        bad = signed_request(envelope, secret="whsec_...", tamper=name)
        assert client.post("/webhooks", data=bad.body, headers=bad.headers).status_code == 401
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from ..errors import ConfigurationError
from ..outgoing import BASE_HEADERS, request_headers
from ..signature_file import SCHEME_ED25519, SignatureFile, read_signature_file
from ..signing import (
    Signer,
    basic_auth_header,
    generate_keypair,
    generate_secret,
    new_message_id,
    parse_key,
    public_key_of,
)

__all__ = ["TAMPERINGS", "TAMPER_SKEW", "SignedRequest", "signed_request", "tamperings_for"]

TAMPERINGS: Final[tuple[str, ...]] = (
    "unsigned",
    "wrong-secret",
    "stale",
    "future",
    "reserialised-body",
    "missing-webhook-id",
    "missing-webhook-timestamp",
    "missing-webhook-signature",
    "truncated-signature",
    "duplicated-signature",
    "wrong-password",
)
"""Every name ``signed_request(tamper=...)`` takes; see :func:`signed_request` for each."""

_SIGNATURE_TAMPERINGS: Final[tuple[str, ...]] = tuple(
    name for name in TAMPERINGS if name not in ("unsigned", "wrong-password")
)

TAMPER_SKEW: Final[int] = 3600
"""Seconds that ``stale`` and ``future`` move the timestamp: far beyond the default 300 s."""


@dataclass(frozen=True)
class SignedRequest:
    """One webhook request, ready to post: the exact body bytes and their headers.

    Header names are lower case (``webhook-id``, ``webhook-timestamp``,
    ``webhook-signature``, ``content-type``, ``authorization``,
    ``user-agent``). ``msg_id`` and ``timestamp`` are what was signed, even
    when a tampering has removed or changed their headers. The headers are
    left out of the repr, as they may carry a password.
    """

    body: bytes
    headers: dict[str, str] = field(repr=False)
    msg_id: str
    timestamp: int
    method: str = "POST"


@dataclass(frozen=True)
class _Credentials:
    """The signing keys and ``Authorization`` value that one call signs with."""

    keys: tuple[str, ...]
    basic_auth: tuple[str, str] | None

    @property
    def authorization(self) -> str | None:
        return basic_auth_header(*self.basic_auth) if self.basic_auth is not None else None

    def signer(self) -> Signer | None:
        return Signer(self.keys) if self.keys else None

    def other_signer(self) -> Signer:
        """Keys of the same kinds as ours, freshly made: what a wrong secret signs with."""
        others = [
            generate_keypair()[0] if parse_key(key).scheme == "v1a-private" else generate_secret()
            for key in self.keys
        ]
        return Signer(others)


def _basic_auth_pair(value: str | tuple[str, str]) -> tuple[str, str]:
    if isinstance(value, str):
        user, sep, password = value.partition(":")
        if not sep or not user:
            raise ConfigurationError("basic_auth must look like user:password")
        return user, password
    if len(value) != 2 or not all(isinstance(part, str) for part in value):
        raise ConfigurationError("basic_auth must be a (username, password) pair of strings")
    return value[0], value[1]


def _credentials(
    secret: str | None,
    signature_file: str | os.PathLike[str] | Mapping[str, Any] | SignatureFile | None,
    private_key: str | None,
    basic_auth: str | tuple[str, str] | None,
) -> _Credentials:
    keys: list[str] = []
    if secret is not None:
        keys.append(secret)
    if signature_file is not None:
        loaded = (
            signature_file
            if isinstance(signature_file, SignatureFile)
            else read_signature_file(signature_file)
        )
        if loaded.scheme == SCHEME_ED25519:
            # The file holds the public key only: signing needs its private half.
            if private_key is None:
                raise ConfigurationError(
                    "an ed25519 signature file holds only the public key; "
                    "pass private_key='whsk_...' to sign"
                )
            if public_key_of(private_key) != loaded.public_key:
                raise ConfigurationError("private_key does not match the signature file's key")
        else:
            keys.extend(loaded.keys)
    if private_key is not None:
        if parse_key(private_key).scheme != "v1a-private":
            raise ConfigurationError("private_key must be a whsk_ signing key")
        keys.append(private_key)
    pair = _basic_auth_pair(basic_auth) if basic_auth is not None else None
    return _Credentials(keys=tuple(keys), basic_auth=pair)


def _body_of(envelope_or_body: Mapping[str, Any] | bytes | str) -> bytes:
    if isinstance(envelope_or_body, bytes):
        return envelope_or_body
    if isinstance(envelope_or_body, str):
        return envelope_or_body.encode()
    # As hookwire's sender serialises: compact, UTF-8.
    return json.dumps(dict(envelope_or_body), separators=(",", ":"), ensure_ascii=False).encode()


def _unix_seconds(timestamp: int | datetime | None) -> int:
    if timestamp is None:
        return int(time.time())
    if isinstance(timestamp, datetime):
        # A naive datetime is UTC, as everywhere in hookwire.
        aware = timestamp if timestamp.tzinfo is not None else timestamp.replace(tzinfo=UTC)
        return int(aware.timestamp())
    return int(timestamp)


def _reserialised(body: bytes) -> bytes:
    """The same JSON written another way (indented), as a re-encoding proxy would."""
    try:
        text = json.dumps(json.loads(body), indent=2, ensure_ascii=False).encode()
    except ValueError:
        text = body
    return text if text != body else body + b"\n"


def _truncated(signature: str) -> str:
    """Each entry with its last four base64 characters cut off."""
    return " ".join(entry[:-4] for entry in signature.split())


def check_credentials(
    secret: str | None,
    signature_file: str | os.PathLike[str] | Mapping[str, Any] | SignatureFile | None,
    private_key: str | None,
    basic_auth: str | tuple[str, str] | None,
) -> None:
    """Raise :class:`~hookwire.ConfigurationError` now for credentials that cannot sign."""
    _credentials(secret, signature_file, private_key, basic_auth)


def tamperings_for(
    *,
    secret: str | None = None,
    signature_file: str | os.PathLike[str] | Mapping[str, Any] | SignatureFile | None = None,
    private_key: str | None = None,
    basic_auth: str | tuple[str, str] | None = None,
) -> tuple[str, ...]:
    """The names in :data:`TAMPERINGS` that a receiver with these credentials must refuse.

    The signature tamperings when the requests are signed (``secret``,
    ``signature_file`` or ``private_key``), ``wrong-password`` with
    ``basic_auth``, and ``unsigned`` (no signature and no ``Authorization``)
    with either; nothing without credentials. Unusable credentials (an
    ed25519 signature file without its ``private_key``) raise
    :class:`~hookwire.ConfigurationError`, as :func:`signed_request` would.
    """
    credentials = _credentials(secret, signature_file, private_key, basic_auth)
    signing = bool(credentials.keys)
    with_auth = credentials.basic_auth is not None
    return tuple(
        name
        for name in TAMPERINGS
        if (name == "unsigned" and (signing or with_auth))
        or (name == "wrong-password" and with_auth)
        or (name in _SIGNATURE_TAMPERINGS and signing)
    )


def signed_request(
    envelope_or_body: Mapping[str, Any] | bytes | str,
    *,
    secret: str | None = None,
    signature_file: str | os.PathLike[str] | Mapping[str, Any] | SignatureFile | None = None,
    private_key: str | None = None,
    basic_auth: str | tuple[str, str] | None = None,
    msg_id: str | None = None,
    timestamp: int | datetime | None = None,
    tamper: str | None = None,
) -> SignedRequest:
    """Build the request a hookwire sender sends for ``envelope_or_body``.

    An envelope (a mapping) is serialised as the sender does (compact JSON,
    UTF-8); bytes or text are sent as they are. The request is signed with
    ``secret`` (``whsec_``), the keys of ``signature_file`` (a path or its
    JSON object; an ed25519 file also needs its ``private_key``) and
    ``private_key`` (``whsk_``), each adding its ``webhook-signature``
    entry; ``basic_auth`` (``"user:password"`` or a pair) adds
    ``authorization``. ``msg_id`` defaults to a fresh ``msg_`` id and
    ``timestamp`` (Unix seconds, or a datetime, naive meaning UTC) to now.
    Without credentials the request carries no authentication, as an
    unauthenticated webhook's.

    ``tamper`` spoils the request in one way that a receiver with the same
    credentials refuses (:func:`tamperings_for` lists which apply):

    - ``unsigned``: no ``webhook-signature`` and no ``authorization``;
    - ``wrong-secret``: signed with fresh keys of the same kinds;
    - ``stale`` / ``future``: signed, but :data:`TAMPER_SKEW` seconds
      before / after ``timestamp``;
    - ``reserialised-body``: the body re-encoded (indented) after signing;
    - ``missing-webhook-id`` / ``-timestamp`` / ``-signature``: that header left out;
    - ``truncated-signature``: each signature entry loses its last four characters;
    - ``duplicated-signature``: the ``webhook-signature`` line sent twice
      and joined by a bare comma (``v1,abc,v1,abc``), as some HTTP stacks
      join a repeated header, which leaves one malformed entry. Joined by
      ``", "`` the second copy is a well-formed entry that matches, so a
      receiver rightly accepts it; that is not a tampering. With several
      keys each entry is doubled so, as one intact entry would still match;
    - ``wrong-password``: basic auth with another password (signature intact).

    Raises :class:`ValueError` for an unknown ``tamper`` name, and
    :class:`~hookwire.ConfigurationError` for unusable credentials or a
    tampering these credentials cannot show (``wrong-password`` without
    ``basic_auth``, a signature tampering without keys).

    Example::

        >>> request = signed_request(b'{"test": 2432232314}',
        ...     secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ...     msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=1614265330)
        >>> request.headers["webhook-signature"]
        'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
    """
    if tamper is not None and tamper not in TAMPERINGS:
        raise ValueError(f"unknown tampering {tamper!r}; choose one of: {', '.join(TAMPERINGS)}")
    credentials = _credentials(secret, signature_file, private_key, basic_auth)
    if tamper is not None and tamper != "unsigned":
        if tamper == "wrong-password" and credentials.basic_auth is None:
            raise ConfigurationError("the wrong-password tampering needs basic_auth")
        if tamper in _SIGNATURE_TAMPERINGS and not credentials.keys:
            raise ConfigurationError(
                f"the {tamper} tampering needs a secret, signature_file or private_key"
            )
    body = _body_of(envelope_or_body)
    msg_id = new_message_id() if msg_id is None else msg_id
    seconds = _unix_seconds(timestamp)

    signer = credentials.signer()
    authorization = credentials.authorization
    signed_at = seconds
    if tamper == "unsigned":
        signer, authorization = None, None
    elif tamper == "wrong-secret":
        signer = credentials.other_signer()
    elif tamper == "stale":
        signed_at = seconds - TAMPER_SKEW
    elif tamper == "future":
        signed_at = seconds + TAMPER_SKEW
    elif tamper == "wrong-password" and credentials.basic_auth is not None:
        user, password = credentials.basic_auth
        authorization = basic_auth_header(user, password + "-wrong")

    headers = request_headers(
        msg_id, signed_at, body, signer=signer, authorization=authorization, base=BASE_HEADERS
    )
    if tamper == "reserialised-body":
        body = _reserialised(body)
    elif tamper is not None and tamper.startswith("missing-"):
        del headers[tamper.removeprefix("missing-")]
    elif tamper == "truncated-signature":
        headers["webhook-signature"] = _truncated(headers["webhook-signature"])
    elif tamper == "duplicated-signature":
        entries = headers["webhook-signature"].split()
        headers["webhook-signature"] = " ".join(f"{entry},{entry}" for entry in entries)
    return SignedRequest(body=body, headers=headers, msg_id=msg_id, timestamp=signed_at)
