"""hookwire dispatch --metrics-port and --log-format: a live process scraped over HTTP."""

from __future__ import annotations

import json
import socket
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import Result
from live_process import LiveProcess
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer

import hookwire

Hw = Callable[..., Result]
ATTEMPTS = "hookwire_dispatch_attempts_total"


def add_webhook(hw: Hw, url: str, name: str, *extra: str) -> dict[str, Any]:
    result = hw(
        "webhooks", "add", name, "--url", url, "-e", "COURSE_COMPLETED", "--allow-private",
        "--json", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    created: dict[str, Any] = json.loads(result.stdout)
    return created


def publish(hw: Hw, count: int) -> None:
    for _ in range(count):
        assert hw("events", "publish", "COURSE_COMPLETED", "--sample").exit_code == 0


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def logged_statuses(hw: Hw) -> list[int | None]:
    """The status of every attempt in the attempt log."""
    listed = json.loads(hw("deliveries", "list", "--limit", "1000", "--json").stdout)
    statuses: dict[str, int | None] = {}
    for delivery in listed:
        shown = json.loads(hw("deliveries", "show", delivery["id"], "--json").stdout)
        for attempt in shown["attempts"]:
            statuses[attempt["attemptId"]] = attempt["statusCode"]
    return sorted(statuses.values(), key=str)


@pytest.fixture
def targets(httpserver: HTTPServer) -> tuple[str, str]:
    httpserver.expect_request("/ok").respond_with_data("", status=202)
    httpserver.expect_request("/fail").respond_with_data("down", status=500)
    return httpserver.url_for("/ok"), httpserver.url_for("/fail")


def test_metrics_port_serves_counts_that_match_the_attempt_log(
    hw: Hw, db: str, live: Callable[..., LiveProcess], targets: tuple[str, str]
) -> None:
    add_webhook(hw, targets[0], "ok")
    add_webhook(hw, targets[1], "failing")
    publish(hw, 2)
    worker = live(
        "dispatch", "--db", db, "--allow-private", "--poll-interval", "0.05",
        "--metrics-port", "0", "--log-format", "json",
    )  # fmt: skip
    started = json.loads(worker.wait_for("serving metrics on"))
    url = started["metricsUrl"]
    assert url.startswith("http://127.0.0.1:")
    deadline = time.monotonic() + 15
    while True:
        samples = scrape(url)
        done = samples.get((ATTEMPTS, (("status_class", "2xx"), ("verdict", "succeeded"))), 0)
        failed = samples.get((ATTEMPTS, (("status_class", "5xx"), ("verdict", "retry"))), 0)
        if (done, failed) == (1, 1) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert (done, failed) == (1, 1), worker.lines
    assert samples[("hookwire_deliveries_total", (("outcome", "succeeded"),))] == 2
    assert samples[("hookwire_queue_depth", (("state", "retrying"),))] == 2
    assert worker.stop() == 0
    assert logged_statuses(hw) == [202, 500]
    with pytest.raises(OSError):
        scrape(url)


def test_log_format_json_prints_attempt_fields_and_no_secret(
    hw: Hw, targets: tuple[str, str]
) -> None:
    signed = add_webhook(hw, targets[0], "signed")
    add_webhook(hw, targets[1], "basic", "--auth", "basic", "--basic-auth", "hooks:pa55-w0rd-xyz")
    publish(hw, 2)
    result = hw("dispatch", "--drain", "--allow-private", "--log-format", "json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    attempts = [line for line in lines if "requestId" in line]
    assert sorted(line["status"] for line in attempts) == [202, 500]
    assert {"time", "level", "message", "webhookId", "latencyMs", "verdict"} <= set(attempts[0])
    assert signed["secret"].startswith("whsec_")
    assert signed["secret"] not in result.output
    assert signed["secret"][6:] not in result.output
    assert "pa55-w0rd-xyz" not in result.output


def test_log_format_text_is_the_default(hw: Hw, targets: tuple[str, str]) -> None:
    add_webhook(hw, targets[0], "ok")
    publish(hw, 1)
    text = hw("dispatch", "--drain", "--allow-private").stdout
    assert hw("dispatch", "--drain", "--allow-private", "--log-format", "text").exit_code == 0
    assert not text.lstrip().startswith("{")


def test_json_and_log_format_text_together_are_a_usage_error(hw: Hw) -> None:
    result = hw("dispatch", "--drain", "--json", "--log-format", "text")
    assert result.exit_code == 2
    assert "contradict" in result.output


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_a_metrics_port_in_use_fails_in_one_line(hw: Hw, busy_port: int) -> None:
    result = hw("dispatch", "--drain", "--metrics-port", str(busy_port))
    assert result.exit_code == 1
    assert f"cannot serve metrics on 127.0.0.1:{busy_port}" in result.output
    assert "Traceback" not in result.output


def test_metrics_port_without_the_extra_names_it_in_one_line(
    hw: Hw, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    for name in [name for name in sys.modules if name.startswith("hookwire.metrics")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delattr(hookwire, "metrics", raising=False)
    result = hw("dispatch", "--drain", "--metrics-port", "0")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: --metrics-port needs the 'metrics' extra: pip install 'hookwire[metrics]'"
    ]


@pytest.mark.parametrize(
    "option", [["--metrics-per-webhook"], ["--metrics-host", "0.0.0.0"]], ids=lambda o: o[0]
)
def test_a_metrics_option_without_metrics_port_is_a_usage_error(hw: Hw, option: list[str]) -> None:
    result = hw("dispatch", "--drain", *option)
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert line.startswith(
        f"Error: {option[0]} applies to the metrics --metrics-port serves: give --metrics-port too"
    )
