"""WebhookSigner: signed requests for one set of credentials, as the ``webhook_signer`` fixture."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..signature_file import SignatureFile
from .signed import SignedRequest, check_credentials, signed_request, tamperings_for

__all__ = ["WebhookSigner"]


class WebhookSigner:
    """:func:`signed_request` bound to one set of credentials (the ``webhook_signer`` fixture).

    Takes the credential keywords of :func:`signed_request`; they never
    appear in a repr.

    Example::

        signer = WebhookSigner(secret="whsec_...")
        good = signer.request(envelope)
        for name in signer.tamperings:
            bad = signer.tampered(name, envelope)
    """

    def __init__(
        self,
        *,
        secret: str | None = None,
        signature_file: str | os.PathLike[str] | Mapping[str, Any] | SignatureFile | None = None,
        private_key: str | None = None,
        basic_auth: str | tuple[str, str] | None = None,
    ) -> None:
        check_credentials(secret, signature_file, private_key, basic_auth)
        self._credentials: dict[str, Any] = {
            "secret": secret,
            "signature_file": signature_file,
            "private_key": private_key,
            "basic_auth": basic_auth,
        }

    def __repr__(self) -> str:
        given = [name for name, value in self._credentials.items() if value is not None]
        return f"WebhookSigner({', '.join(given) or 'no credentials'})"

    @property
    def secret(self) -> str | None:
        """The ``whsec_`` secret given, to configure the listener under test with."""
        secret: str | None = self._credentials["secret"]
        return secret

    @property
    def tamperings(self) -> tuple[str, ...]:
        """The tamperings a listener with these credentials must refuse (:func:`tamperings_for`)."""
        return tamperings_for(**self._credentials)

    def request(
        self,
        envelope_or_body: Mapping[str, Any] | bytes | str,
        *,
        msg_id: str | None = None,
        timestamp: int | datetime | None = None,
    ) -> SignedRequest:
        """A correctly signed request for ``envelope_or_body`` (see :func:`signed_request`)."""
        return signed_request(
            envelope_or_body, msg_id=msg_id, timestamp=timestamp, **self._credentials
        )

    def tampered(
        self,
        tamper: str,
        envelope_or_body: Mapping[str, Any] | bytes | str,
        *,
        msg_id: str | None = None,
        timestamp: int | datetime | None = None,
    ) -> SignedRequest:
        """The request for ``envelope_or_body`` spoiled by the tampering named ``tamper``."""
        return signed_request(
            envelope_or_body,
            msg_id=msg_id,
            timestamp=timestamp,
            tamper=tamper,
            **self._credentials,
        )
