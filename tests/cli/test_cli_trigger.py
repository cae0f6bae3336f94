"""hookwire trigger: signed, valid sample events sent to a real HTTP server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from click.testing import Result
from pytest_httpserver import HTTPServer

from hookwire import CATALOGUE, Receiver, __version__, check_basic_auth
from hookwire.signature_file import SCHEME_HMAC, SignatureFile

Cli = Callable[..., Result]


def accept(httpserver: HTTPServer, status: int = 202) -> str:
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=status)
    return httpserver.url_for("/hook")


def test_trigger_sends_count_requests_that_verify(
    cli: Cli, secret: str, httpserver: HTTPServer
) -> None:
    url = accept(httpserver)
    result = cli("trigger", "COURSE_COMPLETED", "--to", url, "--secret", secret, "--count", "3")
    assert result.exit_code == 0
    assert len(httpserver.log) == 3
    receiver = Receiver(secret=secret)
    for request, _ in httpserver.log:
        envelope = receiver.verify(request.get_data(), request.headers)
        assert [event.event_name for event in envelope.events] == ["COURSE_COMPLETED"]


def test_trigger_prints_one_line_per_request_with_its_status(
    cli: Cli, secret: str, httpserver: HTTPServer
) -> None:
    url = accept(httpserver)
    result = cli("trigger", "CI_STATS", "--to", url, "--secret", secret, "--count", "2")
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert all(line.startswith("202   CI_STATS  ") for line in lines)


def test_trigger_sends_the_senders_headers(cli: Cli, secret: str, httpserver: HTTPServer) -> None:
    url = accept(httpserver)
    cli("trigger", "LEARNER_PROGRESS", "--to", url, "--secret", secret)
    request, _ = httpserver.log[0]
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == f"hookwire/{__version__}"


def test_trigger_with_basic_auth_sends_the_credentials(cli: Cli, httpserver: HTTPServer) -> None:
    url = accept(httpserver)
    cli("trigger", "CI_STATS", "--to", url, "--basic-auth", "hooks:s3cret")
    request, _ = httpserver.log[0]
    check_basic_auth(request.headers["authorization"], "hooks", "s3cret")


def test_trigger_uses_the_account_option(cli: Cli, httpserver: HTTPServer) -> None:
    url = accept(httpserver)
    cli("trigger", "CI_STATS", "--to", url, "--account", "4321")
    request, _ = httpserver.log[0]
    assert json.loads(request.get_data())["accountId"] == 4321


def test_trigger_exits_1_when_an_answer_is_not_2xx(
    cli: Cli, secret: str, httpserver: HTTPServer
) -> None:
    url = accept(httpserver, status=401)
    result = cli("trigger", "CI_STATS", "--to", url, "--secret", secret)
    assert result.exit_code == 1
    assert result.stdout.startswith("401 ")


def test_trigger_does_not_follow_redirects(cli: Cli, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data(
        "", status=307, headers={"Location": httpserver.url_for("/elsewhere")}
    )
    result = cli("trigger", "CI_STATS", "--to", httpserver.url_for("/hook"))
    assert result.exit_code == 1
    assert len(httpserver.log) == 1


def test_trigger_reports_a_refused_connection_and_exits_1(cli: Cli) -> None:
    result = cli("trigger", "CI_STATS", "--to", "http://127.0.0.1:9/")
    assert result.exit_code == 1
    assert "cannot connect to 127.0.0.1:9: connection refused" in result.stdout


def test_trigger_names_a_host_that_does_not_resolve(cli: Cli) -> None:
    result = cli("trigger", "CI_STATS", "--to", "http://no-such-host.invalid/")
    assert result.exit_code == 1
    assert "cannot connect to no-such-host.invalid:80: " in result.stdout
    assert "unknown error" not in result.stdout


def test_trigger_unknown_event_is_a_one_line_error(cli: Cli) -> None:
    result = cli("trigger", "COURSE_FINISHED", "--to", "http://127.0.0.1:9/")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: unknown event name 'COURSE_FINISHED'; `hookwire trigger --list` shows the "
        "known names\n"
    )


def test_trigger_list_names_every_catalogue_event(cli: Cli) -> None:
    result = cli("trigger", "--list", "--json")
    assert [item["eventName"] for item in json.loads(result.stdout)] == list(CATALOGUE)


def test_trigger_json_reports_each_request(cli: Cli, httpserver: HTTPServer) -> None:
    url = accept(httpserver)
    result = cli("trigger", "CI_STATS", "--to", url, "--count", "2", "--json")
    report = json.loads(result.stdout)
    assert [(r["status"], r["ok"], r["eventName"]) for r in report] == [(202, True, "CI_STATS")] * 2


def test_trigger_with_a_seed_sends_the_same_events_again(cli: Cli, httpserver: HTTPServer) -> None:
    url = accept(httpserver)
    cli("trigger", "CI_STATS", "--to", url, "--seed", "7")
    cli("trigger", "CI_STATS", "--to", url, "--seed", "7")
    first, second = (json.loads(request.get_data()) for request, _ in httpserver.log)
    assert first["events"][0]["data"] == second["events"][0]["data"]


def test_trigger_as_a_subprocess_sends_verifiable_requests(
    secret: str, httpserver: HTTPServer
) -> None:
    url = accept(httpserver)
    completed = subprocess.run(
        [sys.executable, "-m", "hookwire_cli", "trigger", "COURSE_ENROLLMENT", "--to", url],
        env={"HOOKWIRE_SECRET": secret, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    request, _ = httpserver.log[0]
    envelope = Receiver(secret=secret).verify(request.get_data(), request.headers)
    assert envelope.events[0].event_name == "COURSE_ENROLLMENT"


def test_trigger_reads_basic_auth_from_the_environment(cli: Cli, httpserver: HTTPServer) -> None:
    url = accept(httpserver)
    cli("trigger", "CI_STATS", "--to", url, env={"HOOKWIRE_BASIC_AUTH": "hooks:s3cret"})
    request, _ = httpserver.log[0]
    check_basic_auth(request.headers["authorization"], "hooks", "s3cret")


def test_trigger_signs_with_a_signature_file_from_the_environment(
    cli: Cli, secret: str, httpserver: HTTPServer, tmp_path: Path
) -> None:
    path = tmp_path / "signature.json"
    SignatureFile("wh_1", SCHEME_HMAC, (secret,), datetime.now(UTC)).write(path)
    url = accept(httpserver)
    cli("trigger", "CI_STATS", "--to", url, env={"HOOKWIRE_SIGNATURE_FILE": str(path)})
    request, _ = httpserver.log[0]
    Receiver(signature_file=path).authenticate(request.get_data(), request.headers)
