"""Interop with the standardwebhooks and svix libraries, both directions."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
import standardwebhooks
import svix

from hookwire import Receiver, SignatureMismatchError, sign_headers

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = json.dumps(
    {
        "accountId": 1010,
        "events": [
            {
                "eventId": "e-1",
                "eventName": "CI_STATS",
                "timestamp": 1731037792,
                "data": {
                    "loInstanceId": "course:1_1",
                    "waitlistCount": 0,
                    "enrollmentCount": 3,
                    "seatLimit": 30,
                },
            }
        ],
    }
).encode()


def headers_from(signature: str, msg_id: str, at: datetime) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def test_standardwebhooks_signature_verifies_with_receiver() -> None:
    at = datetime.now(tz=UTC).replace(microsecond=0)
    signature = standardwebhooks.Webhook(SECRET).sign("msg_std", at, BODY.decode())
    envelope = Receiver(secret=SECRET).verify(BODY, headers_from(signature, "msg_std", at))
    assert envelope.account_id == 1010


def test_svix_signature_verifies_with_receiver_under_svix_headers() -> None:
    at = datetime.now(tz=UTC).replace(microsecond=0)
    signature = svix.Webhook(SECRET).sign("msg_svix", at, BODY.decode())
    headers = {
        "svix-id": "msg_svix",
        "svix-timestamp": str(int(at.timestamp())),
        "svix-signature": signature,
    }
    Receiver(secret=SECRET).authenticate(BODY, headers)


def test_sign_headers_verify_with_standardwebhooks() -> None:
    headers = sign_headers(SECRET, BODY)
    assert standardwebhooks.Webhook(SECRET).verify(BODY, headers) == json.loads(BODY)


def test_sign_headers_verify_with_svix() -> None:
    svix.Webhook(SECRET).verify(BODY, sign_headers(SECRET, BODY))


def test_rotated_sign_headers_verify_with_svix_holding_the_new_secret() -> None:
    new = "whsec_" + "QUFB" * 8
    svix.Webhook(new).verify(BODY, sign_headers([SECRET, new], BODY))


def test_svix_signature_with_other_secret_fails() -> None:
    at = datetime.now(tz=UTC).replace(microsecond=0)
    signature = svix.Webhook("whsec_" + "QUFB" * 8).sign("msg_x", at, BODY.decode())
    with pytest.raises(SignatureMismatchError):
        Receiver(secret=SECRET).authenticate(BODY, headers_from(signature, "msg_x", at))


def test_standardwebhooks_rejects_tampered_hookwire_body() -> None:
    headers = sign_headers(SECRET, BODY, timestamp=int(time.time()))
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(SECRET).verify(BODY + b" ", headers)
