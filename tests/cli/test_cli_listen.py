"""hookwire listen: a real capture server in a subprocess, and its option checks."""

from __future__ import annotations

import http.client
import json
import random
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from click.testing import Result
from live_process import LiveProcess, listener_url
from pytest_httpserver import HTTPServer

from hookwire import Receiver, sign_headers
from hookwire.recording import REDACTED, read_recording
from hookwire.samples import sample_envelope

Cli = Callable[..., Result]
Live = Callable[..., LiveProcess]


def request(
    url: str, body: bytes = b"", headers: Mapping[str, str] | None = None, method: str = "POST"
) -> tuple[int, dict[str, str]]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request(method, parts.path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def envelope_body(name: str = "COURSE_COMPLETED", seed: int = 1) -> tuple[bytes, str]:
    envelope = sample_envelope([name], 1010, random.Random(seed))
    return json.dumps(envelope).encode(), envelope["events"][0]["eventId"]


def signed(secret: str, body: bytes) -> dict[str, str]:
    return {"content-type": "application/json", **sign_headers(secret, body)}


def test_listen_accepts_a_signed_request_and_prints_its_event(live: Live, secret: str) -> None:
    process = live("listen", "--port", "0", "--secret", secret)
    url = listener_url(process)
    body, event_id = envelope_body()
    status, _ = request(url, body, signed(secret, body))
    assert status == 202
    line = process.wait_for(event_id)
    assert "COURSE_COMPLETED" in line
    assert line.endswith("verified")


def test_listen_answers_401_to_a_wrong_signature_and_says_why(live: Live, secret: str) -> None:
    process = live("listen", "--port", "0", "--secret", secret)
    url = listener_url(process)
    body, _ = envelope_body()
    headers = signed("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", body)
    status, _ = request(url, body, headers)
    assert status == 401
    assert "401 not verified: no signature matches" in process.wait_for(headers["webhook-id"])


def test_listen_answers_400_to_a_malformed_body(live: Live, secret: str, samples_dir: Path) -> None:
    process = live("listen", "--port", "0", "--secret", secret)
    body = (samples_dir / "bad-trailing-comma.json").read_bytes()
    status, _ = request(listener_url(process), body, signed(secret, body))
    assert status == 400
    assert "400 rejected: the body is not JSON" in process.wait_for("400 rejected")


def test_listen_answers_405_with_allow_to_a_get(live: Live, secret: str) -> None:
    process = live("listen", "--port", "0", "--secret", secret)
    status, headers = request(listener_url(process), method="GET")
    assert (status, headers["allow"]) == (405, "POST")


def test_listen_answers_413_to_a_body_over_max_body(live: Live, secret: str) -> None:
    process = live("listen", "--port", "0", "--secret", secret, "--max-body", "100")
    body, _ = envelope_body()
    status, _ = request(listener_url(process), body, signed(secret, body))
    assert status == 413


def test_listen_answers_404_off_its_path(live: Live, secret: str) -> None:
    process = live("listen", "--port", "0", "--secret", secret, "--path", "/webhooks")
    url = listener_url(process)
    assert url.endswith("/webhooks")
    status, _ = request(url.removesuffix("webhooks") + "other", b"{}")
    assert status == 404


def test_listen_without_credentials_accepts_and_says_unchecked(live: Live) -> None:
    process = live("listen", "--port", "0")
    body, event_id = envelope_body()
    status, _ = request(listener_url(process), body, {"content-type": "application/json"})
    assert status == 202
    assert "not checked" in process.wait_for(event_id)


def test_listen_with_basic_auth_asks_for_credentials(live: Live) -> None:
    process = live("listen", "--port", "0", "--basic-auth", "hooks:pw")
    body, _ = envelope_body()
    status, headers = request(listener_url(process), body, {"content-type": "application/json"})
    assert status == 401
    assert headers["www-authenticate"].startswith("Basic")


def test_listen_records_requests_with_credentials_redacted(
    live: Live, secret: str, tmp_path: Path
) -> None:
    record = tmp_path / "requests.jsonl"
    process = live("listen", "--port", "0", "--secret", secret, "--record", str(record))
    url = listener_url(process)
    body, _ = envelope_body()
    request(url, body, {**signed(secret, body), "authorization": "Basic aDpwdw=="})
    request(url, b"{}", {"content-type": "application/json"})
    process.wait_for("401 not verified")
    assert process.stop() == 0
    first, second = read_recording(record)
    assert (first.body, first.verified, first.status) == (body, True, 202)
    assert first.headers["authorization"] == REDACTED
    assert (second.verified, second.status) == (False, 401)


def test_listen_forwards_accepted_requests_re_signed(
    live: Live, secret: str, httpserver: HTTPServer
) -> None:
    app_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    httpserver.expect_request("/app", method="POST").respond_with_data("", status=202)
    process = live(
        "listen", "--port", "0", "--secret", secret,
        "--forward-to", httpserver.url_for("/app"), "--forward-secret", app_secret,
    )  # fmt: skip
    body, _ = envelope_body()
    request(listener_url(process), body, signed(secret, body))
    assert process.wait_for("-> forwarded to").endswith(": 202")
    forwarded, _ = httpserver.log[0]
    assert forwarded.get_data() == body
    Receiver(secret=app_secret).authenticate(forwarded.get_data(), forwarded.headers)


def test_listen_never_forwards_a_rejected_request(
    live: Live, secret: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/app").respond_with_data("", status=202)
    process = live(
        "listen", "--port", "0", "--secret", secret, "--forward-to", httpserver.url_for("/app")
    )
    request(listener_url(process), b"{}", {"content-type": "application/json"})
    process.wait_for("401 not verified")
    assert process.stop() == 0
    assert httpserver.log == []


def test_listen_json_prints_one_object_per_request(live: Live, secret: str) -> None:
    process = live("listen", "--port", "0", "--secret", secret, "--json")
    url = json.loads(process.wait_for('"listening"'))["listening"]
    body, event_id = envelope_body()
    request(url, body, signed(secret, body))
    report = json.loads(process.wait_for(event_id))
    assert (report["status"], report["verified"]) == (202, True)


def test_sigterm_stops_the_listener_with_exit_0(live: Live, secret: str) -> None:
    process = live("listen", "--port", "0", "--secret", secret)
    listener_url(process)
    assert process.stop() == 0
    assert process.lines[-1] == "Stopped after 0 requests."


def test_port_in_use_is_a_one_line_error(live: Live, secret: str, cli: Cli) -> None:
    process = live("listen", "--port", "0", "--secret", secret)
    port = urlsplit(listener_url(process)).port
    result = cli("listen", "--port", str(port), "--secret", secret)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "address already in use" in result.stderr


def test_path_must_start_with_a_slash(cli: Cli) -> None:
    result = cli("listen", "--path", "webhooks")
    assert result.exit_code == 2
    assert "--path must start with '/'" in result.stderr


def test_forward_secret_needs_forward_to(cli: Cli, secret: str) -> None:
    result = cli("listen", "--forward-secret", secret)
    assert result.exit_code == 2


def test_listen_help_shows_an_example(cli: Cli) -> None:
    result = cli("listen", "--help")
    assert "hookwire listen --port 8000" in result.stdout
    assert "HOOKWIRE_SECRET" in result.stdout


def test_unwritable_record_file_is_a_one_line_error(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "requests.jsonl"
    result = cli("listen", "--record", str(target))
    assert result.exit_code == 1
    assert result.stderr == f"Error: {target}: No such file or directory\n"


def test_ctrl_c_stops_the_listener_with_exit_0(live: Live, secret: str) -> None:
    process = live("listen", "--port", "0", "--secret", secret)
    listener_url(process)
    process.process.send_signal(signal.SIGINT)
    assert process.finish() == 0
    assert process.lines[-1] == "Stopped after 0 requests."


def answer(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, object]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request("POST", parts.path, body=body, headers=dict(headers))
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_listen_answers_as_the_flask_listener_does(live: Live, secret: str) -> None:
    process = live("listen", "--port", "0", "--secret", secret)
    url = listener_url(process)
    body, _ = envelope_body()
    assert answer(url, body, signed(secret, body)) == (202, {"accepted": 1, "duplicates": 0})
    assert answer(url, body, signed(secret, body)) == (202, {"accepted": 0, "duplicates": 1})
    as_text = {**signed(secret, body), "content-type": "text/plain"}
    assert answer(url, body, as_text) == (
        415,
        {"error": "the content type must be application/json"},
    )
    line = process.wait_for("415 rejected")
    assert line.endswith("415 rejected: the content type must be application/json")


def test_listen_takes_several_secrets_during_a_rotation(live: Live, secret: str) -> None:
    old = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    process = live("listen", "--port", "0", "--secret", f"{old} {secret}")
    body, _ = envelope_body()
    assert answer(listener_url(process), body, signed(secret, body))[0] == 202
