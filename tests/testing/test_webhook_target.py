"""WebhookTarget: real HTTP on 127.0.0.1, verification, scripted answers and readable assertions."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from hookwire import SignatureMismatchError, generate_secret
from hookwire.sender import BasicAuth
from hookwire.testing import (
    TestingSender,
    WebhookTarget,
    make_envelope,
    make_event,
    post_webhook,
)

SECRET = generate_secret()
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def event(event_id: str, seconds: int = 0) -> dict[str, object]:
    return make_event(
        "COURSE_COMPLETED", event_id=event_id, timestamp=T0 + timedelta(seconds=seconds)
    )


@pytest.fixture
def target() -> WebhookTarget:
    with WebhookTarget(secret=SECRET) as running:
        yield running


def send(target: WebhookTarget, *events: dict[str, object], account_id: int = 1010) -> int:
    envelope = make_envelope(*events, account_id=account_id)
    return post_webhook(target.url, envelope, secret=SECRET).status


def test_accepted_events_are_kept_in_arrival_order(target: WebhookTarget) -> None:
    assert send(target, event("a"), event("b")) == 202
    assert send(target, event("c")) == 202
    assert [e.event_id for e in target.events] == ["a", "b", "c"]
    assert len(target.envelopes) == 2
    target.assert_received(["a", "b", "c"])
    target.assert_ordered()
    target.assert_no_duplicates()


def test_default_answer_counts_the_events(target: WebhookTarget) -> None:
    response = post_webhook(target.url, make_envelope(event("a"), event("b")), secret=SECRET)
    assert response.json() == {"accepted": 2, "duplicates": 0}


def test_missing_event_is_named(target: WebhookTarget) -> None:
    send(target, event("a"))
    with pytest.raises(AssertionError, match=r"missing: b, c"):
        target.assert_received(["a", "b", "c"])


def test_duplicate_event_is_named_with_its_count(target: WebhookTarget) -> None:
    send(target, event("a"), event("b"))
    send(target, event("b"))
    with pytest.raises(AssertionError, match=r"arrived more than once: b \(2 times\)"):
        target.assert_received(["a", "b"])
    with pytest.raises(AssertionError, match=r"events arrived more than once: b \(2 times\)"):
        target.assert_no_duplicates()


def test_unexpected_event_is_named(target: WebhookTarget) -> None:
    send(target, event("a"), event("z"))
    with pytest.raises(AssertionError, match=r"not expected: z"):
        target.assert_received(["a"])


def test_out_of_order_event_is_named_with_its_account(target: WebhookTarget) -> None:
    send(target, event("late", seconds=10), account_id=7)
    send(target, event("early", seconds=0), account_id=7)
    with pytest.raises(AssertionError, match=r"account 7: early .* arrived after late"):
        target.assert_ordered()


def test_order_is_per_account(target: WebhookTarget) -> None:
    send(target, event("a2", seconds=10), account_id=1)
    send(target, event("b1", seconds=0), account_id=2)
    target.assert_ordered()


def test_order_against_expected_ids(target: WebhookTarget) -> None:
    send(target, event("a"), event("b"))
    target.assert_ordered(["a", "b"])
    with pytest.raises(
        AssertionError, match=r"account 1010: b arrived after a, but was expected before it"
    ):
        target.assert_ordered(["b", "a"])


def test_scripted_failures_come_first_then_202(target: WebhookTarget) -> None:
    target.respond(500, times=2)
    statuses = [send(target, event("a")) for _ in range(3)]
    assert statuses == [500, 500, 202]
    # Only the accepted delivery counts as received.
    target.assert_received(["a"])
    assert [r.status for r in target.requests] == [500, 500, 202]


def test_respond_for_every_later_request(target: WebhookTarget) -> None:
    target.respond(410, times=None)
    assert [send(target, event(str(n))) for n in range(3)] == [410, 410, 410]
    assert target.events == []


def test_scripted_answer_carries_body_and_headers(target: WebhookTarget) -> None:
    target.respond(503, body={"error": "busy"}, headers={"Retry-After": "7"})
    response = post_webhook(target.url, make_envelope(event("a")), secret=SECRET)
    assert (response.status, response.json(), response.headers["retry-after"]) == (
        503,
        {"error": "busy"},
        "7",
    )


def test_delay_holds_the_answer(target: WebhookTarget) -> None:
    target.respond(202, delay=0.3)
    started = time.monotonic()
    send(target, event("a"))
    assert time.monotonic() - started >= 0.3


def test_bad_signature_is_rejected_with_its_reason(target: WebhookTarget) -> None:
    envelope = make_envelope(event("a"))
    assert post_webhook(target.url, envelope, secret=SECRET, tamper="wrong-secret").status == 401
    (rejected,) = target.rejected
    assert isinstance(rejected.error, SignatureMismatchError)
    assert rejected.reason.startswith("SignatureMismatchError")
    assert target.events == []


def test_invalid_envelope_is_rejected_with_400(target: WebhookTarget) -> None:
    assert post_webhook(target.url, b'{"accountId": "x"}', secret=SECRET).status == 400
    assert target.rejected[0].status == 400


def test_other_paths_get_404(target: WebhookTarget) -> None:
    url = target.url.replace("/webhooks", "/elsewhere")
    assert post_webhook(url, make_envelope(event("a")), secret=SECRET).status == 404
    assert target.rejected[0].path == "/elsewhere"


def test_wait_for_times_out_saying_what_arrived(target: WebhookTarget) -> None:
    send(target, event("a"))
    post_webhook(target.url, make_envelope(event("b")), secret=SECRET, tamper="stale")
    with pytest.raises(AssertionError, match=r"for 2 events.*1 accepted: a; 1 refused: 401"):
        target.wait_for(2, timeout=0.2)


def test_target_without_credentials_takes_unsigned_requests() -> None:
    with WebhookTarget() as target:
        assert post_webhook(target.url, make_envelope(event("a"))).status == 202
        target.assert_received(["a"])


def test_basic_auth_target_refuses_a_wrong_password() -> None:
    with WebhookTarget(basic_auth=("hooks", "s3cret")) as target:
        envelope = make_envelope(event("a"))
        assert post_webhook(target.url, envelope, basic_auth="hooks:s3cret").status == 202
        bad = post_webhook(target.url, envelope, basic_auth="hooks:s3cret", tamper="wrong-password")
        assert bad.status == 401


def published(sender: TestingSender, *ids: str, account_id: int = 1010) -> None:
    for n, event_id in enumerate(ids):
        data = make_event("COURSE_COMPLETED", rng=n)["data"]
        sender.publish("COURSE_COMPLETED", data=data, account_id=account_id, event_id=event_id)


def test_real_sender_delivers_every_event_once_in_order(
    hookwire_sender: TestingSender, webhook_target: WebhookTarget
) -> None:
    hookwire_sender.webhook_to(webhook_target, events=["COURSE_COMPLETED"])
    published(hookwire_sender, "e1", "e2", "e3")
    hookwire_sender.deliver_now()
    webhook_target.assert_received(["e1", "e2", "e3"])
    webhook_target.assert_ordered(["e1", "e2", "e3"])
    webhook_target.assert_no_duplicates()
    assert webhook_target.rejected == []


def test_real_sender_retries_a_failing_target(
    hookwire_sender: TestingSender, webhook_target: WebhookTarget
) -> None:
    webhook_target.respond(500, times=2)
    hookwire_sender.webhook_to(webhook_target, events=["COURSE_COMPLETED"])
    published(hookwire_sender, "e1")
    hookwire_sender.deliver_now(retry_for=5)
    webhook_target.assert_received(["e1"])
    assert [r.status for r in webhook_target.requests] == [500, 500, 202]
    # The retries are one delivery: the same webhook-id each time.
    assert len({r.headers["webhook-id"] for r in webhook_target.requests}) == 1


def test_real_sender_with_ed25519_is_verified(
    hookwire_sender: TestingSender, webhook_target: WebhookTarget
) -> None:
    hookwire_sender.webhook_to(webhook_target, auth="signature-ed25519")
    published(hookwire_sender, "e1")
    hookwire_sender.deliver_now()
    webhook_target.assert_received(["e1"])
    assert webhook_target.requests[0].headers["webhook-signature"].startswith("v1a,")


def test_target_refuses_a_sender_with_another_key(
    hookwire_sender: TestingSender, webhook_target: WebhookTarget
) -> None:
    hookwire_sender.webhook_to(webhook_target)
    webhook_target.verify_with(secret=generate_secret())
    published(hookwire_sender, "e1")
    hookwire_sender.deliver_now()
    assert webhook_target.events == []
    assert isinstance(webhook_target.rejected[0].error, SignatureMismatchError)


def test_real_sender_with_basic_auth_is_verified(
    hookwire_sender: TestingSender, webhook_target: WebhookTarget
) -> None:
    hookwire_sender.webhook_to(webhook_target, auth=BasicAuth("hooks", "s3cret"))
    published(hookwire_sender, "e1")
    hookwire_sender.deliver_now()
    webhook_target.assert_received(["e1"])
    assert webhook_target.requests[0].headers["authorization"].startswith("Basic ")
