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

from .models import Attempt as Attempt
from .models import BasicAuth as BasicAuth
from .models import Delivery as Delivery
from .models import Publication as Publication
from .models import StoredEvent as StoredEvent
from .models import Webhook as Webhook
from .retry import RetryPolicy as RetryPolicy
from .sender import Sender as Sender

__all__ = [
    "Attempt",
    "BasicAuth",
    "Delivery",
    "Publication",
    "RetryPolicy",
    "Sender",
    "StoredEvent",
    "Webhook",
]
