"""hookwire webhooks: the registry on a real SQLite store, test sends to a real HTTP server."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer

from hookwire import Receiver

Hw = Callable[..., Result]

SUBCOMMANDS = (
    "add",
    "list",
    "show",
    "edit",
    "delete",
    "retire",
    "activate",
    "test",
    "rotate-secret",
    "signature-file",
)


def add(hw: Hw, *extra: str, url: str = "http://127.0.0.1:9/hooks") -> dict[str, Any]:
    result = hw(
        "webhooks", "add", "sync", "--url", url, "-e", "COURSE_COMPLETED",
        "--allow-private", "--json", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    created: dict[str, Any] = json.loads(result.stdout)
    return created


def test_add_prints_a_new_secret_once(hw: Hw) -> None:
    result = hw(
        "webhooks", "add", "sync", "--url", "http://127.0.0.1:9/x", "-e", "CI_STATS",
        "--allow-private",
    )  # fmt: skip
    assert result.exit_code == 0
    assert result.stdout.count("whsec_") == 1
    assert "shown this once" in result.stdout


def test_add_json_holds_the_secret_of_the_signature_file(hw: Hw) -> None:
    created = add(hw)
    signature = json.loads(hw("webhooks", "signature-file", created["id"]).stdout)
    assert created["secret"].startswith("whsec_")
    assert signature["secret"] == created["secret"]


def test_add_ed25519_prints_the_public_key_and_never_the_private_one(hw: Hw) -> None:
    result = hw(
        "webhooks", "add", "sync", "--url", "http://127.0.0.1:9/x", "-e", "CI_STATS",
        "--allow-private", "--auth", "signature-ed25519",
    )  # fmt: skip
    assert result.exit_code == 0
    assert "whpk_" in result.stdout
    assert "whsk_" not in result.stdout


def test_show_never_prints_the_secret(hw: Hw) -> None:
    created = add(hw)
    text = hw("webhooks", "show", created["id"]).stdout
    as_json = hw("webhooks", "show", created["id"], "--json").stdout
    assert created["secret"] not in text + as_json
    assert "whsec_" not in text + as_json


def test_list_shows_every_webhook(hw: Hw) -> None:
    first, second = add(hw), add(hw)
    listed = json.loads(hw("webhooks", "list", "--json").stdout)
    assert [w["id"] for w in listed] == [first["id"], second["id"]]
    assert "secret" not in listed[0]


def test_list_text_has_a_header_and_a_row_per_webhook(hw: Hw) -> None:
    created = add(hw)
    lines = hw("webhooks", "list").stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "ACCOUNT", "STATE"]
    assert lines[1].startswith(created["id"])


def test_list_of_an_empty_store_says_how_to_add_one(hw: Hw) -> None:
    assert "hookwire webhooks add" in hw("webhooks", "list").stdout


def test_add_accepts_comma_separated_event_names(hw: Hw) -> None:
    created = add(hw, "-e", "LEARNER_PROGRESS,CI_STATS")
    assert created["events"] == ["COURSE_COMPLETED", "LEARNER_PROGRESS", "CI_STATS"]


def test_add_refuses_a_private_target_without_allow_private(hw: Hw) -> None:
    result = hw("webhooks", "add", "x", "--url", "http://127.0.0.1:9/x", "-e", "CI_STATS")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "--allow-private" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_add_refuses_a_url_that_is_not_http(hw: Hw) -> None:
    result = hw("webhooks", "add", "x", "--url", "ftp://example.com/x", "-e", "CI_STATS")
    assert result.exit_code == 1
    assert "http://" in result.stderr
    assert "Traceback" not in result.output


def test_add_refuses_an_unknown_event_name(hw: Hw) -> None:
    result = hw(
        "webhooks", "add", "x", "--url", "http://127.0.0.1:9/x", "-e", "NOPE", "--allow-private"
    )
    assert result.exit_code == 1
    assert "'NOPE'" in result.stderr
    assert "hookwire trigger --list" in result.stderr


def test_add_with_basic_auth_shows_the_username_never_the_password(hw: Hw) -> None:
    created = add(hw, "--basic-auth", "hooks:s3cret-pw")
    shown = hw("webhooks", "show", created["id"]).stdout
    assert created["auth"] == "basic"
    assert "hooks" in shown
    assert "s3cret-pw" not in shown + json.dumps(created)


def test_auth_basic_without_credentials_is_a_usage_error(hw: Hw) -> None:
    result = hw(
        "webhooks", "add", "x", "--url", "http://127.0.0.1:9/x", "-e", "CI_STATS",
        "--allow-private", "--auth", "basic",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--basic-auth" in result.stderr


def test_show_of_a_missing_webhook_is_one_line_naming_the_list_command(hw: Hw) -> None:
    result = hw("webhooks", "show", "wh_missing")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: no webhook 'wh_missing'; list them with `hookwire webhooks list`\n"
    )


def test_a_db_url_that_is_not_a_database_fails_without_echoing_it(
    cli: Callable[..., Result],
) -> None:
    result = cli("webhooks", "list", "--db", "mysql://admin:hunter2@db/hooks")
    assert result.exit_code == 1
    assert "sqlite:///" in result.stderr
    assert "hunter2" not in result.output


def test_a_db_that_cannot_be_opened_is_one_line(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = cli("webhooks", "list", "--db", f"sqlite:///{tmp_path / 'missing' / 'h.db'}")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot open the sender's database")


def test_edit_changes_the_target_and_the_events(hw: Hw) -> None:
    created = add(hw)
    result = hw(
        "webhooks", "edit", created["id"], "--url", "http://127.0.0.1:9/v2",
        "-e", "CI_STATS", "--allow-private", "--json",
    )  # fmt: skip
    edited = json.loads(result.stdout)
    assert edited["targetUrl"] == "http://127.0.0.1:9/v2"
    assert edited["events"] == ["CI_STATS"]


def test_edit_without_changes_is_a_usage_error(hw: Hw) -> None:
    created = add(hw)
    result = hw("webhooks", "edit", created["id"])
    assert result.exit_code == 2
    assert "nothing to change" in result.stderr


def test_edit_auth_signature_prints_a_new_secret(hw: Hw) -> None:
    created = add(hw, "--auth", "none")
    result = hw("webhooks", "edit", created["id"], "--auth", "signature", "--json")
    edited = json.loads(result.stdout)
    assert created["auth"] == "none"
    assert edited["secret"].startswith("whsec_")


def test_delete_with_yes_removes_the_webhook(hw: Hw) -> None:
    created = add(hw)
    assert hw("webhooks", "delete", created["id"], "--yes").exit_code == 0
    assert hw("webhooks", "show", created["id"]).exit_code == 1


def test_delete_asks_first_and_keeps_the_webhook_on_no(hw: Hw) -> None:
    created = add(hw)
    result = hw("webhooks", "delete", created["id"], input="n\n")
    assert result.exit_code == 1
    assert hw("webhooks", "show", created["id"]).exit_code == 0


def test_retire_then_activate_switches_the_webhook_off_and_on(hw: Hw) -> None:
    created = add(hw)
    retired = json.loads(hw("webhooks", "retire", created["id"], "--json").stdout)
    active = json.loads(hw("webhooks", "activate", created["id"], "--json").stdout)
    assert retired["active"] is False
    assert active["active"] is True


def test_add_retired_creates_a_webhook_that_is_off_until_activated(hw: Hw) -> None:
    created = add(hw, "--retired")
    assert created["active"] is False
    assert created["disabledReason"] is None
    assert "retired" in hw("webhooks", "show", created["id"]).stdout
    assert json.loads(hw("webhooks", "activate", created["id"], "--json").stdout)["active"]


def test_edit_changes_only_what_is_given_and_keeps_the_auth(hw: Hw) -> None:
    created = add(hw, "--description", "the sync")
    result = hw("webhooks", "edit", created["id"], "--name", "renamed", "--json")
    assert result.exit_code == 0, result.output
    edited = json.loads(result.stdout)
    assert (edited["name"], edited["description"], edited["auth"]) == (
        "renamed",
        "the sync",
        "signature",
    )
    assert "secret" not in edited
    signature = json.loads(hw("webhooks", "signature-file", created["id"]).stdout)
    assert signature["secret"] == created["secret"]


def test_test_sends_a_request_that_verifies_with_the_printed_secret(
    hw: Hw, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=202)
    created = add(hw, url=httpserver.url_for("/hook"))
    result = hw("webhooks", "test", created["id"], "--allow-private")
    request, _ = httpserver.log[0]
    envelope = Receiver(secret=created["secret"]).verify(request.get_data(), request.headers)
    assert result.exit_code == 0
    assert result.stdout.startswith("202 ")
    assert envelope.events[0].event_name == "HOOKWIRE_TEST"


def test_test_exits_1_when_the_target_does_not_answer_2xx(hw: Hw, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("down", status=503)
    created = add(hw, url=httpserver.url_for("/hook"))
    result = hw("webhooks", "test", created["id"], "--allow-private", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["statusCode"] == 503


def test_test_without_allow_private_is_blocked_and_says_what_to_pass(hw: Hw) -> None:
    created = add(hw)
    result = hw("webhooks", "test", created["id"])
    assert result.exit_code == 1
    assert "--allow-private" in result.stdout


def test_rotate_secret_prints_a_new_secret_and_keeps_the_old_one_valid(hw: Hw) -> None:
    created = add(hw)
    rotated = json.loads(hw("webhooks", "rotate-secret", created["id"], "--json").stdout)
    signature = json.loads(hw("webhooks", "signature-file", created["id"]).stdout)
    assert rotated["secret"] != created["secret"]
    assert signature["secrets"] == [rotated["secret"], created["secret"]]


def test_rotate_secret_with_no_grace_drops_the_old_secret(hw: Hw) -> None:
    created = add(hw)
    rotated = json.loads(
        hw("webhooks", "rotate-secret", created["id"], "--grace", "0s", "--json").stdout
    )
    signature = json.loads(hw("webhooks", "signature-file", created["id"]).stdout)
    assert signature["secret"] == rotated["secret"]
    assert "secrets" not in signature


def test_rotate_secret_refuses_a_grace_that_is_not_a_duration(hw: Hw) -> None:
    created = add(hw)
    result = hw("webhooks", "rotate-secret", created["id"], "--grace", "tomorrow")
    assert result.exit_code == 2
    assert "not a duration" in result.stderr


def test_rotate_secret_of_a_basic_auth_webhook_fails_in_one_line(hw: Hw) -> None:
    created = add(hw, "--basic-auth", "hooks:pw")
    result = hw("webhooks", "rotate-secret", created["id"])
    assert result.exit_code == 1
    assert "has no secret" in result.stderr


def test_signature_file_is_written_readable_by_its_owner_only(hw: Hw, tmp_path: Path) -> None:
    created = add(hw)
    target = tmp_path / "signature.json"
    target.write_text("old")
    target.chmod(0o644)
    result = hw("webhooks", "signature-file", created["id"], "-o", str(target))
    assert result.exit_code == 0
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert json.loads(target.read_text())["webhookId"] == created["id"]
    assert target.read_text() == hw("webhooks", "signature-file", created["id"]).stdout


def test_signature_file_of_a_missing_webhook_fails(hw: Hw, tmp_path: Path) -> None:
    result = hw("webhooks", "signature-file", "wh_missing", "-o", str(tmp_path / "s.json"))
    assert result.exit_code == 1
    assert not (tmp_path / "s.json").exists()


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_help_has_an_example(hw: Hw, name: str) -> None:
    result = hw("webhooks", name, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert "hookwire webhooks" in result.stdout
