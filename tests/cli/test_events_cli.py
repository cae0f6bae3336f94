"""hookwire events: publishing into the outbox of a real SQLite store, and listing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

Hw = Callable[..., Result]

PROGRESS = {"userId": 7, "loId": "course:1", "loInstanceId": "course:1_1", "progressPercent": 40}


def publish(hw: Hw, *args: str) -> dict[str, Any]:
    result = hw("events", "publish", *args, "--json")
    assert result.exit_code == 0, result.output
    published: dict[str, Any] = json.loads(result.stdout)
    return published


def add_webhook(hw: Hw, *events: str, account: int = 1010) -> str:
    result = hw(
        "webhooks", "add", "sink", "--url", "http://127.0.0.1:9/x", "--allow-private",
        "--account", str(account), "--json", *(f"--event={name}" for name in events),
    )  # fmt: skip
    webhook_id: str = json.loads(result.stdout)["id"]
    return webhook_id


def test_publish_sample_stores_a_valid_event(hw: Hw) -> None:
    published = publish(hw, "COURSE_COMPLETED", "--sample")
    listed = json.loads(hw("events", "list", "--json").stdout)
    assert [e["eventId"] for e in listed] == [published["eventId"]]
    assert listed[0]["data"]["loId"].startswith("course:")


def test_publish_sample_with_a_seed_gives_the_same_data(hw: Hw) -> None:
    first = publish(hw, "CI_STATS", "--sample", "--seed", "7")
    second = publish(hw, "CI_STATS", "--sample", "--seed", "7")
    assert first["data"] == second["data"]


def test_publish_inline_data_in_wire_form(hw: Hw) -> None:
    published = publish(hw, "LEARNER_PROGRESS", "--account", "42", "--data", json.dumps(PROGRESS))
    assert published["accountId"] == 42
    assert published["data"] == PROGRESS
    assert published["realtime"] is False


def test_publish_data_from_a_file(hw: Hw, tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    path.write_text(json.dumps(PROGRESS))
    assert publish(hw, "LEARNER_PROGRESS", "--data", f"@{path}")["data"] == PROGRESS


def test_publish_data_from_stdin(hw: Hw) -> None:
    result = hw("events", "publish", "LEARNER_PROGRESS", "--data", "@-", input=json.dumps(PROGRESS))
    assert result.exit_code == 0
    assert result.stdout.startswith("Published LEARNER_PROGRESS evt_")


def test_publish_invalid_data_names_the_field_in_one_line(hw: Hw) -> None:
    result = hw("events", "publish", "LEARNER_PROGRESS", "--data", '{"userId": 7}')
    assert result.exit_code == 1
    assert "loId" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_publish_data_that_is_not_json_is_a_usage_error(hw: Hw) -> None:
    result = hw("events", "publish", "CI_STATS", "--data", "{nope")
    assert result.exit_code == 2
    assert "not JSON" in result.stderr


def test_publish_data_that_is_not_an_object_is_a_usage_error(hw: Hw) -> None:
    result = hw("events", "publish", "CI_STATS", "--data", "[1, 2]")
    assert result.exit_code == 2
    assert "JSON object" in result.stderr


def test_publish_data_from_a_missing_file_is_one_line(hw: Hw, tmp_path: Path) -> None:
    result = hw("events", "publish", "CI_STATS", "--data", f"@{tmp_path / 'missing.json'}")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {tmp_path / 'missing.json'}: No such file or directory\n"


def test_publish_an_unknown_event_name_fails_naming_the_list_command(hw: Hw) -> None:
    result = hw("events", "publish", "NOPE", "--sample")
    assert result.exit_code == 1
    assert "'NOPE'" in result.stderr
    assert "hookwire trigger --list" in result.stderr


def test_publish_needs_data_or_sample(hw: Hw) -> None:
    assert hw("events", "publish", "CI_STATS").exit_code == 2


def test_publish_refuses_both_data_and_sample(hw: Hw) -> None:
    assert hw("events", "publish", "CI_STATS", "--sample", "--data", "{}").exit_code == 2


def test_publish_names_the_subscribed_webhooks(hw: Hw) -> None:
    subscribed = add_webhook(hw, "COURSE_COMPLETED")
    add_webhook(hw, "CI_STATS")
    published = publish(hw, "COURSE_COMPLETED", "--sample")
    assert published["webhooks"] == [subscribed]


def test_publish_says_when_no_webhook_will_receive_it(hw: Hw) -> None:
    add_webhook(hw, "COURSE_COMPLETED", account=7)
    result = hw("events", "publish", "COURSE_COMPLETED", "--sample", "--account", "1010")
    assert "nothing will be sent" in result.stdout


def test_publish_the_same_id_twice_stores_it_once(hw: Hw) -> None:
    publish(hw, "CI_STATS", "--sample", "--id", "evt_once")
    publish(hw, "CI_STATS", "--sample", "--id", "evt_once")
    assert len(json.loads(hw("events", "list", "--json").stdout)) == 1


def test_publishing_the_same_id_twice_says_queued_once_then_already_stored(hw: Hw) -> None:
    hook = add_webhook(hw, "COURSE_COMPLETED")
    first = hw("events", "publish", "COURSE_COMPLETED", "--sample", "--id", "dup-1")
    assert first.exit_code == 0, first.output
    assert f"Queued for 1 webhook(s): {hook}.\n" in first.stdout
    second = hw("events", "publish", "COURSE_COMPLETED", "--sample", "--id", "dup-1")
    assert second.exit_code == 0, second.output
    assert second.stdout == (
        "Event dup-1 (COURSE_COMPLETED, account 1010) is already stored; nothing new was queued.\n"
    )
    deliveries = json.loads(hw("deliveries", "list", "--json").stdout)
    assert [(d["eventId"], d["webhookId"]) for d in deliveries] == [("dup-1", hook)]


def test_publish_json_gives_the_queued_webhooks_and_whether_the_id_was_a_duplicate(
    hw: Hw,
) -> None:
    hook = add_webhook(hw, "COURSE_COMPLETED")
    add_webhook(hw, "CI_STATS")
    first = publish(hw, "COURSE_COMPLETED", "--sample", "--seed", "1", "--id", "dup-1")
    assert (first["eventId"], first["webhooks"], first["duplicate"]) == ("dup-1", [hook], False)
    again = publish(hw, "COURSE_COMPLETED", "--sample", "--seed", "2", "--id", "dup-1")
    assert (again["eventId"], again["webhooks"], again["duplicate"]) == ("dup-1", [], True)
    # The event shown is the one stored first, not the data this call passed.
    assert again["data"] == first["data"]


def test_list_filters_by_account(hw: Hw) -> None:
    publish(hw, "CI_STATS", "--sample", "--account", "1")
    mine = publish(hw, "CI_STATS", "--sample", "--account", "2")
    listed = json.loads(hw("events", "list", "--account", "2", "--json").stdout)
    assert [e["eventId"] for e in listed] == [mine["eventId"]]


def test_list_text_shows_newest_first_with_the_kind(hw: Hw) -> None:
    publish(hw, "CI_STATS", "--sample")
    publish(hw, "LEARNER_PROGRESS", "--sample")
    lines = hw("events", "list").stdout.splitlines()
    assert lines[0].split() == ["PUBLISHED", "EVENT", "ID", "NAME", "ACCOUNT", "KIND"]
    assert lines[1].split()[2:] == ["LEARNER_PROGRESS", "1010", "batch"]
    assert lines[2].split()[2:] == ["CI_STATS", "1010", "real-time"]


def test_list_limit_caps_the_rows(hw: Hw) -> None:
    for _ in range(3):
        publish(hw, "CI_STATS", "--sample")
    assert len(json.loads(hw("events", "list", "--limit", "2", "--json").stdout)) == 2


def test_list_of_an_empty_store_says_how_to_publish(hw: Hw) -> None:
    assert "hookwire events publish" in hw("events", "list").stdout


@pytest.mark.parametrize("name", ["publish", "list"])
def test_every_subcommand_help_has_an_example(hw: Hw, name: str) -> None:
    result = hw("events", name, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout
