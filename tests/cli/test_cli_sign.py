"""hookwire sign: webhook-* headers for a body, as lines, JSON or a curl command."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer

from hookwire import Receiver

KAT_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
KAT_ARGS = ("--id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "--timestamp", "1614265330")
KAT_BODY = '{"test": 2432232314}'
KAT_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

Cli = Callable[..., Result]


def test_sign_prints_the_known_answer_headers(cli: Cli) -> None:
    result = cli("sign", "--secret", KAT_SECRET, *KAT_ARGS, input=KAT_BODY)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp: 1614265330",
        f"webhook-signature: {KAT_SIGNATURE}",
    ]


def test_sign_json_prints_the_headers_as_an_object(cli: Cli) -> None:
    result = cli("sign", "--secret", KAT_SECRET, *KAT_ARGS, "--json", input=KAT_BODY)
    assert json.loads(result.stdout)["webhook-signature"] == KAT_SIGNATURE


def test_sign_reads_the_secret_from_hookwire_secret(cli: Cli) -> None:
    result = cli("sign", *KAT_ARGS, "--json", input=KAT_BODY, env={"HOOKWIRE_SECRET": KAT_SECRET})
    assert json.loads(result.stdout)["webhook-signature"] == KAT_SIGNATURE


def test_sign_reads_the_body_from_a_file(cli: Cli, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text(KAT_BODY)
    result = cli("sign", str(body), "--secret", KAT_SECRET, *KAT_ARGS, "--json")
    assert json.loads(result.stdout)["webhook-signature"] == KAT_SIGNATURE


def test_sign_without_a_secret_is_a_usage_error(cli: Cli) -> None:
    result = cli("sign", input=KAT_BODY)
    assert result.exit_code == 2
    assert "--secret" in result.stderr


def test_sign_with_a_bad_secret_fails_in_one_line(cli: Cli) -> None:
    result = cli("sign", "--secret", "whsec_short", input=KAT_BODY)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: the secret is")
    assert "whsec_short" not in result.stderr


def test_sign_output_verifies_with_the_same_secret(cli: Cli, secret: str) -> None:
    body = b'{"accountId": 7, "events": []}'
    result = cli("sign", "--secret", secret, "--json", input=body)
    headers = json.loads(result.stdout)
    assert Receiver(secret=secret).verify(body, headers).account_id == 7


def test_curl_command_delivers_a_verifiable_request(
    cli: Cli, secret: str, tmp_path: Path, httpserver: HTTPServer
) -> None:
    body = tmp_path / "body.json"
    body.write_bytes(b'{"accountId": 9, "events": []}')
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=202)
    result = cli("sign", str(body), "--secret", secret, "--curl", httpserver.url_for("/hook"))
    subprocess.run(["sh", "-c", result.stdout], check=True, capture_output=True)
    request, _ = httpserver.log[0]
    assert Receiver(secret=secret).verify(request.get_data(), request.headers).account_id == 9
    assert request.headers["content-type"] == "application/json"


def test_curl_command_inlines_a_body_from_stdin(cli: Cli, secret: str) -> None:
    result = cli("sign", "--secret", secret, "--curl", "http://127.0.0.1:9/", input=KAT_BODY)
    assert result.stdout.startswith("printf '%s' '{\"test\": 2432232314}' | curl ")
    assert result.stdout.endswith(" --data-binary @-\n")


# Bodies a shell or curl would treat specially if they reached either as code or as a curl
# argument: a leading @ (curl would upload that file; @- would read stdin), quotes, $,
# backticks, backslashes, option-like dashes, newlines, and a trailing newline to keep.
LITERAL_BODIES = {
    "at-file": b"@/etc/hostname",
    "at-stdin": b"@-",
    "at-and-shell": b"@x'\"$HOME`id`$(id)\\n\n\\\nline 3\n",
    "dashes": b"-d @/etc/hostname --next",
    "json-with-newline": b'{"accountId": 1, "events": []}\n',
    "utf-8": "@caf\u00e9 \u2603".encode(),
}


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
@pytest.mark.parametrize("name", list(LITERAL_BODIES))
def test_curl_command_sends_a_stdin_body_literally_whatever_it_holds(
    name: str, cli: Cli, secret: str, httpserver: HTTPServer
) -> None:
    body = LITERAL_BODIES[name]
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=202)
    result = cli("sign", "--secret", secret, "--curl", httpserver.url_for("/hook"), input=body)
    assert result.exit_code == 0
    subprocess.run(
        ["bash", "-c", result.stdout],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )
    [(request, _)] = httpserver.log
    assert request.get_data() == body
    Receiver(secret=secret).authenticate(request.get_data(), request.headers)


@pytest.mark.parametrize("output", [(), ("--json",), ("--curl", "http://127.0.0.1:9/")])
@pytest.mark.parametrize("msg_id", ["a\r\nX-Evil: 1", "a\nX-Evil: 1", "a\x00b", "a\tb", "a\u2028b"])
def test_sign_refuses_a_control_character_in_id_with_one_usage_line(
    cli: Cli, msg_id: str, output: tuple[str, ...]
) -> None:
    result = cli("sign", "--secret", KAT_SECRET, "--id", msg_id, *output, input=KAT_BODY)
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: --id may hold only printable characters")
    assert "X-Evil" not in result.stderr


def test_curl_refuses_a_stdin_body_with_a_nul_byte_in_one_line(cli: Cli) -> None:
    result = cli("sign", "--secret", KAT_SECRET, "--curl", "http://127.0.0.1:9/", input=b"a\0b")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert "pass it as a file" in result.stderr
