"""The standardwebhooks library's own test cases, run against hookwire through a shim.

Each test mirrors the case of the same name in the reference Python library's suite
(github.com/standard-webhooks/standard-webhooks, ``libraries/python/tests/test_webhooks.py``,
for ``standardwebhooks`` 1.1.0, whose wheel and sdist ship no tests): the same secrets,
message, headers and expectations, written here against ``standard_webhooks_shim``,
whose ``Webhook`` is hookwire's :class:`~hookwire.Receiver` and :func:`~hookwire.sign`.
All 15 pass; ``test_every_upstream_case_is_mirrored`` keeps one from being dropped.
"""

from __future__ import annotations

import base64
import math
import sys
from datetime import UTC, datetime, timedelta

import pytest
from standard_webhooks_shim import (
    EmptyWebhookSecretError,
    Webhook,
    WebhookVerificationError,
    hmac_data,
)

MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
PAYLOAD = '{"test": 2432232314}'
SECRET = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TOLERANCE = timedelta(minutes=5)

UPSTREAM_CASES = (
    "test_empty_secret_raises_error",
    "test_missing_id_raises_error",
    "test_timestamp_raises_error",
    "test_invalid_timestamp_raises_error",
    "test_missing_signature_raises_error",
    "test_invalid_signature_raises_error",
    "test_valid_signature_is_valid_and_returns_json",
    "test_valid_signature_is_valid_without_returning_json",
    "test_valid_unbranded_signature_is_valid_and_returns_json",
    "test_old_timestamp_fails",
    "test_new_timestamp_fails",
    "test_multi_sig_payload_is_valid",
    "test_signature_verification_with_and_without_prefix",
    "test_signature_verification_with_unpadded_secret",
    "test_sign_function",
)
"""The upstream suite's 15 tests, in its order."""


def signed_headers(secret: str = SECRET, at: datetime | None = None) -> dict[str, str]:
    """Upstream's ``PayloadForTesting``: headers signing PAYLOAD under the base64 ``secret``."""
    timestamp = str(math.floor((at or datetime.now(tz=UTC)).timestamp()))
    content = f"{MSG_ID}.{timestamp}.{PAYLOAD}".encode()
    signature = base64.b64encode(hmac_data(base64.b64decode(secret), content)).decode()
    return {
        "webhook-id": MSG_ID,
        "webhook-signature": "v1," + signature,
        "webhook-timestamp": timestamp,
    }


def test_empty_secret_raises_error() -> None:
    for empty in ("", b"", "whsec_"):
        with pytest.raises(EmptyWebhookSecretError):
            Webhook(empty)


def _without_header(header: str) -> None:
    """Verifying a request that lacks ``header`` fails."""
    headers = signed_headers()
    del headers[header]
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(PAYLOAD, headers)


def test_missing_id_raises_error() -> None:
    _without_header("webhook-id")


def test_timestamp_raises_error() -> None:
    _without_header("webhook-timestamp")


def test_invalid_timestamp_raises_error() -> None:
    headers = signed_headers()
    headers["webhook-timestamp"] = "hello"
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(PAYLOAD, headers)


def test_missing_signature_raises_error() -> None:
    _without_header("webhook-signature")


def test_invalid_signature_raises_error() -> None:
    headers = signed_headers()
    # The known-answer signature with its last base64 digit changed.
    headers["webhook-signature"] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(PAYLOAD, headers)


def test_valid_signature_is_valid_and_returns_json() -> None:
    assert Webhook(SECRET).verify(PAYLOAD, signed_headers())["test"] == 2432232314


def test_valid_signature_is_valid_without_returning_json() -> None:
    assert Webhook(SECRET).verify(PAYLOAD, signed_headers(), json_parse=False) is None


def test_valid_unbranded_signature_is_valid_and_returns_json() -> None:
    headers = signed_headers()
    unbranded = {
        name: headers[name] for name in ("webhook-id", "webhook-signature", "webhook-timestamp")
    }
    assert Webhook(SECRET).verify(PAYLOAD, unbranded)["test"] == 2432232314


def test_old_timestamp_fails() -> None:
    headers = signed_headers(at=datetime.now(tz=UTC) - TOLERANCE - timedelta(seconds=1))
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(PAYLOAD, headers)


def test_new_timestamp_fails() -> None:
    headers = signed_headers(at=datetime.now(tz=UTC) + TOLERANCE + timedelta(seconds=1))
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(PAYLOAD, headers)


def test_multi_sig_payload_is_valid() -> None:
    headers = signed_headers()
    wrong = "Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
    entries = [f"v1,{wrong}", f"v2,{wrong}", headers["webhook-signature"], f"v1,{wrong}"]
    headers["webhook-signature"] = " ".join(entries)
    assert Webhook(SECRET).verify(PAYLOAD, headers)["test"] == 2432232314


def test_signature_verification_with_and_without_prefix() -> None:
    headers = signed_headers()
    assert Webhook(SECRET).verify(PAYLOAD, headers)["test"] == 2432232314
    assert Webhook("whsec_" + SECRET).verify(PAYLOAD, headers)["test"] == 2432232314


def _unpadded(prefix: str) -> None:
    """Secrets given without their base64 padding verify, after ``prefix``."""
    # 32 base64 digits need no padding (24 bytes), 31 need one "=" (23 bytes: below the
    # 24 hookwire makes, which a verifier must still take), 34 need two (25 bytes).
    for unpadded, padding in (
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", ""),
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", "="),
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr", "=="),
    ):
        headers = signed_headers(secret=unpadded + padding)
        assert Webhook(prefix + unpadded).verify(PAYLOAD, headers)["test"] == 2432232314


def test_signature_verification_with_unpadded_secret() -> None:
    _unpadded("")
    _unpadded("whsec_")


def test_sign_function() -> None:
    at = datetime.fromtimestamp(1614265330, tz=UTC)
    signature = Webhook("whsec_" + SECRET).sign(msg_id=MSG_ID, timestamp=at, data=PAYLOAD)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_every_upstream_case_is_mirrored() -> None:
    module = sys.modules[__name__]
    mirrored = [name for name in vars(module) if name in UPSTREAM_CASES]
    assert len(UPSTREAM_CASES) == 15
    assert sorted(mirrored) == sorted(UPSTREAM_CASES)
    assert all(callable(getattr(module, name)) for name in UPSTREAM_CASES)
