"""``hookwire dispatch --drain``: its exit status and closing summary for cron jobs.

A target that fails is the target's problem, retried on schedule: the run
worked and exits 0, and the closing line counts what was delivered, what
failed and what died. ``--fail-on-failure`` makes any failed attempt exit 1,
for jobs that must alert. A run that cannot work (no database) exits 1 either
way. The targets are real HTTP servers on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from click.testing import Result
from pytest_httpserver import HTTPServer

Hw = Callable[..., Result]

SUMMARY_PREFIX = "stopped; attempts this run:"


def add_webhook(hw: Hw, url: str) -> None:
    result = hw(
        "webhooks", "add", "sink", "--url", url, "-e", "COURSE_COMPLETED", "--allow-private"
    )
    assert result.exit_code == 0, result.output


def publish(hw: Hw, count: int = 1) -> None:
    for _ in range(count):
        result = hw("events", "publish", "COURSE_COMPLETED", "--sample", "--json")
        assert result.exit_code == 0, result.output


def one_target_fails_one_succeeds(hw: Hw, httpserver: HTTPServer) -> None:
    """Two webhooks for the same event: /ok answers 202, /down answers 500."""
    httpserver.expect_request("/ok").respond_with_data("", status=202)
    httpserver.expect_request("/down").respond_with_data("down", status=500)
    add_webhook(hw, httpserver.url_for("/ok"))
    add_webhook(hw, httpserver.url_for("/down"))
    publish(hw)


def summary_line(result: Result) -> str:
    lines = [line for line in result.stdout.splitlines() if SUMMARY_PREFIX in line]
    assert len(lines) == 1, result.stdout
    assert result.stdout.splitlines()[-1] == lines[0]
    return lines[0]


def statuses(hw: Hw) -> list[str]:
    listed = json.loads(hw("deliveries", "list", "--limit", "100", "--json").stdout)
    return sorted(d["status"] for d in listed)


def test_drain_exits_0_when_a_target_fails_and_counts_it_as_retried(
    hw: Hw, httpserver: HTTPServer
) -> None:
    one_target_fails_one_succeeds(hw, httpserver)
    result = hw("dispatch", "--drain", "--allow-private")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert summary_line(result).endswith(
        "deliveries: 1 delivered, 1 failed (retried on schedule), 0 dead"
    )
    assert statuses(hw) == ["failed", "succeeded"]


def test_drain_with_fail_on_failure_exits_1_when_a_target_fails(
    hw: Hw, httpserver: HTTPServer
) -> None:
    one_target_fails_one_succeeds(hw, httpserver)
    result = hw("dispatch", "--drain", "--allow-private", "--fail-on-failure")
    assert result.exit_code == 1
    assert "1 delivered, 1 failed (retried on schedule), 0 dead" in summary_line(result)
    assert result.stderr == "Error: 1 attempt of this run failed (--fail-on-failure)\n"
    # The flag changes the exit status only: the failed delivery is still retried.
    assert statuses(hw) == ["failed", "succeeded"]


def test_drain_with_fail_on_failure_exits_0_when_every_target_succeeds(
    hw: Hw, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/ok").respond_with_data("", status=202)
    add_webhook(hw, httpserver.url_for("/ok"))
    publish(hw, 3)
    result = hw("dispatch", "--drain", "--allow-private", "--fail-on-failure")
    assert result.exit_code == 0, result.output
    assert summary_line(result).endswith(
        "deliveries: 3 delivered, 0 failed (retried on schedule), 0 dead"
    )


def test_drain_counts_a_delivery_the_target_refuses_for_good_as_dead(
    hw: Hw, httpserver: HTTPServer
) -> None:
    # A 413 to a lone event kills its delivery: it is never sent again.
    httpserver.expect_request("/small").respond_with_data("too large", status=413)
    add_webhook(hw, httpserver.url_for("/small"))
    publish(hw)
    plain = hw("dispatch", "--drain", "--allow-private")
    assert plain.exit_code == 0, plain.output
    assert summary_line(plain).endswith("0 delivered, 0 failed (retried on schedule), 1 dead")
    assert statuses(hw) == ["dead"]


def test_drain_with_nothing_due_exits_0_and_says_none(hw: Hw) -> None:
    result = hw("dispatch", "--drain", "--fail-on-failure")
    assert result.exit_code == 0, result.output
    assert summary_line(result).endswith(
        "attempts this run: none; deliveries: 0 delivered, 0 failed (retried on schedule), 0 dead"
    )


def test_drain_json_summary_counts_deliveries_by_outcome(hw: Hw, httpserver: HTTPServer) -> None:
    one_target_fails_one_succeeds(hw, httpserver)
    result = hw("dispatch", "--drain", "--allow-private", "--json", "--fail-on-failure")
    assert result.exit_code == 1
    last: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    assert last["attempts"] == {"succeeded": 1, "retry": 1}
    assert last["deliveries"] == {"delivered": 1, "failed": 1, "dead": 0}
    assert last["unexpectedFailures"] == 0


def test_drain_exits_1_when_the_database_cannot_be_reached(cli: Callable[..., Result]) -> None:
    # Nothing listens on port 1: the run cannot work at all, with or without the flag.
    result = cli("dispatch", "--drain", "--db", "postgresql+psycopg://hookwire@127.0.0.1:1/hw")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert len(result.stderr.splitlines()) == 1
