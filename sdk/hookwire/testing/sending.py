"""TestingSender: hookwire's sender plus the two calls a test needs (``hookwire_sender``).

It is a :class:`~hookwire.sender.Sender` (so everything a test does with it is
what production code does), plus :meth:`TestingSender.deliver_now`, which
delivers what is due and returns, and :meth:`TestingSender.webhook_to`,
which registers a webhook to a :class:`~hookwire.testing.WebhookTarget` and
hands the target the webhook's key.

Example::

    with TestingSender("sqlite:///test.db", allow_private_targets=True) as sender:
        sender.webhook_to(target, events=["COURSE_COMPLETED"])
        sender.publish("COURSE_COMPLETED", data={...}, account_id=1010)
        sender.deliver_now()
        target.assert_received([...])
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..events import CATALOGUE
from ..extras import requires_extra

with requires_extra("sender", "hookwire.testing.TestingSender", "aiohttp", "sqlalchemy", "yarl"):
    from ..sender import BasicAuth, RetryPolicy, Sender, Webhook

if TYPE_CHECKING:
    from ..sender.registry import Auth
    from .target import WebhookTarget

__all__ = ["QUICK_RETRIES", "TestingSender"]

_SIGNED = ("signature", "signature-ed25519")
_POLL = 0.02

QUICK_RETRIES = RetryPolicy(delays=(0.05, 0.1, 0.2), then_every=0.2, jitter=0)
"""Retries after 0.05, 0.1 and 0.2 s, then every 0.2 s: the ``hookwire_sender`` fixture's policy."""


class TestingSender(Sender):
    """A :class:`~hookwire.sender.Sender` that delivers on request, for tests.

    Build it as a ``Sender`` (``allow_private_targets=True`` to reach
    127.0.0.1). In an async test, ``await sender.drain()`` instead of
    :meth:`deliver_now`.
    """

    __test__ = False  # not a pytest test class, whatever its name says

    def deliver_now(self, *, retry_for: float = 0.0) -> None:
        """Deliver everything due now and return when nothing is due or in flight.

        Retries scheduled for later are not due now. With ``retry_for``
        (seconds), retries that fall due within that time are delivered too:
        this returns once no delivery is pending or failed (waiting for a
        retry), or when the time is up. With :data:`QUICK_RETRIES` (the
        ``hookwire_sender`` fixture's policy) a second covers a few failures.
        """
        deadline = time.monotonic() + retry_for
        asyncio.run(self.drain())
        while time.monotonic() < deadline:
            counts = self.deliveries.counts()
            if not counts.get("pending") and not counts.get("failed"):
                return
            time.sleep(min(_POLL, max(0.0, deadline - time.monotonic())))
            asyncio.run(self.drain())

    def webhook_to(
        self,
        target: WebhookTarget,
        *,
        events: Iterable[str] | None = None,
        account_id: int = 1010,
        auth: Auth = "signature",
        name: str = "test target",
    ) -> Webhook:
        """Register a webhook to ``target.url`` and make ``target`` verify with its key.

        ``events`` defaults to every catalogue name; ``auth`` is what
        ``sender.webhooks.create`` takes (``"signature"`` by default). The
        target then checks requests exactly as a listener holding the
        webhook's signature file (or basic auth password) would.
        """
        hook = self.webhooks.create(
            name=name,
            target_url=target.url,
            events=list(CATALOGUE) if events is None else list(events),
            account_id=account_id,
            auth=auth,
        )
        if auth in _SIGNED:
            target.verify_with(signature_file=self.webhooks.signature_file(hook.id))
        elif isinstance(auth, BasicAuth):
            target.verify_with(basic_auth=(auth.username, auth.password))
        else:
            target.verify_with()
        return hook
