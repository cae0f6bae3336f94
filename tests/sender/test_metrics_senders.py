"""One Metrics, several senders: shared counters, the queue read through an open sender,
a second Metrics on one registry refused in one line, and nothing left open behind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sender_support import COMPLETED

from hookwire import ConfigurationError
from hookwire.metrics import Metrics
from hookwire.sender import Sender
from hookwire.sender import sender as sender_module
from hookwire.sender.store import Store, readings

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(registry: CollectorRegistry) -> Samples:
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def queued(registry: CollectorRegistry) -> float | None:
    return samples(registry).get(("hookwire_queue_depth", (("state", "queued"),)))


def publish_one(sender: Sender) -> None:
    sender.webhooks.create(
        name="lms",
        target_url="http://127.0.0.1:9/hook",
        events=["COURSE_COMPLETED"],
        account_id=1,
        auth="signature",
    )
    sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)


@pytest.fixture
def queue_reads(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The databases the queue gauges read, in order."""
    reads: list[object] = []
    real = readings.queue

    def recording(db: Any, **options: Any) -> list[readings.QueueReading]:
        reads.append(db)
        return real(db, **options)

    monkeypatch.setattr(readings, "queue", recording)
    return reads


@pytest.fixture
def closed_stores(monkeypatch: pytest.MonkeyPatch) -> list[Store]:
    """Every Store a Sender closes, in order."""
    closed: list[Store] = []

    class RecordingStore(Store):
        def close(self) -> None:
            closed.append(self)
            super().close()

    monkeypatch.setattr(sender_module, "Store", RecordingStore)
    return closed


def test_a_second_metrics_on_one_registry_is_refused_in_one_line(
    make_sender: Callable[..., Sender], closed_stores: list[Store]
) -> None:
    registry = CollectorRegistry()
    make_sender(metrics=Metrics(registry))
    with pytest.raises(ConfigurationError, match="registered in this registry already") as info:
        make_sender(metrics=Metrics(registry))
    assert "\n" not in str(info.value)
    assert "one Metrics per registry" in str(info.value)
    assert info.value.__cause__ is None
    assert len(closed_stores) == 1  # the refused sender's store, closed before it raised


def test_a_refused_sender_leaves_the_registry_as_it_was(
    make_sender: Callable[..., Sender],
) -> None:
    registry = CollectorRegistry()
    Counter("hookwire_deliveries", "the application's own", registry=registry)
    before = set(generate_latest(registry).decode().splitlines())
    with pytest.raises(ConfigurationError, match=r"^hookwire_deliveries is registered"):
        make_sender(metrics=Metrics(registry))
    assert set(generate_latest(registry).decode().splitlines()) == before


def test_a_failure_after_the_store_opens_closes_it(
    make_sender: Callable[..., Sender],
    closed_stores: list[Store],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("broken")

    monkeypatch.setattr(Metrics, "for_sender", broken)
    with pytest.raises(RuntimeError, match="broken"):
        make_sender(metrics=Metrics())
    assert len(closed_stores) == 1


def test_one_metrics_counts_two_senders_on_one_database_and_reads_the_queue_once(
    make_sender: Callable[..., Sender], queue_reads: list[object]
) -> None:
    metrics = Metrics()
    first, second = make_sender(metrics=metrics), make_sender(metrics=metrics)
    publish_one(first)
    assert queued(metrics.registry) == 1
    assert len(queue_reads) == 1
    assert first.engine is not second.engine


def test_after_a_sender_closes_the_queue_is_read_through_one_still_open(
    make_sender: Callable[..., Sender], queue_reads: list[object]
) -> None:
    metrics = Metrics()
    first, second = make_sender(metrics=metrics), make_sender(metrics=metrics)
    publish_one(second)
    first.close()
    assert queued(metrics.registry) == 1
    assert first.engine.pool.checkedin() == 0  # the closed sender's database is not reopened
    assert second.engine.pool.checkedin() == 1


def test_a_scrape_after_the_last_sender_closes_reads_no_database(
    make_sender: Callable[..., Sender],
    queue_reads: list[object],
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    sender = make_sender(metrics=metrics)
    publish_one(sender)
    assert queued(metrics.registry) == 1
    sender.close()
    scraped = samples(metrics.registry)
    assert not [name for name, _ in scraped if name.startswith("hookwire_queue_")]
    assert "hookwire_dispatch_attempts_total" not in {name for name, _ in scraped}  # no attempts
    assert len(queue_reads) == 1
    assert sender.engine.pool.checkedin() == 0
    assert not caplog.records


def test_once_its_senders_close_a_metrics_takes_a_sender_on_another_database(
    make_sender: Callable[..., Sender], tmp_path_factory: pytest.TempPathFactory
) -> None:
    metrics = Metrics()
    make_sender(metrics=metrics).close()
    other = make_sender(
        f"sqlite:///{tmp_path_factory.mktemp('other') / 'other.db'}", metrics=metrics
    )
    publish_one(other)
    assert queued(metrics.registry) == 1


def test_a_sender_refused_for_another_database_does_not_stop_the_first_s_gauges(
    make_sender: Callable[..., Sender], tmp_path_factory: pytest.TempPathFactory
) -> None:
    metrics = Metrics()
    first = make_sender(metrics=metrics)
    publish_one(first)
    other = f"sqlite:///{tmp_path_factory.mktemp('other') / 'other.db'}"
    with pytest.raises(ConfigurationError, match="another database"):
        make_sender(other, metrics=metrics)
    assert queued(metrics.registry) == 1
