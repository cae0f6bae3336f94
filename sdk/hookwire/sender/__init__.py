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
    from .registry import KEEP as KEEP
    from .retry import RetryPolicy as RetryPolicy
    from .sender import Sender as Sender

__all__ = [
    "ATTEMPT_LOG_FIELD",
    "DELIVERY_STATUSES",
    "KEEP",
    "Attempt",
    "BasicAuth",
    "Delivery",
    "DeliveryPage",
    "DeliveryStatus",
    "EventPage",
    "Publication",
    "Published",
    "RetryPolicy",
    "Sender",
    "StoredEvent",
    "Webhook",
    "WebhookStats",
]
