"""Property tests: whatever the body and headers, only hookwire errors escape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookwire import PayloadError, Receiver, WebhookError, parse_unverified, sign_headers

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NOW = 1_764_349_200
RECEIVER = Receiver(secret=SECRET, basic_auth=("alm", "pw"))
SIGNED_ONLY = Receiver(secret=SECRET)

NAMES = st.sampled_from(
    [
        "webhook-id",
        "Webhook-Timestamp",
        "WEBHOOK-SIGNATURE",
        "svix-id",
        "svix-timestamp",
        "svix-signature",
        "authorization",
        "Authorization",
    ]
)
TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=80)
VALUES = st.one_of(
    TEXT,
    st.binary(max_size=80),
    st.none(),
    st.integers(),
    st.just("v1,") | st.just("Basic YWxtOnB3") | st.just(str(NOW)),
)
HEADERS = st.dictionaries(st.one_of(NAMES, TEXT, st.integers(), st.binary()), VALUES, max_size=8)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_webhook_errors(call: Any, *args: Any, **kwargs: Any) -> None:
    try:
        call(*args, **kwargs)
    except WebhookError:
        return


@FAST
@given(body=st.binary(max_size=300), headers=HEADERS)
def test_authenticate_raises_only_webhook_errors(body: bytes, headers: dict[Any, Any]) -> None:
    _only_webhook_errors(RECEIVER.authenticate, body, headers, now=NOW)


@FAST
@given(body=st.binary(max_size=300), headers=HEADERS)
def test_verify_raises_only_webhook_errors(body: bytes, headers: dict[Any, Any]) -> None:
    _only_webhook_errors(SIGNED_ONLY.verify, body, headers, now=NOW)


@FAST
@given(
    body=st.binary(max_size=200),
    msg_id=TEXT,
    timestamp=TEXT,
    signature=TEXT,
)
def test_arbitrary_webhook_header_text_raises_only_webhook_errors(
    body: bytes, msg_id: str, timestamp: str, signature: str
) -> None:
    headers = {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": signature}
    _only_webhook_errors(SIGNED_ONLY.verify, body, headers, now=NOW)


@FAST
@given(body=st.binary(max_size=300))
def test_parse_unverified_raises_only_webhook_errors(body: bytes) -> None:
    _only_webhook_errors(parse_unverified, body)


@FAST
@given(value=JSON)
def test_signed_json_that_is_not_an_envelope_is_a_payload_error(value: Any) -> None:
    body = json.dumps(value).encode()
    headers = sign_headers(SECRET, body, msg_id="msg_p", timestamp=NOW)
    with pytest.raises(PayloadError):
        SIGNED_ONLY.verify(body, headers, now=NOW)


@FAST
@given(body=st.binary(max_size=300))
def test_correctly_signed_bytes_never_fail_authentication(body: bytes) -> None:
    headers = sign_headers(SECRET, body, msg_id="msg_p", timestamp=NOW)
    SIGNED_ONLY.authenticate(body, headers, now=NOW)
