"""Listener metrics through the Flask listener: statuses, verification reasons, duplicates."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from hookwire import ConfigurationError, Event, Receiver, sign_headers
from hookwire.flask import WebhookListener
from hookwire.listening import ListeningCore
from hookwire.metrics import VERIFICATION_REASONS, Metrics

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXkhIQ=="


def envelope(*event_ids: str) -> bytes:
    events = [
        {
            "eventId": event_id,
            "eventName": "COURSE_COMPLETED",
            "timestamp": "2026-11-28T17:00:00Z",
            "data": {"userId": 7, "loId": "c:1", "loInstanceId": "c:1_1", "hasPassed": True},
        }
        for event_id in event_ids
    ]
    return json.dumps({"accountId": 1010, "events": events}).encode()


def signed(body: bytes, secret: str = SECRET, **options: Any) -> dict[str, str]:
    return {"Content-Type": "application/json", **sign_headers(secret, body, **options)}


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def client(metrics: Metrics) -> FlaskClient:
    listener = WebhookListener(
        receiver=Receiver(secret=SECRET), metrics=metrics, metrics_path="/metrics"
    )

    @listener.on("COURSE_COMPLETED")
    def completed(event: Event) -> None:
        if event.event_id.startswith("boom"):
            raise RuntimeError("the handler broke")

    app = Flask(__name__)
    listener.init_app(app)
    return app.test_client()


def scrape(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def test_requests_are_counted_by_status(client: FlaskClient) -> None:
    body = envelope("e1")
    client.post("/webhooks", data=body, headers=signed(body))
    client.post("/webhooks", data=body, headers=signed(body, OTHER_SECRET))
    client.get("/webhooks")
    client.post("/webhooks", data=b"{}", headers={"Content-Type": "text/plain"})
    samples = scrape(client)
    requests = "hookwire_listener_requests_total"
    assert samples[(requests, (("status", "202"),))] == 1
    assert samples[(requests, (("status", "401"),))] == 1
    assert samples[(requests, (("status", "405"),))] == 1
    assert samples[(requests, (("status", "415"),))] == 1


def test_verification_failures_are_counted_by_reason_code(client: FlaskClient) -> None:
    body = envelope("e1")
    client.post("/webhooks", data=body, headers=signed(body, OTHER_SECRET))
    stale = int(time.time()) - 3600
    client.post("/webhooks", data=body, headers=signed(body, timestamp=stale))
    client.post("/webhooks", data=body, headers={"Content-Type": "application/json"})
    samples = scrape(client)
    failures = "hookwire_listener_verification_failures_total"
    assert samples[(failures, (("reason", "signature"),))] == 1
    assert samples[(failures, (("reason", "timestamp"),))] == 1
    assert samples[(failures, (("reason", "header"),))] == 1
    assert samples[(failures, (("reason", "basic_auth"),))] == 0
    reasons = {labels[0][1] for name, labels in samples if name == failures}
    assert reasons <= {*VERIFICATION_REASONS.values(), "other"}


def test_no_reason_label_holds_an_error_text(client: FlaskClient) -> None:
    body = envelope("e1")
    headers = {**signed(body), "webhook-signature": "v1,not-base64!!"}
    client.post("/webhooks", data=body, headers=headers)
    text = client.get("/metrics").get_data(as_text=True)
    assert "not-base64" not in text
    assert SECRET not in text


def test_duplicates_and_accepted_events_are_counted(client: FlaskClient) -> None:
    first = envelope("e1", "e2")
    client.post("/webhooks", data=first, headers=signed(first))
    again = envelope("e2", "e3")
    client.post("/webhooks", data=again, headers=signed(again))
    samples = scrape(client)
    assert samples[("hookwire_listener_events_total", ())] == 3
    assert samples[("hookwire_listener_duplicates_total", ())] == 1
    assert samples[("hookwire_listener_handler_duration_seconds_count", ())] == 3


def test_a_failing_handler_is_counted_and_answered_500(client: FlaskClient) -> None:
    body = envelope("boom-1")
    response = client.post("/webhooks", data=body, headers=signed(body))
    samples = scrape(client)
    assert response.status_code == 500
    assert samples[("hookwire_listener_handler_failures_total", ())] == 1
    assert samples[("hookwire_listener_requests_total", (("status", "500"),))] == 1
    assert samples[("hookwire_listener_events_total", ())] == 0


def test_the_listening_core_counts_without_any_framework(metrics: Metrics) -> None:
    core = ListeningCore(Receiver(secret=SECRET), metrics=metrics)
    body = envelope("e1")
    core.handle("POST", signed(body), body)
    core.handle("POST", signed(body), body)
    value = metrics.registry.get_sample_value
    assert value("hookwire_listener_requests_total", {"status": "202"}) == 2
    assert value("hookwire_listener_duplicates_total") == 1


def test_two_cores_on_one_metrics_count_into_the_same_counters(metrics: Metrics) -> None:
    body = envelope("e1")
    for core in (ListeningCore(Receiver(secret=SECRET), metrics=metrics) for _ in range(2)):
        core.handle("POST", signed(body), body)
    value = metrics.registry.get_sample_value
    assert value("hookwire_listener_requests_total", {"status": "202"}) == 2


def test_a_second_metrics_on_one_registry_is_refused_for_a_core_in_one_line() -> None:
    registry = CollectorRegistry()
    ListeningCore(Receiver(secret=SECRET), metrics=Metrics(registry))
    with pytest.raises(
        ConfigurationError, match=r"^hookwire_listener_requests is registered"
    ) as info:
        ListeningCore(Receiver(secret=SECRET), metrics=Metrics(registry))
    assert "\n" not in str(info.value)


def test_metrics_path_without_metrics_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="metrics="):
        WebhookListener(metrics_path="/metrics")


def test_a_core_refuses_metrics_that_are_not_a_metrics_object() -> None:
    with pytest.raises(ConfigurationError, match=r"hookwire\.metrics\.Metrics"):
        ListeningCore(Receiver(secret=SECRET), metrics=object())  # type: ignore[arg-type]


def test_without_metrics_the_listener_mounts_no_metrics_url() -> None:
    app = Flask(__name__)
    WebhookListener(app, receiver=Receiver(secret=SECRET))
    assert app.test_client().get("/metrics").status_code == 404
