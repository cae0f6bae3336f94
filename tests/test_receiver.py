"""Receiver: authentication of headers and body, then typed parsing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from multidict import CIMultiDict
from werkzeug.datastructures import Headers

from hookwire import (
    BasicAuthError,
    CompletionEvent,
    ConfigurationError,
    Envelope,
    HeaderError,
    PayloadError,
    Receiver,
    SignatureFile,
    SignatureMismatchError,
    TimestampError,
    VerificationError,
    basic_auth_header,
    generate_keypair,
    generate_secret,
    parse_unverified,
    sign_headers,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NOW = 1_764_349_200
BODY = json.dumps(
    {
        "accountId": 1010,
        "events": [
            {
                "eventId": "e-1",
                "eventName": "COURSE_COMPLETED",
                "timestamp": "2026-11-28T17:00:00.000Z",
                "data": {
                    "userId": 7,
                    "loId": "course:1",
                    "loInstanceId": "course:1_1",
                    "loType": "course",
                    "hasPassed": True,
                },
            }
        ],
    }
).encode()


def signed(body: bytes = BODY, secret: Any = SECRET, timestamp: int = NOW) -> dict[str, str]:
    return sign_headers(secret, body, msg_id="msg_1", timestamp=timestamp)


def test_valid_request_authenticates() -> None:
    Receiver(secret=SECRET).authenticate(BODY, signed(), now=NOW)


def test_verify_returns_typed_envelope() -> None:
    envelope = Receiver(secret=SECRET).verify(BODY, signed(), now=NOW)
    assert isinstance(envelope, Envelope)
    assert isinstance(envelope.events[0], CompletionEvent)
    assert envelope.events[0].data.has_passed is True


def test_mixed_case_dict_headers_are_found() -> None:
    headers = {"Webhook-Id": "msg_1", "WEBHOOK-TIMESTAMP": str(NOW)}
    headers["webhook-Signature"] = signed()["webhook-signature"]
    Receiver(secret=SECRET).authenticate(BODY, headers, now=NOW)


def test_title_case_dict_headers_are_found() -> None:
    headers = {name.title(): value for name, value in signed().items()}
    Receiver(secret=SECRET).authenticate(BODY, headers, now=NOW)


def test_werkzeug_headers_are_found() -> None:
    headers = Headers([(name.upper(), value) for name, value in signed().items()])
    Receiver(secret=SECRET).authenticate(BODY, headers, now=NOW)


def test_aiohttp_multidict_headers_are_found() -> None:
    headers = CIMultiDict((name.title(), value) for name, value in signed().items())
    Receiver(secret=SECRET).authenticate(BODY, headers, now=NOW)


def test_bytes_header_values_are_accepted() -> None:
    headers = {name: value.encode() for name, value in signed().items()}
    Receiver(secret=SECRET).authenticate(BODY, headers, now=NOW)


def test_svix_headers_are_aliases() -> None:
    headers = {name.replace("webhook-", "svix-"): value for name, value in signed().items()}
    Receiver(secret=SECRET).authenticate(BODY, headers, now=NOW)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_named(missing: str) -> None:
    headers = signed()
    del headers[missing]
    with pytest.raises(HeaderError) as info:
        Receiver(secret=SECRET).authenticate(BODY, headers, now=NOW)
    assert info.value.header == missing
    assert missing in str(info.value)


@pytest.mark.parametrize(
    "timestamp",
    ["", "abc", "17643492OO", " 1764349200", "1764349200 ", "-1764349200", "1764349200.5", "١٢٣"],
    ids=[
        "empty",
        "letters",
        "letter-o",
        "lead-space",
        "trail-space",
        "negative",
        "float",
        "arabic",
    ],
)
def test_malformed_timestamp_fails(timestamp: str) -> None:
    headers = {**signed(), "webhook-timestamp": timestamp}
    with pytest.raises(HeaderError) as info:
        Receiver(secret=SECRET).authenticate(BODY, headers, now=NOW)
    assert info.value.header == "webhook-timestamp"


def test_non_text_header_fails() -> None:
    with pytest.raises(HeaderError):
        Receiver(secret=SECRET).authenticate(BODY, {**signed(), "webhook-id": 5}, now=NOW)


def test_empty_signature_header_fails() -> None:
    with pytest.raises(HeaderError):
        Receiver(secret=SECRET).authenticate(BODY, {**signed(), "webhook-signature": " "}, now=NOW)


def test_headers_that_are_not_a_mapping_fail() -> None:
    with pytest.raises(HeaderError):
        Receiver(secret=SECRET).authenticate(BODY, ["webhook-id"], now=NOW)  # type: ignore[arg-type]


def test_old_timestamp_fails() -> None:
    with pytest.raises(TimestampError) as info:
        Receiver(secret=SECRET).authenticate(BODY, signed(timestamp=NOW - 301), now=NOW)
    assert "old" in str(info.value)
    assert "(301 s off" in str(info.value)
    assert info.value.timestamp == NOW - 301


def test_future_timestamp_fails() -> None:
    with pytest.raises(TimestampError) as info:
        Receiver(secret=SECRET).authenticate(BODY, signed(timestamp=NOW + 301), now=NOW)
    assert "future" in str(info.value)
    assert "(301 s off" in str(info.value)


@pytest.mark.parametrize("offset", [-300, 300])
def test_timestamp_exactly_at_tolerance_passes(offset: int) -> None:
    Receiver(secret=SECRET).authenticate(BODY, signed(timestamp=NOW + offset), now=NOW)


def test_tolerance_is_configurable() -> None:
    receiver = Receiver(secret=SECRET, tolerance=10)
    receiver.authenticate(BODY, signed(timestamp=NOW - 10), now=NOW)
    with pytest.raises(TimestampError):
        receiver.authenticate(BODY, signed(timestamp=NOW - 11), now=NOW)


def test_nan_clock_fails_closed() -> None:
    with pytest.raises(TimestampError):
        Receiver(secret=SECRET).authenticate(BODY, signed(), now=float("nan"))


def test_negative_tolerance_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        Receiver(secret=SECRET, tolerance=-1)


def test_wrong_secret_fails() -> None:
    with pytest.raises(SignatureMismatchError):
        Receiver(secret=generate_secret()).authenticate(BODY, signed(), now=NOW)


def test_rotated_secrets_each_accept() -> None:
    new = generate_secret()
    headers = signed(secret=[SECRET, new])
    Receiver(secret=SECRET).authenticate(BODY, headers, now=NOW)
    Receiver(secret=new).authenticate(BODY, headers, now=NOW)


def test_receiver_with_several_secrets_accepts_any() -> None:
    Receiver(secrets=[generate_secret(), SECRET]).authenticate(BODY, signed(), now=NOW)


def test_public_key_verifies_v1a() -> None:
    signing_key, public_key = generate_keypair()
    headers = signed(secret=signing_key)
    Receiver(public_key=public_key).authenticate(BODY, headers, now=NOW)


def test_other_public_key_fails_v1a() -> None:
    signing_key, _ = generate_keypair()
    _, other_public = generate_keypair()
    with pytest.raises(SignatureMismatchError):
        Receiver(public_key=other_public).authenticate(BODY, signed(secret=signing_key), now=NOW)


def test_signature_file_path_configures_receiver(tmp_path: Path) -> None:
    path = tmp_path / "signature.json"
    SignatureFile.from_dict(
        {"webhookId": "wh_1", "secret": SECRET, "createdAt": "2026-11-28T17:00:00Z"}
    ).write(path)
    Receiver(signature_file=path).authenticate(BODY, signed(), now=NOW)


def test_signature_file_dict_configures_receiver() -> None:
    data = {"webhookId": "wh_1", "secret": SECRET, "createdAt": "2026-11-28T17:00:00Z"}
    Receiver(signature_file=data).authenticate(BODY, signed(), now=NOW)


def test_signature_file_object_configures_receiver() -> None:
    data = {"webhookId": "wh_1", "secret": SECRET, "createdAt": "2026-11-28T17:00:00Z"}
    Receiver(signature_file=SignatureFile.from_dict(data)).authenticate(BODY, signed(), now=NOW)


def test_receiver_needs_some_credential() -> None:
    with pytest.raises(ConfigurationError):
        Receiver()


def basic(user: str = "alm", password: str = "pw") -> dict[str, str]:
    return {"Authorization": basic_auth_header(user, password)}


def test_basic_auth_passes() -> None:
    Receiver(basic_auth=("alm", "pw")).authenticate(BODY, basic(), now=NOW)


@pytest.mark.parametrize(
    "headers",
    [basic("other", "pw"), basic("alm", "nope"), {}, {"Authorization": "Basic %%%"}],
    ids=["wrong-user", "wrong-password", "missing", "not-base64"],
)
def test_bad_basic_auth_fails(headers: Mapping[str, str]) -> None:
    with pytest.raises(BasicAuthError):
        Receiver(basic_auth=("alm", "pw")).authenticate(BODY, headers, now=NOW)


def test_both_configured_require_signature() -> None:
    receiver = Receiver(secret=SECRET, basic_auth=("alm", "pw"))
    with pytest.raises(HeaderError):
        receiver.authenticate(BODY, basic(), now=NOW)


def test_both_configured_require_basic_auth() -> None:
    receiver = Receiver(secret=SECRET, basic_auth=("alm", "pw"))
    with pytest.raises(BasicAuthError):
        receiver.authenticate(BODY, signed(), now=NOW)


def test_both_configured_pass_together() -> None:
    receiver = Receiver(secret=SECRET, basic_auth=("alm", "pw"))
    receiver.authenticate(BODY, {**signed(), **basic()}, now=NOW)


def test_bad_basic_auth_pair_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        Receiver(basic_auth=("only-user",))  # type: ignore[arg-type]


def test_invalid_body_with_bad_signature_is_a_verification_error() -> None:
    body = b"{not json"
    headers = signed(body=b"{}")
    with pytest.raises(VerificationError):
        Receiver(secret=SECRET).verify(body, headers, now=NOW)


def test_invalid_body_correctly_signed_is_a_payload_error() -> None:
    body = b"{not json"
    with pytest.raises(PayloadError):
        Receiver(secret=SECRET).verify(body, signed(body=body), now=NOW)


def test_body_of_wrong_type_is_a_payload_error() -> None:
    with pytest.raises(PayloadError):
        Receiver(secret=SECRET).verify(None, signed(), now=NOW)  # type: ignore[arg-type]


def test_str_body_is_encoded_as_utf8() -> None:
    Receiver(secret=SECRET).verify(BODY.decode(), signed(), now=NOW)  # type: ignore[arg-type]


def test_receiver_repr_hides_secrets() -> None:
    receiver = Receiver(secret=SECRET, basic_auth=("alm", "hunter2"))
    text = repr(receiver)
    assert "MfKQ9r8" not in text
    assert "hunter2" not in text
    assert "alm" not in text


def test_uses_flags_report_configuration() -> None:
    receiver = Receiver(basic_auth=("alm", "pw"))
    assert receiver.uses_basic_auth
    assert not receiver.uses_signatures


def test_parse_unverified_parses_without_headers() -> None:
    assert parse_unverified(BODY).account_id == 1010


def test_error_messages_hold_no_secret() -> None:
    with pytest.raises(SignatureMismatchError) as info:
        Receiver(secret=generate_secret()).authenticate(BODY, signed(), now=NOW)
    assert signed()["webhook-signature"].split(",")[1] not in str(info.value)


def test_webhook_header_wins_over_svix_alias() -> None:
    headers = {**signed(), "svix-signature": "v1,bm90IHRoZSBzaWduYXR1cmU="}
    Receiver(secret=SECRET).authenticate(BODY, headers, now=NOW)


def test_svix_alias_in_title_case_is_found() -> None:
    headers = {name.replace("webhook-", "Svix-"): value for name, value in signed().items()}
    Receiver(secret=SECRET).authenticate(BODY, headers, now=NOW)


def test_header_with_too_many_signatures_fails_before_any_check() -> None:
    body = b'{"accountId": 1, "events": []}'
    headers = sign_headers(SECRET, body, timestamp=NOW)
    headers["webhook-signature"] = " ".join(["v1a,AAAA"] * 17 + [headers["webhook-signature"]])
    with pytest.raises(HeaderError, match="at most 16"):
        Receiver(secret=SECRET).authenticate(body, headers, now=NOW)
