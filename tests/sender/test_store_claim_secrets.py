"""A claimed job carries the webhook's secrets valid at the claim, newest first, on both stores."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sender_support import COMPLETED, FakeClock, Sink, hook_for

from hookwire.sender import Sender
from hookwire.sender.store import Store

MakeSender = Callable[..., Sender]


def _claimed_secrets(store: Store, clock: FakeClock) -> tuple[str, ...]:
    (job,) = store.claim(
        owner="t",
        now=clock(),
        lease=timedelta(seconds=30),
        limit=5,
        max_batch=10,
        max_batch_bytes=10**6,
    )
    store.release([job.webhook_id], owner="t", now=clock())
    return job.secrets


def test_a_claim_during_a_rotation_carries_the_new_then_the_old_secret(
    make_sender: MakeSender, store_url: str, sink: Sink, clock: FakeClock, store: Store
) -> None:
    sender = make_sender(store_url)
    hook_id = hook_for(sender, sink)
    old = sender.webhooks.signature_file(hook_id).secret
    sender.webhooks.rotate_secret(hook_id, grace=timedelta(hours=1))
    new = sender.webhooks.signature_file(hook_id).secret
    sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    assert _claimed_secrets(store, clock) == (new, old)


def test_a_claim_after_the_grace_period_carries_only_the_new_secret(
    make_sender: MakeSender, store_url: str, sink: Sink, clock: FakeClock, store: Store
) -> None:
    sender = make_sender(store_url)
    hook_id = hook_for(sender, sink)
    sender.webhooks.rotate_secret(hook_id, grace=timedelta(hours=1))
    new = sender.webhooks.signature_file(hook_id).secret
    sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    clock.advance(3601)
    assert _claimed_secrets(store, clock) == (new,)


def test_a_claim_for_a_webhook_without_a_secret_carries_none(
    make_sender: MakeSender, store_url: str, sink: Sink, clock: FakeClock, store: Store
) -> None:
    sender = make_sender(store_url)
    hook_for(sender, sink, auth=None)
    sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    assert _claimed_secrets(store, clock) == ()
