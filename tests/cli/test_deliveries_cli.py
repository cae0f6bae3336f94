"""hookwire deliveries: the delivery log of real sends to a real HTTP server, and resending."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer

Hw = Callable[..., Result]


def add_webhook(hw: Hw, url: str = "http://127.0.0.1:9/x") -> str:
    result = hw(
        "webhooks", "add", "sink", "--url", url, "-e", "COURSE_COMPLETED,CI_STATS",
        "--allow-private", "--json",
    )  # fmt: skip
    webhook_id: str = json.loads(result.stdout)["id"]
    return webhook_id


def publish(hw: Hw, name: str = "COURSE_COMPLETED") -> str:
    event_id: str = json.loads(hw("events", "publish", name, "--sample", "--json").stdout)[
        "eventId"
    ]
    return event_id


def deliveries(hw: Hw, *args: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = json.loads(hw("deliveries", "list", *args, "--json").stdout)
    return listed


def drain(hw: Hw) -> None:
    assert hw("dispatch", "--drain", "--allow-private").exit_code == 0


def test_publishing_makes_one_pending_delivery_per_subscribed_webhook(hw: Hw) -> None:
    first, second = add_webhook(hw), add_webhook(hw)
    event_id = publish(hw)
    listed = deliveries(hw)
    assert sorted(d["webhookId"] for d in listed) == sorted([first, second])
    assert {(d["eventId"], d["status"]) for d in listed} == {(event_id, "pending")}


def test_list_filters_by_webhook(hw: Hw) -> None:
    mine = add_webhook(hw)
    add_webhook(hw)
    publish(hw)
    assert [d["webhookId"] for d in deliveries(hw, "--webhook", mine)] == [mine]


def test_list_filters_by_status(hw: Hw, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=202)
    add_webhook(hw, httpserver.url_for("/hook"))
    publish(hw)
    drain(hw)
    publish(hw)
    assert [d["status"] for d in deliveries(hw, "--status", "pending")] == ["pending"]
    assert [d["status"] for d in deliveries(hw, "--status", "succeeded")] == ["succeeded"]


def test_list_of_a_missing_webhook_fails_in_one_line(hw: Hw) -> None:
    result = hw("deliveries", "list", "--webhook", "wh_missing")
    assert result.exit_code == 1
    assert "no webhook 'wh_missing'" in result.stderr


def test_list_refuses_an_unknown_status(hw: Hw) -> None:
    result = hw("deliveries", "list", "--status", "lost")
    assert result.exit_code == 2
    assert "'lost'" in result.stderr


def test_list_counts_gives_every_status(hw: Hw) -> None:
    add_webhook(hw)
    publish(hw)
    publish(hw, "CI_STATS")
    counts = json.loads(hw("deliveries", "list", "--counts", "--json").stdout)
    assert counts == {"pending": 2, "succeeded": 0, "failed": 0, "dead": 0}


def test_list_text_has_a_row_per_delivery(hw: Hw) -> None:
    add_webhook(hw)
    event_id = publish(hw)
    lines = hw("deliveries", "list").stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "STATUS", "EVENT"]
    assert lines[1].split()[1:4] == ["pending", "COURSE_COMPLETED", event_id]


def test_show_lists_every_attempt_of_a_retried_delivery(hw: Hw, httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/hook").respond_with_data("down", status=500)
    httpserver.expect_ordered_request("/hook").respond_with_data("", status=202)
    add_webhook(hw, httpserver.url_for("/hook"))
    publish(hw)
    drain(hw)
    delivery_id = deliveries(hw)[0]["id"]
    hw("deliveries", "redeliver", delivery_id)
    drain(hw)
    shown = json.loads(hw("deliveries", "show", delivery_id, "--json").stdout)
    assert shown["status"] == "succeeded"
    assert [a["statusCode"] for a in shown["attempts"]] == [500, 202]
    assert shown["attempts"][0]["responseBody"] == "down"


def test_show_text_has_the_attempt_table(hw: Hw, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=202)
    add_webhook(hw, httpserver.url_for("/hook"))
    publish(hw)
    drain(hw)
    delivery = deliveries(hw)[0]
    text = hw("deliveries", "show", delivery["id"]).stdout
    assert f"Delivery {delivery['id']}" in text
    first_attempt = next(line for line in text.splitlines() if line.startswith("1 "))
    assert first_attempt.split()[2] == "202"


def test_show_of_a_missing_delivery_names_the_list_command(hw: Hw) -> None:
    result = hw("deliveries", "show", "dlv_missing")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: no delivery 'dlv_missing'; list them with `hookwire deliveries list`\n"
    )


def test_redeliver_queues_a_succeeded_delivery_again(hw: Hw, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=202)
    add_webhook(hw, httpserver.url_for("/hook"))
    publish(hw)
    drain(hw)
    delivery_id = deliveries(hw)[0]["id"]
    result = hw("deliveries", "redeliver", delivery_id, "--json")
    drain(hw)
    assert json.loads(result.stdout)["status"] == "pending"
    assert len(httpserver.log) == 2


def test_redeliver_of_a_pending_delivery_says_it_is_still_pending(hw: Hw) -> None:
    add_webhook(hw)
    publish(hw)
    result = hw("deliveries", "redeliver", deliveries(hw)[0]["id"])
    assert result.exit_code == 0
    assert "still pending" in result.stdout


def test_recover_resends_the_failed_deliveries_since_a_time(hw: Hw, httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/hook").respond_with_data("", status=500)
    httpserver.expect_ordered_request("/hook").respond_with_data("", status=202)
    webhook_id = add_webhook(hw, httpserver.url_for("/hook"))
    publish(hw)
    publish(hw, "CI_STATS")
    drain(hw)
    result = hw("deliveries", "recover", webhook_id, "--since", "1h", "--json")
    drain(hw)
    assert json.loads(result.stdout)["queued"] == 2
    assert {d["status"] for d in deliveries(hw)} == {"succeeded"}


def test_recover_counts_nothing_before_since(hw: Hw, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=500)
    webhook_id = add_webhook(hw, httpserver.url_for("/hook"))
    publish(hw)
    drain(hw)
    result = hw("deliveries", "recover", webhook_id, "--since", "2099-01-01T00:00:00Z")
    assert result.stdout.startswith("Queued 0 ")


def test_recover_of_a_missing_webhook_fails(hw: Hw) -> None:
    result = hw("deliveries", "recover", "wh_missing", "--since", "1h")
    assert result.exit_code == 1
    assert "wh_missing" in result.stderr


def test_recover_refuses_a_since_that_is_not_a_time(hw: Hw) -> None:
    result = hw("deliveries", "recover", "wh_x", "--since", "yesterday")
    assert result.exit_code == 2
    assert "not a time" in result.stderr


@pytest.mark.parametrize("name", ["list", "show", "redeliver", "recover"])
def test_every_subcommand_help_has_an_example(hw: Hw, name: str) -> None:
    result = hw("deliveries", name, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout
