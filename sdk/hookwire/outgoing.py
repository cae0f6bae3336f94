"""The headers of one outgoing webhook request: one builder for the sender and the CLI.

The dispatcher (:mod:`hookwire.sender`) and the ``hookwire`` commands that send
(``replay``, ``trigger``, ``listen --forward-to``, ``webhooks test``) build
their requests here, so that they cannot disagree on a header:
``content-type`` and ``user-agent``, ``webhook-id`` and ``webhook-timestamp``
always, ``webhook-signature`` when there are keys (one entry per key, as
:func:`hookwire.sign_headers` makes them), ``authorization`` for basic auth, and
``traceparent`` (with ``tracestate``) when the sender traces the attempt.

Example::

    auth = RequestAuth.build(secrets=["whsec_..."], basic_auth=("hooks", "s3cret"))
    headers = auth.headers(body, base=BASE_HEADERS)  # a fresh webhook-id, the current time
    requests.post(url, data=body, headers=headers)
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from ._version import USER_AGENT

# Signing (cryptography) loads when keys are first used, so that the `hookwire`
# command imports this module without it.
if TYPE_CHECKING:
    from .signing import Key, Signer

__all__ = ["BASE_HEADERS", "RequestAuth", "request_headers"]

# Plain dicts, typed read-only: the sender copies BASE_HEADERS on every attempt.
BASE_HEADERS: Final[Mapping[str, str]] = {
    "content-type": "application/json",
    "user-agent": USER_AGENT,
}
"""The headers every outgoing request carries besides its authentication."""
_NO_HEADERS: Final[Mapping[str, str]] = {}


def request_headers(
    msg_id: str,
    timestamp: int,
    body: bytes,
    *,
    signer: Signer | None = None,
    authorization: str | None = None,
    base: Mapping[str, str],
    trace: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The headers of one request: ``base``, ``webhook-*``, ``authorization``, then ``trace``.

    The message comes as it is signed (id, timestamp, body), the rest by keyword.
    ``base`` holds the fixed headers (:data:`BASE_HEADERS` for a sender);
    ``signer`` holds the keys already parsed (``webhook-signature`` is left out
    without one); ``authorization`` is a ready ``Authorization`` value, from
    :func:`hookwire.basic_auth_header`; ``trace`` holds the W3C trace context
    headers (``traceparent``, ``tracestate``) of a traced attempt. The sender's
    dispatcher calls this for every attempt, so it builds one dict and nothing else.
    """
    # dict.copy is the cheapest copy, and the sender's base is a dict.
    headers = base.copy() if type(base) is dict else dict(base)
    headers["webhook-id"] = msg_id
    headers["webhook-timestamp"] = str(timestamp)
    if signer is not None:
        headers["webhook-signature"] = signer.signature(msg_id, timestamp, body)
    if authorization is not None:
        headers["authorization"] = authorization
    if trace:
        headers.update(trace)
    return headers


@dataclass(frozen=True)
class RequestAuth:
    """How requests authenticate, as the sender does: keys that sign, and/or basic auth.

    ``keys`` sign (``webhook-signature`` gets one entry per key; they are
    parsed and keyed once, as replays sign thousands of bodies);
    ``authorization`` is a ready ``Authorization`` header value. Neither ever
    appears in a repr. No keys and no ``authorization``: unauthenticated
    requests, which still carry ``webhook-id`` and ``webhook-timestamp``.
    """

    keys: tuple[Key, ...] = field(default=(), repr=False)
    authorization: str | None = field(default=None, repr=False)
    _signer: Signer | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        from .signing import Signer

        # A whpk_ public key is refused here, with a message saying what to sign with.
        object.__setattr__(self, "_signer", Signer(self.keys) if self.keys else None)

    @classmethod
    def build(
        cls,
        *,
        secrets: Iterable[str | bytes | Key] = (),
        basic_auth: tuple[str, str] | None = None,
    ) -> RequestAuth:
        """Parse ``secrets`` (``whsec_`` or ``whsk_``) and encode ``basic_auth`` (user, password).

        Raises :class:`~hookwire.InvalidSecretError` for a key that cannot sign.
        """
        from .signing import basic_auth_header, parse_key

        authorization = basic_auth_header(*basic_auth) if basic_auth is not None else None
        return cls(keys=tuple(map(parse_key, secrets)), authorization=authorization)

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
        self,
        body: bytes,
        *,
        msg_id: str | None = None,
        timestamp: int | None = None,
        base: Mapping[str, str] = _NO_HEADERS,
    ) -> dict[str, str]:
        """The authentication headers of one request, over ``base`` (see :func:`request_headers`).

        ``msg_id`` defaults to a fresh id and ``timestamp`` to the current Unix
        time. Without ``base`` only the ``webhook-*`` and ``authorization``
        headers come back; pass :data:`BASE_HEADERS` (or a request's own fixed
        headers) for a whole request's.
        """
        if msg_id is None:
            from .signing import new_message_id

            msg_id = new_message_id()
        return request_headers(
            msg_id,
            int(time.time()) if timestamp is None else int(timestamp),
            body,
            signer=self._signer,
            authorization=self.authorization,
            base=base,
        )
