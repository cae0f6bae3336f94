"""The test delivery, a probe of a webhook: one signed ``HOOKWIRE_TEST`` event sent to
it now, outside its queue (``sender.webhooks.test``), its attempt recorded like any other.

(Named ``probe`` so that no test runner takes its functions for tests.)"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from .models import Attempt, Webhook
from .outbox import wire_timestamp
from .rows import new_id
from .store import Store
from .work import Job, Outcome

__all__ = ["TEST_EVENT_NAME", "probe_attempt", "probe_job"]

TEST_EVENT_NAME = "HOOKWIRE_TEST"


def probe_job(store: Store, webhook: Webhook, now: datetime) -> Job:
    """The request of one test event to ``webhook``, signed with its secrets valid at ``now``."""
    event_id = f"evt_test_{uuid.uuid4().hex}"
    event = {
        "eventId": event_id,
        "eventName": TEST_EVENT_NAME,
        "timestamp": wire_timestamp(now),
        "data": {"webhookId": webhook.id, "message": "a test delivery from hookwire"},
    }
    body = json.dumps({"accountId": webhook.account_id, "events": [event]}, separators=(",", ":"))
    secrets = store.valid_secrets([webhook.id], now=now).get(webhook.id, [])
    return Job(
        webhook_id=webhook.id,
        account_id=webhook.account_id,
        target_url=webhook.target_url,
        auth=webhook.auth,
        request_id=new_id("msg"),
        body=body.encode(),
        event_ids=(event_id,),
        attempts=0,
        oldest_event_at=now,
        failing_since=None,
        basic_username=webhook.basic_username,
        basic_password=store.basic_password(webhook.id),
        secrets=tuple(secrets),
    )


def probe_attempt(job: Job, outcome: Outcome) -> Attempt:
    """The attempt a test delivery's ``outcome`` records, as the attempt log shows it."""
    return Attempt(
        id=outcome.attempt_id,
        request_id=job.request_id,
        webhook_id=job.webhook_id,
        started_at=outcome.started_at,
        status_code=outcome.status_code,
        latency_ms=outcome.latency_ms,
        error=outcome.error,
        response_body=outcome.response_body,
        event_ids=job.event_ids,
    )
