"""Known answers, secret parsing, rotation and basic auth of hookwire.signing."""

from __future__ import annotations

import base64
import hmac
from typing import Any

import pytest

from hookwire import (
    BasicAuthError,
    HeaderError,
    InvalidSecretError,
    SignatureMismatchError,
    basic_auth_header,
    check_basic_auth,
    generate_keypair,
    generate_secret,
    public_key_of,
    sign,
    sign_headers,
    verify_signature,
)
from hookwire.signing import Signer, Verifier, parse_key

KAT_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
KAT_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
KAT_TIMESTAMP = 1614265330
KAT_BODY = b'{"test": 2432232314}'
KAT_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

# ed25519 is deterministic: this seed (bytes 0..31) always gives this key and signature.
V1A_SEED = "whsk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
V1A_PUBLIC = "whpk_A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="
V1A_ID = "msg_hookwire_kat"
V1A_TIMESTAMP = 1764349200
V1A_BODY = b'{"accountId": 1010, "events": []}'
V1A_SIGNATURE = (
    "v1a,0dHuwcLPK7MzjeEvjxVlPCyAVJWBByOJ//Zm5AUR/NQI7Hg7/2u64YWIG1HloqIaAo7nOt/gF0to/Ga+lIdfDQ=="
)

RAW_SECRET = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_standard_webhooks_vector_signs() -> None:
    assert sign(KAT_SECRET, KAT_ID, KAT_TIMESTAMP, KAT_BODY) == KAT_SIGNATURE


def test_sign_headers_carries_the_vector() -> None:
    headers = sign_headers(KAT_SECRET, KAT_BODY, msg_id=KAT_ID, timestamp=KAT_TIMESTAMP)
    assert headers == {
        "webhook-id": KAT_ID,
        "webhook-timestamp": str(KAT_TIMESTAMP),
        "webhook-signature": KAT_SIGNATURE,
    }


def test_standard_webhooks_vector_verifies() -> None:
    verify_signature(
        [KAT_SECRET],
        KAT_ID,
        str(KAT_TIMESTAMP),
        KAT_BODY,
        signature=KAT_SIGNATURE,
        now=KAT_TIMESTAMP,
    )


def test_one_changed_body_byte_fails() -> None:
    body = KAT_BODY.replace(b"4", b"5", 1)
    with pytest.raises(SignatureMismatchError):
        verify_signature(
            [KAT_SECRET],
            KAT_ID,
            str(KAT_TIMESTAMP),
            body,
            signature=KAT_SIGNATURE,
            now=KAT_TIMESTAMP,
        )


def test_one_changed_signature_byte_fails() -> None:
    signature = KAT_SIGNATURE[:-2] + ("A" if KAT_SIGNATURE[-2] != "A" else "B") + "="
    with pytest.raises(SignatureMismatchError):
        verify_signature(
            [KAT_SECRET],
            KAT_ID,
            str(KAT_TIMESTAMP),
            KAT_BODY,
            signature=signature,
            now=KAT_TIMESTAMP,
        )


def test_v1a_vector_signs() -> None:
    assert sign(V1A_SEED, V1A_ID, V1A_TIMESTAMP, V1A_BODY) == V1A_SIGNATURE


def test_v1a_public_key_of_seed() -> None:
    assert public_key_of(V1A_SEED) == V1A_PUBLIC


def test_v1a_vector_verifies_with_public_key() -> None:
    verify_signature(
        [V1A_PUBLIC],
        V1A_ID,
        str(V1A_TIMESTAMP),
        V1A_BODY,
        signature=V1A_SIGNATURE,
        now=V1A_TIMESTAMP,
    )


def test_v1a_changed_body_fails() -> None:
    with pytest.raises(SignatureMismatchError):
        verify_signature(
            [V1A_PUBLIC],
            V1A_ID,
            str(V1A_TIMESTAMP),
            V1A_BODY + b" ",
            signature=V1A_SIGNATURE,
            now=V1A_TIMESTAMP,
        )


def test_public_key_cannot_sign() -> None:
    with pytest.raises(InvalidSecretError):
        sign(V1A_PUBLIC, V1A_ID, V1A_TIMESTAMP, V1A_BODY)


def test_generated_keypair_round_trips() -> None:
    signing_key, public_key = generate_keypair()
    assert public_key_of(signing_key) == public_key
    verify_signature(
        [public_key],
        "m",
        "5",
        b"{}",
        signature=sign(signing_key, "m", 5, b"{}"),
        now=5,
    )


def test_basic_auth_header_vector() -> None:
    assert (
        basic_auth_header("alm-sender", "s3cret:pass") == "Basic YWxtLXNlbmRlcjpzM2NyZXQ6cGFzcw=="
    )


def test_basic_auth_accepts_its_own_header() -> None:
    check_basic_auth("Basic YWxtLXNlbmRlcjpzM2NyZXQ6cGFzcw==", "alm-sender", "s3cret:pass")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer YWxtLXNlbmRlcjpzM2NyZXQ6cGFzcw==",
        "Basic not*base64",
        "Basic " + "YWxtLXNlbmRlcg==",  # no colon at all
        basic_auth_header("alm-sender", "wrong"),
        basic_auth_header("other", "s3cret:pass"),
    ],
    ids=["missing", "empty", "bearer", "not-base64", "no-colon", "wrong-password", "wrong-user"],
)
def test_bad_basic_auth_fails(header: str | None) -> None:
    with pytest.raises(BasicAuthError) as info:
        check_basic_auth(header, "alm-sender", "s3cret:pass")
    assert "s3cret" not in str(info.value)


def test_generated_secret_parses_to_32_bytes() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(parse_key(secret).material) == 32


@pytest.mark.parametrize(
    "secret",
    [
        KAT_SECRET,
        RAW_SECRET,
        RAW_SECRET + "==",
        "whsec_" + RAW_SECRET.rstrip("="),
        f"  {KAT_SECRET}\n",
    ],
    ids=["prefixed", "bare", "padded", "unpadded", "whitespace"],
)
def test_secret_spellings_sign_alike(secret: str) -> None:
    assert sign(secret, KAT_ID, KAT_TIMESTAMP, KAT_BODY) == KAT_SIGNATURE


def test_urlsafe_secret_equals_standard_secret() -> None:
    standard = "whsec_" + "+/+/" * 8
    urlsafe = "whsec_" + "-_-_" * 8
    assert parse_key(standard).material == parse_key(urlsafe).material


@pytest.mark.parametrize(
    ("secret", "words"),
    [
        ("", "empty"),
        ("whsec_", "0 bytes"),
        (b"", "0 bytes"),
        ("whsec_not base64 at all!!", "not base64"),
        ("whsec_ÄÖÜsecretsecretsecretsecret", "not base64"),
    ],
    ids=["empty", "prefix-only", "empty-bytes", "non-base64", "non-ascii"],
)
def test_bad_secret_fails_clearly(secret: str | bytes, words: str) -> None:
    with pytest.raises(InvalidSecretError) as info:
        parse_key(secret)
    message = str(info.value)
    assert words in message
    if isinstance(secret, str) and secret.removeprefix("whsec_"):
        assert secret.removeprefix("whsec_") not in message


def _hmac_entry(raw: bytes) -> str:
    """The v1 signature of the known-answer message under ``raw``, computed with the stdlib."""
    content = f"{KAT_ID}.{KAT_TIMESTAMP}.".encode() + KAT_BODY
    return "v1," + base64.b64encode(hmac.digest(raw, content, "sha256")).decode()


@pytest.mark.parametrize(
    "raw",
    [b"\x07", bytes(range(23)), bytes(range(65)), bytes(200)],
    ids=["1-byte", "23-bytes", "65-bytes", "200-bytes"],
)
@pytest.mark.parametrize("spelling", ["whsec", "bare", "unpadded", "urlsafe", "bytes"])
def test_verifying_takes_a_secret_of_any_nonzero_length(raw: bytes, spelling: str) -> None:
    encoded = base64.b64encode(raw).decode()
    secret: str | bytes = {
        "whsec": "whsec_" + encoded,
        "bare": encoded,
        "unpadded": "whsec_" + encoded.rstrip("="),
        "urlsafe": "whsec_" + base64.urlsafe_b64encode(raw).decode(),
        "bytes": raw,
    }[spelling]
    assert parse_key(secret).material == raw
    verify_signature(
        [secret],
        KAT_ID,
        str(KAT_TIMESTAMP),
        KAT_BODY,
        signature=_hmac_entry(raw),
        now=KAT_TIMESTAMP,
    )


@pytest.mark.parametrize(
    ("secret", "words"),
    [
        ("whsec_" + "QUFB" * 7, "21 bytes"),
        ("whsec_" + "QUFB" * 30, "at most 64"),
        (b"x" * 23, "at least 24"),
    ],
    ids=["short", "long", "short-bytes"],
)
def test_signing_refuses_a_secret_outside_24_to_64_bytes(secret: str | bytes, words: str) -> None:
    with pytest.raises(InvalidSecretError) as info:
        sign(secret, KAT_ID, KAT_TIMESTAMP, KAT_BODY)
    assert words in str(info.value)
    if isinstance(secret, str):
        assert secret.removeprefix("whsec_") not in str(info.value)
    with pytest.raises(InvalidSecretError):
        Signer([secret])


@pytest.mark.parametrize("size", [24, 64])
def test_signing_takes_a_secret_at_either_end_of_the_range(size: int) -> None:
    raw = bytes(range(size))
    assert sign(raw, KAT_ID, KAT_TIMESTAMP, KAT_BODY) == _hmac_entry(raw)


def test_secret_of_wrong_type_fails() -> None:
    with pytest.raises(InvalidSecretError):
        parse_key(12345)  # type: ignore[arg-type]


def test_key_repr_hides_material() -> None:
    assert RAW_SECRET not in repr(parse_key(KAT_SECRET))
    assert "redacted" in repr(parse_key(KAT_SECRET))


def test_rotation_gives_one_signature_per_secret() -> None:
    second = generate_secret()
    headers = sign_headers([KAT_SECRET, second], KAT_BODY, msg_id=KAT_ID, timestamp=KAT_TIMESTAMP)
    signatures = headers["webhook-signature"].split()
    assert signatures == [KAT_SIGNATURE, sign(second, KAT_ID, KAT_TIMESTAMP, KAT_BODY)]


def test_sign_headers_without_secrets_fails() -> None:
    with pytest.raises(InvalidSecretError):
        sign_headers([], KAT_BODY)


def test_sign_headers_defaults_to_fresh_id_and_current_time() -> None:
    first = sign_headers(KAT_SECRET, KAT_BODY)
    second = sign_headers(KAT_SECRET, KAT_BODY)
    assert first["webhook-id"].startswith("msg_")
    assert first["webhook-id"] != second["webhook-id"]
    assert first["webhook-timestamp"].isdigit()


@pytest.mark.parametrize("length", [24, 32, 63, 64])
def test_verifier_matches_stdlib_hmac_for_every_key_length(length: int) -> None:
    key = bytes(range(length))
    content = f"{KAT_ID}.{KAT_TIMESTAMP}.".encode() + KAT_BODY
    signature = "v1," + base64.b64encode(hmac.digest(key, content, "sha256")).decode()
    verify_signature(
        [key],
        KAT_ID,
        str(KAT_TIMESTAMP),
        KAT_BODY,
        signature=signature,
        now=KAT_TIMESTAMP,
    )


def test_signer_reuses_its_keys_and_matches_the_known_answers() -> None:
    signer = Signer([KAT_SECRET, V1A_SEED])
    first = signer.signature(KAT_ID, KAT_TIMESTAMP, KAT_BODY)
    assert first.split()[0] == KAT_SIGNATURE
    assert first.split()[1] == sign(V1A_SEED, KAT_ID, KAT_TIMESTAMP, KAT_BODY)
    assert signer.signature(KAT_ID, KAT_TIMESTAMP, KAT_BODY) == first


def test_signer_refuses_a_public_key() -> None:
    with pytest.raises(InvalidSecretError, match="only verify"):
        Signer([V1A_PUBLIC])


def test_signer_repr_holds_no_secret() -> None:
    assert "MfKQ9r8G" not in repr(Signer([KAT_SECRET]))


def test_verifier_check_takes_the_message_in_signing_order() -> None:
    Verifier([KAT_SECRET]).check(
        KAT_ID, str(KAT_TIMESTAMP), KAT_BODY, signature=KAT_SIGNATURE, now=KAT_TIMESTAMP
    )


def test_verifier_check_takes_the_signature_only_by_keyword() -> None:
    check: Any = Verifier([KAT_SECRET]).check
    with pytest.raises(TypeError):
        check(KAT_ID, str(KAT_TIMESTAMP), KAT_BODY, KAT_SIGNATURE, now=KAT_TIMESTAMP)


def test_swapped_id_and_timestamp_fail_closed() -> None:
    with pytest.raises(HeaderError, match="webhook-timestamp"):
        verify_signature(
            [KAT_SECRET],
            str(KAT_TIMESTAMP),
            KAT_ID,
            KAT_BODY,
            signature=KAT_SIGNATURE,
            now=KAT_TIMESTAMP,
        )


def test_sign_and_verify_take_the_same_order() -> None:
    signature = sign(KAT_SECRET, KAT_ID, KAT_TIMESTAMP, KAT_BODY)
    assert signature == KAT_SIGNATURE
    assert Signer([KAT_SECRET]).signature(KAT_ID, KAT_TIMESTAMP, KAT_BODY) == signature
    verify_signature(
        [KAT_SECRET], KAT_ID, str(KAT_TIMESTAMP), KAT_BODY, signature=signature, now=KAT_TIMESTAMP
    )
