"""The sending side: a webhook registry, a durable outbox and a dispatcher.

Example::

    from hookwire.sender import Sender
    sender = Sender("sqlite:///hookwire.db")
    hook = sender.webhooks.create(name="sync", target_url="https://example.com/hooks",
                                  events=["COURSE_COMPLETED"], auth="signature", account_id=1010)
    sender.publish("COURSE_COMPLETED", data={...}, account_id=1010)
    sender.publish_many([Publication("COURSE_COMPLETED", data={...}, account_id=1010), ...])
    await sender.run_dispatcher()

See docs/sender.md for the delivery semantics.
"""

from __future__ import annotations

from ..extras import requires_extra

# Without the sender extra, the first import of aiohttp or SQLAlchemy below names the extra.
with requires_extra("sender", __name__, "aiohttp", "sqlalchemy", "yarl"):
    from .dispatcher import ATTEMPT_LOG_FIELD as ATTEMPT_LOG_FIELD
    from .log_pages import DeliveryPage as DeliveryPage
    from .log_pages import EventPage as EventPage
    from .log_pages import WebhookStats as WebhookStats
    from .models import DELIVERY_STATUSES as DELIVERY_STATUSES
    from .models import Attempt as Attempt
    from .models import BasicAuth as BasicAuth
    from .models import Delivery as Delivery
    from .models import DeliveryStatus as DeliveryStatus
    from .models import Publication as Publication
    from .models import Published as Published
    from .models import StoredEvent as StoredEvent
    from .models import Webhook as Webhook
    from .operator import DELIVERIES_EXPIRED as DELIVERIES_EXPIRED
    from .operator import DELIVERY_DEAD as DELIVERY_DEAD
    from .operator import OPERATOR_ACCOUNT_ID as OPERATOR_ACCOUNT_ID
    from .operator import OPERATOR_EVENT_NAMES as OPERATOR_EVENT_NAMES
    from .operator import OPERATOR_WEBHOOK_ID as OPERATOR_WEBHOOK_ID
    from .operator import WEBHOOK_DISABLED as WEBHOOK_DISABLED
    from .operator import WEBHOOK_FAILING as WEBHOOK_FAILING
    from .operator import WEBHOOK_RECOVERED as WEBHOOK_RECOVERED
    from .operator import WEBHOOK_STILL_FAILING as WEBHOOK_STILL_FAILING
    from .operator import OperatorEvent as OperatorEvent
    from .registry import KEEP as KEEP
    from .retry import RetryPolicy as RetryPolicy
    from .sender import Sender as Sender

__all__ = [
    "ATTEMPT_LOG_FIELD",
    "DELIVERIES_EXPIRED",
    "DELIVERY_DEAD",
    "DELIVERY_STATUSES",
    "KEEP",
    "OPERATOR_ACCOUNT_ID",
    "OPERATOR_EVENT_NAMES",
    "OPERATOR_WEBHOOK_ID",
    "WEBHOOK_DISABLED",
    "WEBHOOK_FAILING",
    "WEBHOOK_RECOVERED",
    "WEBHOOK_STILL_FAILING",
    "Attempt",
    "BasicAuth",
    "Delivery",
    "DeliveryPage",
    "DeliveryStatus",
    "EventPage",
    "OperatorEvent",
    "Publication",
    "Published",
    "RetryPolicy",
    "Sender",
    "StoredEvent",
    "Webhook",
    "WebhookStats",
]
