"""What the store hands the dispatcher (a job) and what it hands back (an outcome).

The dispatcher never touches SQL: it receives :class:`Job` objects from
``Store.claim`` and hands :class:`Outcome` objects back to the next claim
(its ``outcomes``), which records them in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

__all__ = ["Job", "Outcome", "Verdict", "request_body"]

Verdict = Literal["succeeded", "retry", "split", "dead", "disable"]
"""``retry``: try the same request later; ``split``: the target refused a request of
several events as too large (413), so its first half is sent at once as a request of
its own and the rest queued again behind it; ``dead``: give the request up;
``disable``: give up and switch the webhook off (410, or failing for ``max_age``)."""


@dataclass(frozen=True, slots=True)
class Job:
    """One request to send: a webhook (with its credentials), the exact body, its deliveries.

    ``trace_contexts`` are the stored trace contexts of ``event_ids``, in order (each
    ``None`` where an event was published untraced), or empty when none has one.
    """

    webhook_id: str
    account_id: int
    target_url: str
    auth: str
    request_id: str
    body: bytes
    event_ids: tuple[str, ...]
    attempts: int
    oldest_event_at: datetime
    failing_since: datetime | None
    delivery_seqs: tuple[int, ...] = ()
    basic_username: str | None = None
    basic_password: str | None = field(default=None, repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    trace_contexts: tuple[str | None, ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one attempt at a :class:`Job`, and what to do next."""

    job: Job
    attempt_id: str
    started_at: datetime
    status_code: int | None
    latency_ms: float
    error: str | None
    response_body: str
    verdict: Verdict
    next_attempt_at: datetime | None = None
    disabled_reason: str | None = None


def request_body(account_id: int, payloads: Sequence[str]) -> str:
    """A request's body: the envelope of ``payloads``, each an event's stored JSON, in order.

    The stored JSON goes in as it is, so a request carries every event exactly
    as it was published.
    """
    return f'{{"accountId":{int(account_id)},"events":[{",".join(payloads)}]}}'
