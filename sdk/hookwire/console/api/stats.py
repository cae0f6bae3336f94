"""``/accounts/<id>/stats`` and ``/accounts/<id>/webhooks/<webhook_id>/stats``: how webhooks do.

The success rate is over HTTP attempts (see :class:`~hookwire.sender.WebhookStats`):
the share of attempts started in the window that the target answered 2xx.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field

from ...sender import WebhookStats
from ..routing import ApiModel, Call, InputModel, route

__all__: list[str] = []

_TAG = "stats"


class StatsQuery(InputModel):
    """The window the success rate covers, in hours up to a week back from now."""

    window_hours: int = Field(24, ge=1, le=7 * 24)


class WebhookStatsModel(ApiModel):
    """A webhook's health: attempts and success rate over the window, its last attempt,
    since when it has been failing, and how many deliveries wait (``queueDepth``)."""

    webhook_id: str
    window_hours: float
    attempts: int
    succeeded: int
    success_rate: float | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    failing_since: datetime | None
    queue_depth: int

    @classmethod
    def of(cls, stats: WebhookStats) -> WebhookStatsModel:
        """The model of the library's stats."""
        return cls(
            webhook_id=stats.webhook_id,
            window_hours=stats.window / timedelta(hours=1),
            attempts=stats.attempts,
            succeeded=stats.succeeded,
            success_rate=stats.success_rate,
            last_attempt_at=stats.last_attempt_at,
            last_status_code=stats.last_status_code,
            last_error=stats.last_error,
            failing_since=stats.failing_since,
            queue_depth=stats.queue_depth,
        )


class AccountStats(ApiModel):
    """The stats of each of the account's webhooks, oldest webhook first."""

    items: list[WebhookStatsModel]


@route(
    "GET",
    "/accounts/<int:account_id>/webhooks/<webhook_id>/stats",
    capability="read",
    summary="Show a webhook's success rate, last attempt and queue depth",
    query=StatsQuery,
    response=WebhookStatsModel,
    tag=_TAG,
)
def webhook_stats(call: Call) -> WebhookStatsModel:
    """One webhook's stats over the last ``windowHours`` (24 by default)."""
    query: StatsQuery = call.query
    webhook = call.webhook(call.params["webhook_id"])
    window = timedelta(hours=query.window_hours)
    return WebhookStatsModel.of(call.sender.deliveries.stats(webhook.id, window=window))


@route(
    "GET",
    "/accounts/<int:account_id>/stats",
    capability="read",
    summary="Show the stats of every webhook of the account",
    query=StatsQuery,
    response=AccountStats,
    tag=_TAG,
)
def account_stats(call: Call) -> AccountStats:
    """Each of the account's webhooks' stats over the last ``windowHours``."""
    query: StatsQuery = call.query
    window = timedelta(hours=query.window_hours)
    return AccountStats(
        items=[
            WebhookStatsModel.of(call.sender.deliveries.stats(webhook.id, window=window))
            for webhook in call.sender.webhooks.list(call.account_id)
        ]
    )
