"""hookwire dispatch: real deliveries to real HTTP servers; SIGTERM with a request in flight."""

from __future__ import annotations

import gc
import json
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import Result
from live_process import LiveProcess
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from hookwire import Receiver

Hw = Callable[..., Result]


class SlowSink:
    """Answers its first request 202 after ``delay`` seconds, the others at once.

    ``entered`` is set when the first request arrives. The server handles one
    request at a time, so only the first is slow: a resend is not kept waiting
    past the sender's read timeout.
    """

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.entered = threading.Event()
        self.event_ids: list[str] = []

    def __call__(self, request: Request) -> Response:
        first = not self.entered.is_set()
        self.entered.set()
        self.event_ids += [e["eventId"] for e in json.loads(request.get_data())["events"]]
        if first:
            time.sleep(self.delay)
        return Response("", status=202)


@pytest.fixture
def slow_sink(httpserver: HTTPServer) -> Callable[[float], SlowSink]:
    def make(delay: float) -> SlowSink:
        sink = SlowSink(delay)
        httpserver.expect_request("/slow", method="POST").respond_with_handler(sink)
        return sink

    return make


@dataclass(frozen=True)
class InFlight:
    """A running ``hookwire dispatch`` whose first request the sink is holding."""

    sink: SlowSink
    worker: LiveProcess
    event_ids: list[str]


@pytest.fixture
def request_in_flight(
    hw: Hw,
    db: str,
    live: Callable[..., LiveProcess],
    slow_sink: Callable[[float], SlowSink],
    httpserver: HTTPServer,
) -> Callable[[float, int], InFlight]:
    """Publish ``count`` events, start dispatch, return once the sink holds the first request."""

    def start(delay: float, count: int) -> InFlight:
        sink = slow_sink(delay)
        add_webhook(hw, httpserver.url_for("/slow"), "--allow-private")
        event_ids = publish(hw, count)
        worker = live("dispatch", "--db", db, "--allow-private", "--poll-interval", "0.05")
        assert sink.entered.wait(15), worker.lines
        return InFlight(sink, worker, event_ids)

    return start


def add_webhook(hw: Hw, url: str, *extra: str) -> dict[str, Any]:
    result = hw("webhooks", "add", "sink", "--url", url, "-e", "COURSE_COMPLETED", "--json", *extra)
    assert result.exit_code == 0, result.output
    created: dict[str, Any] = json.loads(result.stdout)
    return created


def publish(hw: Hw, count: int = 1) -> list[str]:
    return [
        json.loads(hw("events", "publish", "COURSE_COMPLETED", "--sample", "--json").stdout)[
            "eventId"
        ]
        for _ in range(count)
    ]


def statuses(hw: Hw) -> dict[str, str]:
    listed = json.loads(hw("deliveries", "list", "--limit", "1000", "--json").stdout)
    return {d["eventId"]: d["status"] for d in listed}


def test_drain_delivers_signed_requests_and_exits_0(hw: Hw, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=202)
    webhook = add_webhook(hw, httpserver.url_for("/hook"), "--allow-private")
    event_ids = publish(hw, 2)
    result = hw("dispatch", "--drain", "--allow-private")
    request, _ = httpserver.log[0]
    envelope = Receiver(secret=webhook["secret"]).verify(request.get_data(), request.headers)
    assert result.exit_code == 0
    assert [e.event_id for e in envelope.events] == event_ids
    assert set(statuses(hw).values()) == {"succeeded"}


def test_dispatch_logs_one_line_per_attempt_with_its_request_and_status(
    hw: Hw, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=202)
    webhook = add_webhook(hw, httpserver.url_for("/hook"), "--allow-private")
    publish(hw)
    result = hw("dispatch", "--drain", "--allow-private")
    request, _ = httpserver.log[0]
    attempts = [
        line for line in result.stdout.splitlines() if request.headers["webhook-id"] in line
    ]
    assert len(attempts) == 1
    assert webhook["id"] in attempts[0]
    assert "202" in attempts[0]
    assert attempts[0][:4].isdigit()


def test_dispatch_json_lines_carry_the_attempt_fields(hw: Hw, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=202)
    webhook = add_webhook(hw, httpserver.url_for("/hook"), "--allow-private")
    publish(hw, 3)
    result = hw("dispatch", "--drain", "--allow-private", "--json")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    attempt = next(line for line in lines if "requestId" in line)
    assert attempt["webhookId"] == webhook["id"]
    assert attempt["events"] == 3
    assert attempt["status"] == 202
    assert attempt["latencyMs"] >= 0
    assert lines[-1]["attempts"] == {"succeeded": 1}


def test_dispatch_logs_a_failed_attempt_and_keeps_the_delivery_for_retry(
    hw: Hw, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("boom", status=500)
    add_webhook(hw, httpserver.url_for("/hook"), "--allow-private")
    publish(hw)
    result = hw("dispatch", "--drain", "--allow-private")
    assert result.exit_code == 0
    assert "500" in result.stdout
    assert "attempts this run: 1 retry" in result.stdout
    assert set(statuses(hw).values()) == {"failed"}


def test_dispatch_without_allow_private_does_not_reach_a_loopback_target(
    hw: Hw, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=202)
    add_webhook(hw, httpserver.url_for("/hook"), "--allow-private")
    publish(hw)
    result = hw("dispatch", "--drain")
    assert "blocked" in result.stdout
    assert len(httpserver.log) == 0


def test_dispatch_never_prints_the_database_password(cli: Callable[..., Result]) -> None:
    result = cli("dispatch", "--drain", "--db", "postgresql+psycopg://hw:hunter2@127.0.0.1:1/nodb")
    assert result.exit_code == 1
    assert "hunter2" not in result.output
    assert result.stderr.startswith("Error: cannot open the sender's database")


def test_dispatch_with_a_bad_db_url_fails_in_one_line(cli: Callable[..., Result]) -> None:
    result = cli("dispatch", "--db", "hookwire.db")
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1


def test_dispatch_help_has_an_example(hw: Hw) -> None:
    assert "Examples:" in hw("dispatch", "--help").stdout


def test_sigterm_finishes_the_request_in_flight_and_loses_nothing(
    hw: Hw, request_in_flight: Callable[[float, int], InFlight]
) -> None:
    flight = request_in_flight(1.0, 3)
    sink, worker, first = flight.sink, flight.worker, flight.event_ids
    later = publish(hw, 2)
    code = worker.stop()
    in_flight = statuses(hw)
    hw("dispatch", "--drain", "--allow-private")
    assert code == 0
    assert [in_flight[event_id] for event_id in first] == ["succeeded"] * 3
    assert sorted(sink.event_ids) == sorted(first + later)
    assert set(statuses(hw).values()) == {"succeeded"}
    assert any("SIGTERM: finishing the requests in flight" in line for line in worker.lines)


@pytest.mark.slow
def test_a_second_sigterm_stops_at_once_and_the_request_is_resent(
    hw: Hw, request_in_flight: Callable[[float, int], InFlight]
) -> None:
    flight = request_in_flight(3.0, 2)
    sink, worker, event_ids = flight.sink, flight.worker, flight.event_ids
    worker.process.send_signal(signal.SIGTERM)
    worker.wait_for("SIGTERM: finishing")
    # A second signal within a second counts as the same one (see the next test).
    time.sleep(1.2)
    code = worker.stop()
    abandoned = statuses(hw)
    hw("dispatch", "--drain", "--allow-private")
    assert code == 1
    assert set(abandoned.values()) == {"pending"}
    assert set(statuses(hw).values()) == {"succeeded"}
    assert set(sink.event_ids) == set(event_ids)


def test_a_signal_delivered_twice_at_once_still_stops_gracefully(
    hw: Hw, request_in_flight: Callable[[float, int], InFlight]
) -> None:
    flight = request_in_flight(1.0, 2)
    worker, event_ids = flight.worker, flight.event_ids
    # timeout(1) and process-group kills send the same SIGTERM twice in a row.
    worker.process.send_signal(signal.SIGTERM)
    worker.process.send_signal(signal.SIGTERM)
    code = worker.finish(15)
    assert code == 0
    assert [statuses(hw)[event_id] for event_id in event_ids] == ["succeeded"] * 2


@pytest.mark.postgres
def test_the_whole_cli_loop_runs_on_postgresql(
    cli: Callable[..., Result], postgres_url: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=202)

    def hw(*args: str) -> Result:
        return cli(*args, env={"HOOKWIRE_DATABASE_URL": postgres_url})

    add_webhook(hw, httpserver.url_for("/hook"), "--allow-private")
    event_ids = publish(hw, 2)
    result = hw("dispatch", "--drain", "--allow-private")
    assert result.exit_code == 0
    assert [statuses(hw)[event_id] for event_id in event_ids] == ["succeeded"] * 2
    assert len(httpserver.log) == 1


def test_dispatch_freezes_its_heap_while_it_runs_and_unfreezes_it_after(
    hw: Hw, httpserver: HTTPServer
) -> None:
    seen: list[int] = []

    def answer(request: Request) -> Response:
        seen.append(gc.get_freeze_count())  # the sink runs in this process, as the command does
        return Response("", status=202)

    if gc.get_freeze_count():
        pytest.skip("something in this process froze the collector's heap already")
    httpserver.expect_request("/hook").respond_with_handler(answer)
    add_webhook(hw, httpserver.url_for("/hook"), "--allow-private")
    publish(hw)
    assert hw("dispatch", "--drain", "--allow-private").exit_code == 0
    assert len(seen) == 1
    assert seen[0] > 0
    assert gc.get_freeze_count() == 0
