"""Dispatcher metrics: a real dispatcher, a healthy and a failing target, /metrics over HTTP."""

from __future__ import annotations

import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer
from sender_support import COMPLETED, FakeClock
from sqlalchemy.exc import OperationalError

from hookwire import ConfigurationError
from hookwire.metrics import Metrics, MetricsServer, serve_metrics
from hookwire.metrics._queue import QueueCollector
from hookwire.sender import Sender

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def server(metrics: Metrics) -> Iterator[MetricsServer]:
    served = serve_metrics(metrics, 0)
    yield served
    served.close()


def scrape(server: MetricsServer) -> Samples:
    """Every sample of ``/metrics``, by name and sorted labels."""
    url = f"http://{server.host}:{server.port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def hook(sender: Sender, url: str, name: str) -> str:
    created = sender.webhooks.create(
        name=name, target_url=url, events=["COURSE_COMPLETED"], account_id=1, auth="signature"
    )
    return created.id


def publish(sender: Sender, count: int) -> None:
    for _ in range(count):
        sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)


def logged_attempts(sender: Sender) -> Counter[tuple[str, int | None]]:
    """The attempt log, as (webhook id, status) -> attempts (each attempt counted once)."""
    seen: dict[str, tuple[str, int | None]] = {}
    for delivery in sender.deliveries.list(limit=1000):
        for attempt in sender.deliveries.get(delivery.id).attempts:
            seen[attempt.id] = (attempt.webhook_id, attempt.status_code)
    return Counter(seen.values())


@pytest.fixture
def targets(httpserver: HTTPServer) -> tuple[str, str]:
    httpserver.expect_request("/ok").respond_with_data("", status=202)
    httpserver.expect_request("/fail").respond_with_data("down", status=500)
    return httpserver.url_for("/ok"), httpserver.url_for("/fail")


async def test_scraped_attempt_counts_match_the_attempt_log(
    make_sender: Callable[..., Sender],
    metrics: Metrics,
    server: MetricsServer,
    targets: tuple[str, str],
    clock: FakeClock,
) -> None:
    sender = make_sender(metrics=metrics)
    ok, failing = hook(sender, targets[0], "ok"), hook(sender, targets[1], "failing")
    publish(sender, 3)
    await sender.drain()
    clock.advance(6)
    publish(sender, 2)
    await sender.drain()

    logged = logged_attempts(sender)
    samples = scrape(server)
    assert logged == {(ok, 202): 2, (failing, 500): 2}
    attempts = "hookwire_dispatch_attempts_total"
    assert samples[(attempts, (("status_class", "2xx"), ("verdict", "succeeded")))] == 2
    assert samples[(attempts, (("status_class", "5xx"), ("verdict", "retry")))] == 2
    assert samples[("hookwire_dispatch_attempt_duration_seconds_count", ())] == 4
    # Deliveries, not requests: five events reached the healthy target in two requests.
    assert samples[("hookwire_deliveries_total", (("outcome", "succeeded"),))] == 5
    assert samples[("hookwire_deliveries_total", (("outcome", "dead"),))] == 0
    # One latency per delivered request: its oldest delivery's wait.
    assert samples[("hookwire_delivery_latency_seconds_count", ())] == 2
    assert samples[("hookwire_dispatch_turn_store_seconds_count", ())] >= 2


async def test_a_disabled_webhook_counts_its_request_s_deliveries_dead(
    make_sender: Callable[..., Sender], metrics: Metrics, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/gone").respond_with_data("", status=410)
    sender = make_sender(metrics=metrics)
    hook(sender, httpserver.url_for("/gone"), "gone")
    publish(sender, 3)
    await sender.drain()
    value = metrics.registry.get_sample_value
    attempts = {"verdict": "disable", "status_class": "4xx"}
    assert value("hookwire_dispatch_attempts_total", attempts) == 1
    assert value("hookwire_deliveries_total", {"outcome": "dead"}) == 3
    assert value("hookwire_delivery_latency_seconds_count") == 0
    assert sender.deliveries.counts() == {"pending": 0, "succeeded": 0, "failed": 0, "dead": 3}


async def test_the_queue_gauges_count_what_the_failing_target_still_owes(
    make_sender: Callable[..., Sender],
    store_url: str,
    metrics: Metrics,
    server: MetricsServer,
    targets: tuple[str, str],
    clock: FakeClock,
) -> None:
    sender = make_sender(store_url, metrics=metrics)
    hook(sender, targets[0], "ok")
    hook(sender, targets[1], "failing")
    publish(sender, 3)
    before = scrape(server)
    await sender.drain()
    after = scrape(server)

    depth = "hookwire_queue_depth"
    assert before[(depth, (("state", "queued"),))] == 6
    assert after[(depth, (("state", "queued"),))] == 0
    assert after[(depth, (("state", "retrying"),))] == 3
    # The failing webhook waits out its retry: nothing the dispatcher could send is late.
    assert after[("hookwire_queue_oldest_age_seconds", ())] == 0
    clock.advance(30)
    assert scrape(server)[("hookwire_queue_oldest_age_seconds", ())] == pytest.approx(25, abs=1)


async def test_the_oldest_age_grows_while_work_waits_for_a_dispatcher(
    make_sender: Callable[..., Sender],
    metrics: Metrics,
    server: MetricsServer,
    targets: tuple[str, str],
    clock: FakeClock,
) -> None:
    sender = make_sender(metrics=metrics)
    hook(sender, targets[0], "ok")
    publish(sender, 1)
    clock.advance(42)
    assert scrape(server)[("hookwire_queue_oldest_age_seconds", ())] == 42
    await sender.drain()
    samples = scrape(server)
    assert samples[("hookwire_queue_oldest_age_seconds", ())] == 0
    # Published 42 s before the dispatcher delivered it.
    assert samples[("hookwire_delivery_latency_seconds_bucket", (("le", "30.0"),))] == 0
    assert samples[("hookwire_delivery_latency_seconds_bucket", (("le", "60.0"),))] == 1


async def test_per_webhook_queue_gauges_carry_the_webhook_id(
    make_sender: Callable[..., Sender], store_url: str, targets: tuple[str, str], clock: FakeClock
) -> None:
    metrics = Metrics(per_webhook=True)
    sender = make_sender(store_url, metrics=metrics)
    ok, failing = hook(sender, targets[0], "ok"), hook(sender, targets[1], "failing")
    publish(sender, 2)
    await sender.drain()
    publish(sender, 1)
    clock.advance(3)
    value = metrics.registry.get_sample_value
    assert value("hookwire_queue_depth", {"state": "queued", "webhook_id": ok}) == 1
    assert value("hookwire_queue_oldest_age_seconds", {"webhook_id": ok}) == 3
    assert value("hookwire_queue_depth", {"state": "retrying", "webhook_id": failing}) == 2
    # Its new event waits behind the retry: held back by ordering, not late.
    assert value("hookwire_queue_depth", {"state": "queued", "webhook_id": failing}) == 1
    assert value("hookwire_queue_oldest_age_seconds", {"webhook_id": failing}) == 0


def test_a_second_database_on_one_metrics_is_refused(
    make_sender: Callable[..., Sender], metrics: Metrics, tmp_path_factory: pytest.TempPathFactory
) -> None:
    make_sender(metrics=metrics)
    other = f"sqlite:///{tmp_path_factory.mktemp('other') / 'other.db'}"
    with pytest.raises(ConfigurationError, match="another database"):
        make_sender(other, metrics=metrics)


def test_metrics_must_be_a_metrics_object(make_sender: Callable[..., Sender]) -> None:
    with pytest.raises(ConfigurationError, match=r"hookwire\.metrics\.Metrics"):
        make_sender(metrics=object())


def test_a_scrape_with_the_database_down_leaves_out_only_the_queue(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def down(now: datetime, per_webhook: bool) -> list[Any]:
        raise OperationalError("SELECT", {}, Exception("connection refused\nDETAIL: secret"))

    registry = CollectorRegistry()
    collector = QueueCollector(per_webhook=False)
    collector.attach("a sender", "sqlite://", down, lambda: datetime.now(UTC))
    registry.register(collector)
    Metrics(registry).for_listener()
    text = generate_latest(registry).decode()
    assert "hookwire_listener_requests_total" in text
    assert "hookwire_queue_depth" not in text
    assert "could not read the queue" in caplog.text
    assert "secret" not in caplog.text
