"""One builder of outgoing headers: the sender's dispatcher and the CLI send the same ones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hookwire import USER_AGENT, InvalidSecretError, Receiver, sign_headers
from hookwire.outgoing import BASE_HEADERS, RequestAuth, request_headers
from hookwire.sender.http import build_headers
from hookwire.sender.work import Job
from hookwire.signing import Signer, generate_keypair
from hookwire_cli._auth import build_request_auth

KAT_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
KAT_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
KAT_TIMESTAMP = 1614265330
KAT_BODY = b'{"test": 2432232314}'
KAT_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#: The wire-format doc's basic-auth vector.
BASIC_USER, BASIC_PASSWORD = "alm-sender", "s3cret:pass"
BASIC_HEADER = "Basic YWxtLXNlbmRlcjpzM2NyZXQ6cGFzcw=="


def job(**fields: object) -> Job:
    values: dict[str, object] = {
        "webhook_id": "wh_1",
        "account_id": 1010,
        "target_url": "https://example.com/hooks",
        "auth": "signature",
        "request_id": KAT_ID,
        "body": KAT_BODY,
        "event_ids": ("e1",),
        "attempts": 0,
        "oldest_event_at": datetime(2021, 2, 25, tzinfo=UTC),
        "failing_since": None,
    }
    values.update(fields)
    return Job(**values)  # type: ignore[arg-type]


def test_dispatcher_headers_give_the_known_answer() -> None:
    headers = build_headers(job(secrets=(KAT_SECRET,)), timestamp=KAT_TIMESTAMP)
    assert headers == {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": KAT_ID,
        "webhook-timestamp": str(KAT_TIMESTAMP),
        "webhook-signature": KAT_SIGNATURE,
    }


def test_dispatcher_basic_auth_headers_give_the_known_answer() -> None:
    basic = job(auth="basic", basic_username=BASIC_USER, basic_password=BASIC_PASSWORD)
    assert build_headers(basic, timestamp=KAT_TIMESTAMP) == {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": KAT_ID,
        "webhook-timestamp": str(KAT_TIMESTAMP),
        "authorization": BASIC_HEADER,
    }


def test_cli_and_dispatcher_build_identical_signed_headers() -> None:
    auth = build_request_auth(secret=KAT_SECRET, signature_file=None, basic_auth=None)
    cli = auth.headers(KAT_BODY, msg_id=KAT_ID, timestamp=KAT_TIMESTAMP, base=BASE_HEADERS)
    assert cli == build_headers(job(secrets=(KAT_SECRET,)), timestamp=KAT_TIMESTAMP)
    assert cli["webhook-signature"] == KAT_SIGNATURE


def test_cli_and_dispatcher_build_identical_basic_auth_headers() -> None:
    auth = build_request_auth(
        secret=None, signature_file=None, basic_auth=(BASIC_USER, BASIC_PASSWORD)
    )
    cli = auth.headers(KAT_BODY, msg_id=KAT_ID, timestamp=KAT_TIMESTAMP, base=BASE_HEADERS)
    basic = job(auth="basic", basic_username=BASIC_USER, basic_password=BASIC_PASSWORD)
    assert cli == build_headers(basic, timestamp=KAT_TIMESTAMP)
    assert cli["authorization"] == BASIC_HEADER


def test_cli_and_dispatcher_agree_with_two_keys_and_basic_auth() -> None:
    signing_key, _ = generate_keypair()
    secrets = (KAT_SECRET, signing_key)
    auth = RequestAuth.build(secrets=secrets, basic_auth=(BASIC_USER, BASIC_PASSWORD))
    both = job(
        auth="basic", basic_username=BASIC_USER, basic_password=BASIC_PASSWORD, secrets=secrets
    )
    cli = auth.headers(KAT_BODY, msg_id=KAT_ID, timestamp=KAT_TIMESTAMP, base=BASE_HEADERS)
    assert cli == build_headers(both, timestamp=KAT_TIMESTAMP, signer=Signer(secrets))
    assert cli["webhook-signature"].split() == [
        KAT_SIGNATURE,
        sign_headers(signing_key, KAT_BODY, msg_id=KAT_ID, timestamp=KAT_TIMESTAMP)[
            "webhook-signature"
        ],
    ]


def test_request_headers_verify_with_a_receiver() -> None:
    headers = RequestAuth.build(secrets=[KAT_SECRET], basic_auth=("u", "p")).headers(KAT_BODY)
    receiver = Receiver(secret=KAT_SECRET, basic_auth=("u", "p"))
    receiver.authenticate(KAT_BODY, headers)


def test_unauthenticated_requests_still_carry_id_and_timestamp() -> None:
    headers = RequestAuth().headers(KAT_BODY, msg_id=KAT_ID, timestamp=KAT_TIMESTAMP)
    assert headers == {"webhook-id": KAT_ID, "webhook-timestamp": str(KAT_TIMESTAMP)}
    assert RequestAuth().description == "no authentication"


def test_authentication_headers_win_over_the_base_ones() -> None:
    base = {"content-type": "text/plain", "webhook-id": "stale"}
    headers = request_headers(KAT_ID, KAT_TIMESTAMP, KAT_BODY, base=base)
    assert headers == {
        "content-type": "text/plain",
        "webhook-id": KAT_ID,
        "webhook-timestamp": str(KAT_TIMESTAMP),
    }
    assert base["webhook-id"] == "stale"


def test_a_public_key_cannot_sign_outgoing_requests() -> None:
    _, public = generate_keypair()
    with pytest.raises(InvalidSecretError, match="whsk_"):
        RequestAuth.build(secrets=[public])


def test_request_auth_repr_hides_its_credentials() -> None:
    auth = RequestAuth.build(secrets=[KAT_SECRET], basic_auth=("u", "hunter2"))
    assert repr(auth) == "RequestAuth(keys=1, basic_auth=True)"
    assert auth.description == "signed + basic auth"
