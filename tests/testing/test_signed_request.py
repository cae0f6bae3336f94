"""hookwire.testing.signed_request: known answers, and every tampering refused by Receiver."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hookwire import (
    USER_AGENT,
    BasicAuthError,
    ConfigurationError,
    HeaderError,
    Receiver,
    SignatureMismatchError,
    TimestampError,
    VerificationError,
    generate_keypair,
    generate_secret,
    sign_headers,
)
from hookwire.testing import (
    TAMPERINGS,
    SignedRequest,
    WebhookSigner,
    signed_request,
    tamperings_for,
)

# The Standard Webhooks vector (as in tests/test_signing.py).
KAT_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
KAT_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
KAT_TIMESTAMP = 1614265330
KAT_BODY = b'{"test": 2432232314}'
KAT_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
# ed25519 is deterministic: this seed and message always give this signature.
V1A_SEED = "whsk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
V1A_PUBLIC = "whpk_A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="
V1A_ID = "msg_hookwire_kat"
V1A_TIMESTAMP = 1764349200
V1A_BODY = b'{"accountId": 1010, "events": []}'
V1A_SIGNATURE = (
    "v1a,0dHuwcLPK7MzjeEvjxVlPCyAVJWBByOJ//Zm5AUR/NQI7Hg7/2u64YWIG1HloqIaAo7nOt/gF0to/Ga+lIdfDQ=="
)

ENVELOPE = {
    "accountId": 1010,
    "events": [
        {
            "eventId": "evt-1",
            "eventName": "COURSE_ENROLLMENT",
            "timestamp": "2024-11-08T03:49:52.000Z",
            "data": {"userId": 7, "loId": "course:1", "loInstanceId": "course:1_1"},
        }
    ],
}
SECRET = generate_secret()
SIGNING_KEY, PUBLIC_KEY = generate_keypair()


def test_known_answer_hmac_signature() -> None:
    request = signed_request(KAT_BODY, secret=KAT_SECRET, msg_id=KAT_ID, timestamp=KAT_TIMESTAMP)
    assert request.headers == {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": KAT_ID,
        "webhook-timestamp": str(KAT_TIMESTAMP),
        "webhook-signature": KAT_SIGNATURE,
    }
    assert request == SignedRequest(
        body=KAT_BODY, headers=request.headers, msg_id=KAT_ID, timestamp=KAT_TIMESTAMP
    )


def test_known_answer_ed25519_signature() -> None:
    request = signed_request(V1A_BODY, private_key=V1A_SEED, msg_id=V1A_ID, timestamp=V1A_TIMESTAMP)
    assert request.headers["webhook-signature"] == V1A_SIGNATURE


def test_known_answer_basic_auth_header() -> None:
    request = signed_request(KAT_BODY, basic_auth="hooks:s3cret")
    assert request.headers["authorization"] == "Basic aG9va3M6czNjcmV0"
    assert "webhook-signature" not in request.headers


def test_headers_match_sign_headers() -> None:
    request = signed_request(ENVELOPE, secret=SECRET, msg_id="msg_1", timestamp=1_700_000_000)
    expected = sign_headers(SECRET, request.body, msg_id="msg_1", timestamp=1_700_000_000)
    assert {k: request.headers[k] for k in expected} == expected


def test_envelope_is_sent_as_compact_json() -> None:
    request = signed_request(ENVELOPE, secret=SECRET)
    assert request.body == json.dumps(ENVELOPE, separators=(",", ":")).encode()


def test_datetime_timestamp_becomes_unix_seconds() -> None:
    moment = datetime(2021, 2, 25, 15, 2, 10, tzinfo=UTC)
    request = signed_request(KAT_BODY, secret=KAT_SECRET, msg_id=KAT_ID, timestamp=moment)
    assert request.timestamp == KAT_TIMESTAMP
    assert request.headers["webhook-signature"] == KAT_SIGNATURE


def test_signature_file_signs_with_its_secrets(tmp_path: Path) -> None:
    other = generate_secret()
    data = {
        "webhookId": "wh_1",
        "secret": SECRET,
        "secrets": [SECRET, other],
        "createdAt": "2026-01-01T00:00:00Z",
    }
    path = tmp_path / "signature.json"
    path.write_text(json.dumps(data))
    request = signed_request(ENVELOPE, signature_file=path)
    assert len(request.headers["webhook-signature"].split()) == 2
    Receiver(secret=other).verify(request.body, request.headers)


def test_ed25519_signature_file_needs_its_private_key() -> None:
    data = {
        "webhookId": "wh_1",
        "scheme": "standard-webhooks-v1a",
        "publicKey": PUBLIC_KEY,
        "createdAt": "2026-01-01T00:00:00Z",
    }
    with pytest.raises(ConfigurationError, match="private_key"):
        signed_request(ENVELOPE, signature_file=data)
    request = signed_request(ENVELOPE, signature_file=data, private_key=SIGNING_KEY)
    Receiver(signature_file=data).verify(request.body, request.headers)


def test_unknown_tampering_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown tampering 'bogus'") as caught:
        signed_request(ENVELOPE, secret=SECRET, tamper="bogus")
    assert all(name in str(caught.value) for name in TAMPERINGS)


def test_wrong_password_without_basic_auth_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="basic_auth"):
        signed_request(ENVELOPE, secret=SECRET, tamper="wrong-password")


def test_signature_tampering_without_keys_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="secret"):
        signed_request(ENVELOPE, basic_auth=("u", "p"), tamper="stale")


def test_tamperings_for_signing_leaves_out_wrong_password() -> None:
    assert tamperings_for(secret=SECRET) == tuple(t for t in TAMPERINGS if t != "wrong-password")


def test_tamperings_for_basic_auth_only() -> None:
    assert tamperings_for(basic_auth=("u", "p")) == ("unsigned", "wrong-password")


def test_tamperings_for_no_credentials_is_empty() -> None:
    assert tamperings_for() == ()


def test_tamperings_for_both_is_every_tampering() -> None:
    assert tamperings_for(secret=SECRET, basic_auth="u:p") == TAMPERINGS


def test_duplicated_signature_joins_two_copies_with_a_bare_comma() -> None:
    good = signed_request(KAT_BODY, secret=KAT_SECRET, msg_id=KAT_ID, timestamp=KAT_TIMESTAMP)
    bad = signed_request(
        KAT_BODY,
        secret=KAT_SECRET,
        msg_id=KAT_ID,
        timestamp=KAT_TIMESTAMP,
        tamper="duplicated-signature",
    )
    assert bad.headers["webhook-signature"] == f"{KAT_SIGNATURE},{KAT_SIGNATURE}"
    assert bad.body == good.body


def test_stale_request_is_signed_for_its_own_timestamp() -> None:
    request = signed_request(ENVELOPE, secret=SECRET, timestamp=1_700_000_000, tamper="stale")
    assert request.timestamp == 1_700_000_000 - 3600
    # Signed correctly: only the clock refuses it.
    Receiver(secret=SECRET).verify(request.body, request.headers, now=request.timestamp)


# Each tampering, and the error a receiver with the same credentials raises.
EXPECTED: dict[str, tuple[type[VerificationError], str | None]] = {
    "unsigned": (HeaderError, "webhook-signature"),
    "wrong-secret": (SignatureMismatchError, None),
    "stale": (TimestampError, None),
    "future": (TimestampError, None),
    "reserialised-body": (SignatureMismatchError, None),
    "missing-webhook-id": (HeaderError, "webhook-id"),
    "missing-webhook-timestamp": (HeaderError, "webhook-timestamp"),
    "missing-webhook-signature": (HeaderError, "webhook-signature"),
    "truncated-signature": (SignatureMismatchError, None),
    "duplicated-signature": (SignatureMismatchError, None),
    "wrong-password": (BasicAuthError, None),
}


def test_every_tampering_has_an_expected_error() -> None:
    assert set(EXPECTED) == set(TAMPERINGS)


CREDENTIALS = {
    "secret": ({"secret": SECRET}, {"secret": SECRET}),
    "rotation": (
        {
            "signature_file": {
                "webhookId": "wh",
                "secret": SECRET,
                "secrets": [SECRET, generate_secret()],
                "createdAt": "2026-01-01T00:00:00Z",
            }
        },
        {"secret": SECRET},
    ),
    "ed25519": ({"private_key": SIGNING_KEY}, {"public_key": PUBLIC_KEY}),
    "basic": ({"basic_auth": "hooks:s3cret"}, {"basic_auth": ("hooks", "s3cret")}),
    "secret+basic": (
        {"secret": SECRET, "basic_auth": ("hooks", "s3cret")},
        {"secret": SECRET, "basic_auth": ("hooks", "s3cret")},
    ),
}
CASES = [
    pytest.param(kind, tamper, id=f"{kind}-{tamper}")
    for kind, (sending, _) in CREDENTIALS.items()
    for tamper in tamperings_for(**sending)
]


@pytest.mark.parametrize("kind", list(CREDENTIALS))
def test_untampered_request_is_accepted(kind: str) -> None:
    sending, receiving = CREDENTIALS[kind]
    request = signed_request(ENVELOPE, **sending)
    envelope = Receiver(**receiving).verify(request.body, request.headers)
    assert envelope.events[0].event_id == "evt-1"


@pytest.mark.parametrize(("kind", "tamper"), CASES)
def test_every_tampering_is_refused_by_receiver(kind: str, tamper: str) -> None:
    sending, receiving = CREDENTIALS[kind]
    request = signed_request(ENVELOPE, tamper=tamper, **sending)
    error, header = EXPECTED[tamper]
    if tamper == "unsigned" and "basic_auth" in receiving:
        # Basic auth is checked first: no Authorization at all fails there.
        error, header = BasicAuthError, None
    with pytest.raises(error) as caught:
        Receiver(**receiving).verify(request.body, request.headers)
    if header is not None:
        assert isinstance(caught.value, HeaderError)
        assert caught.value.header == header


def test_reserialised_body_still_parses_to_the_same_envelope() -> None:
    request = signed_request(ENVELOPE, secret=SECRET, tamper="reserialised-body")
    assert json.loads(request.body) == ENVELOPE
    assert request.body != json.dumps(ENVELOPE, separators=(",", ":")).encode()


def test_wrong_password_keeps_the_user() -> None:
    request = signed_request(ENVELOPE, basic_auth="hooks:s3cret", tamper="wrong-password")
    user, _, password = base64.b64decode(request.headers["authorization"][6:]).partition(b":")
    assert user == b"hooks"
    assert password != b"s3cret"


def test_headers_stay_out_of_the_repr() -> None:
    request = signed_request(ENVELOPE, basic_auth="hooks:s3cret")
    assert "Basic" not in repr(request)


def test_signer_binds_the_credentials() -> None:
    signer = WebhookSigner(secret=KAT_SECRET)
    request = signer.request(KAT_BODY, msg_id=KAT_ID, timestamp=KAT_TIMESTAMP)
    assert request.headers["webhook-signature"] == KAT_SIGNATURE
    assert signer.tamperings == tamperings_for(secret=KAT_SECRET)
    tampered = signer.tampered("future", KAT_BODY, timestamp=KAT_TIMESTAMP)
    assert tampered.timestamp == KAT_TIMESTAMP + 3600


def test_signer_repr_names_the_credentials_not_their_values() -> None:
    signer = WebhookSigner(secret=KAT_SECRET, basic_auth="hooks:s3cret")
    assert repr(signer) == "WebhookSigner(secret, basic_auth)"


def test_signer_refuses_unusable_credentials_at_once() -> None:
    with pytest.raises(ConfigurationError):
        WebhookSigner(basic_auth="no-colon")
