"""sender.deliveries.page, sender.events.page and sender.deliveries.stats, on SQLite and
PostgreSQL: keyset pages that hold every row once, filters, cursors, and a webhook's stats."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from sender_support import COMPLETED, FakeClock, Sink, hook_for

from hookwire.errors import NotFoundError, QueryError
from hookwire.sender import DeliveryPage, EventPage, Publication, Sender, WebhookStats

CI_STATS = {"loInstanceId": "course:1_1", "waitlistCount": 0, "enrollmentCount": 3, "seatLimit": 9}


@pytest.fixture
def log_sender(make_sender: Callable[..., Sender], store_url: str) -> Sender:
    return make_sender(store_url)


def _publish(sender: Sender, account_id: int, count: int, name: str = "COURSE_COMPLETED") -> None:
    data = COMPLETED if name == "COURSE_COMPLETED" else CI_STATS
    sender.publish_many([Publication(name, data=data, account_id=account_id) for _ in range(count)])


def _all_deliveries(sender: Sender, **filters: Any) -> list[str]:
    ids: list[str] = []
    page = sender.deliveries.page(**filters, limit=4)
    while True:
        ids.extend(d.id for d in page.items)
        if page.next_cursor is None:
            return ids
        page = sender.deliveries.page(**filters, cursor=page.next_cursor, limit=4)


def _seqs(ids: list[str]) -> list[int]:
    return [int(i.removeprefix("dlv_")) for i in ids]


def test_pages_hold_every_delivery_once_newest_first(log_sender: Sender, sink: Sink) -> None:
    first = hook_for(log_sender, sink, events=["COURSE_COMPLETED", "CI_STATS"])
    second = hook_for(log_sender, sink, events=["COURSE_COMPLETED", "CI_STATS"])
    hook_for(log_sender, sink, account_id=2, events=["COURSE_COMPLETED", "CI_STATS"])
    _publish(log_sender, 1, 5)
    _publish(log_sender, 2, 6)
    _publish(log_sender, 1, 4, name="CI_STATS")
    every = log_sender.deliveries.list(limit=100)

    ids = _all_deliveries(log_sender, account_id=1)

    assert sorted(ids) == sorted(d.id for d in every if d.webhook_id in {first, second})
    assert len(ids) == len(set(ids)) == 18
    assert _seqs(ids) == sorted(_seqs(ids), reverse=True)
    assert _all_deliveries(log_sender) == [d.id for d in every]
    assert _all_deliveries(log_sender, webhook_id=second) == [
        d.id for d in every if d.webhook_id == second
    ]
    assert _all_deliveries(log_sender, account_id=1, event_name="CI_STATS") == [
        d.id for d in every if d.event_name == "CI_STATS"
    ]
    assert _all_deliveries(log_sender, account_id=2, webhook_id=first) == []
    assert _all_deliveries(log_sender, account_id=3) == []


def test_deliveries_published_while_paging_neither_shift_nor_repeat_a_page(
    log_sender: Sender, sink: Sink
) -> None:
    hook_for(log_sender, sink)
    _publish(log_sender, 1, 6)
    before = [d.id for d in log_sender.deliveries.list()]
    page = log_sender.deliveries.page(account_id=1, limit=4)
    _publish(log_sender, 1, 3)
    rest = log_sender.deliveries.page(account_id=1, limit=4, cursor=page.next_cursor)
    assert [d.id for d in page.items + rest.items] == before
    assert rest.next_cursor is None


async def test_status_and_time_filters_and_attempt_counts(
    log_sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    failing = hook_for(log_sender, sink)
    _publish(log_sender, 1, 2)
    sink.answer(web.Response(status=500))
    await log_sender.drain()
    clock.advance(60)
    cut = clock.now
    _publish(log_sender, 1, 3)

    failed = log_sender.deliveries.page(account_id=1, status="failed")
    assert len(failed.items) == 2
    assert set(failed.attempt_counts.values()) == {1}
    pending = log_sender.deliveries.page(webhook_id=failing, status="pending")
    assert len(pending.items) == 3
    assert set(pending.attempt_counts.values()) == {0}
    assert len(log_sender.deliveries.page(since=cut).items) == 3
    assert len(log_sender.deliveries.page(until=cut).items) == 2
    clock.advance(10)  # past the retry: the request goes again and succeeds
    await log_sender.drain()
    done = log_sender.deliveries.page(status="succeeded", until=cut)
    assert set(done.attempt_counts.values()) == {2}


async def test_a_redelivered_delivery_counts_the_attempts_of_every_request(
    log_sender: Sender, sink: Sink
) -> None:
    hook_for(log_sender, sink)
    _publish(log_sender, 1, 1)
    await log_sender.drain()
    (delivery,) = log_sender.deliveries.page().items
    log_sender.deliveries.redeliver(delivery.id)
    await log_sender.drain()
    page = log_sender.deliveries.page()
    assert page.attempt_counts == {delivery.id: 2}
    assert len(log_sender.deliveries.get(delivery.id).attempts) == 2


def test_event_pages_order_events_of_one_instant_by_id(log_sender: Sender) -> None:
    # The clock stands still: every event has the same created_at.
    _publish(log_sender, 1, 7)
    _publish(log_sender, 2, 2)
    _publish(log_sender, 1, 3, name="CI_STATS")
    seen: list[str] = []
    page = log_sender.events.page(account_id=1, limit=3)
    while True:
        assert isinstance(page, EventPage)
        seen.extend(event.id for event in page.items)
        if page.next_cursor is None:
            break
        page = log_sender.events.page(account_id=1, limit=3, cursor=page.next_cursor)
    assert len(seen) == len(set(seen)) == 10
    assert seen == sorted(seen, reverse=True)
    named = log_sender.events.page(account_id=1, name="CI_STATS", limit=50)
    assert len(named.items) == 3
    assert named.next_cursor is None


def test_event_pages_filter_by_time(log_sender: Sender, clock: FakeClock) -> None:
    _publish(log_sender, 1, 2)
    clock.advance(30)
    cut = clock.now
    _publish(log_sender, 1, 1)
    assert [e.created_at for e in log_sender.events.page(since=cut).items] == [cut]
    assert len(log_sender.events.page(until=cut).items) == 2


@pytest.mark.parametrize(
    "arguments",
    [
        {"cursor": "%%%"},
        {"cursor": "WyJldmVudCIsMV0"},  # an events cursor
        {"cursor": "WyJkZWxpdmVyeSIsLTFd"},  # a negative seq
        {"limit": 0},
        {"limit": 1001},
        {"limit": "5"},
        {"status": "lost"},
        {"since": datetime(2026, 1, 1)},
        {"until": "2026-01-01"},
        {"account_id": "1"},
        {"webhook_id": 5},
        {"event_name": "x" * 121},
    ],
)
def test_a_bad_delivery_page_argument_is_a_query_error(
    log_sender: Sender, arguments: dict[str, Any]
) -> None:
    with pytest.raises(QueryError) as raised:
        log_sender.deliveries.page(**arguments)
    assert next(iter(arguments)) in str(raised.value)


@pytest.mark.parametrize(
    "arguments",
    [{"cursor": "WyJkZWxpdmVyeSIsNV0"}, {"cursor": "WyJldmVudCIsWzEsMl1d"}, {"name": 7}],
)
def test_a_bad_event_page_argument_is_a_query_error(
    log_sender: Sender, arguments: dict[str, Any]
) -> None:
    with pytest.raises(QueryError):
        log_sender.events.page(**arguments)


async def test_stats_measure_attempts_in_the_window(
    log_sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    webhook_id = hook_for(log_sender, sink)
    _publish(log_sender, 1, 1)
    sink.answer(web.Response(status=503))
    await log_sender.drain()
    clock.advance(10)
    await log_sender.drain()  # the retry succeeds
    _publish(log_sender, 1, 2)  # queued, not sent yet

    stats = log_sender.deliveries.stats(webhook_id, window=timedelta(hours=1))

    assert isinstance(stats, WebhookStats)
    assert (stats.attempts, stats.succeeded, stats.success_rate) == (2, 1, 0.5)
    assert stats.last_status_code == 202
    assert stats.last_attempt_at == clock.now
    assert stats.failing_since is None
    assert stats.queue_depth == 2
    clock.advance(7200)
    later = log_sender.deliveries.stats(webhook_id, window=timedelta(hours=1))
    assert (later.attempts, later.success_rate, later.last_status_code) == (0, None, 202)


async def test_stats_show_since_when_a_webhook_fails(log_sender: Sender, sink: Sink) -> None:
    webhook_id = hook_for(log_sender, sink)
    _publish(log_sender, 1, 1)
    sink.answer(web.Response(status=500, text="down"))
    await log_sender.drain()
    stats = log_sender.deliveries.stats(webhook_id)
    assert stats.success_rate == 0.0
    assert stats.last_status_code == 500
    assert stats.failing_since is not None
    assert stats.window == timedelta(hours=24)


def test_stats_of_a_missing_webhook_or_a_bad_window_are_refused(log_sender: Sender) -> None:
    with pytest.raises(NotFoundError):
        log_sender.deliveries.stats("wh_missing")
    with pytest.raises(QueryError):
        log_sender.deliveries.stats("wh_missing", window=timedelta(0))


def test_an_empty_log_is_one_empty_page(log_sender: Sender) -> None:
    assert log_sender.deliveries.page() == DeliveryPage((), None)
    assert log_sender.events.page(since=datetime.now(UTC)) == EventPage((), None)
