"""``hookwire check`` against real listeners on 127.0.0.1: good ones pass, broken ones are caught.

The good listeners are the scaffold ``hookwire init`` writes (served by werkzeug in
a subprocess) and ``hookwire listen``. The broken ones are small WSGI apps served
in a thread: each one gets one thing wrong, and the report must name that thing
and say what to change.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import Result
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from live_process import LiveProcess, listener_url
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from hookwire import CATALOGUE, Receiver, WebhookError, generate_keypair, generate_secret
from hookwire_cli._check_probe import Probe, send_probes
from hookwire_cli.check import MAX_REQUESTS

Cli = Callable[..., Result]
Live = Callable[..., LiveProcess]
Handler = Callable[[Request], Response]

# Fast enough for tests, still paced; every battery fits well inside a second or two.
FAST = ("--rate", "50")


@contextlib.contextmanager
def served(handler: Handler) -> Iterator[str]:
    """Serve ``handler`` on a free port of 127.0.0.1 in a thread; yields its URL."""
    server: BaseWSGIServer = make_server(
        "127.0.0.1", 0, Request.application(handler), threaded=True
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/webhooks"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def verifying(secret: str, *, tolerance: float = 300, status: int = 202) -> Handler:
    """A listener that verifies with hookwire and answers ``status``; 401 when it fails."""
    receiver = Receiver(secret=secret, tolerance=tolerance)

    def handle(request: Request) -> Response:
        try:
            receiver.verify(request.get_data(), request.headers)
        except WebhookError:
            return Response(status=401)
        return Response(status=status)

    return handle


def lines_of(result: Result) -> list[str]:
    return result.output.splitlines()


def line_with(result: Result, title: str) -> tuple[str, str]:
    """The report line of the check titled ``title``, and the line after it (its advice)."""
    lines = lines_of(result)
    for index, line in enumerate(lines):
        if title in line:
            return line, lines[index + 1] if index + 1 < len(lines) else ""
    raise AssertionError(f"no line with {title!r} in:\n{result.output}")


def check_lines(result: Result) -> list[str]:
    return [line for line in lines_of(result) if line[:4] in {"PASS", "WARN", "FAIL", "SKIP"}]


# --- good listeners pass ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


_SERVE_SCAFFOLD = """\
import sys
from werkzeug.serving import make_server
from app import create_app
make_server("127.0.0.1", int(sys.argv[1]), create_app(), threaded=True).serve_forever()
"""


@contextlib.contextmanager
def scaffold(cli: Cli, tmp_path: Path, secret: str) -> Iterator[str]:
    """The project ``hookwire init`` writes, served on 127.0.0.1; yields its webhook URL."""
    project = tmp_path / "listener"
    assert cli("init", str(project)).exit_code == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKWIRE_", "LISTENER_"))}
    env["HOOKWIRE_SECRET"] = secret
    port = free_port()
    with (tmp_path / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", _SERVE_SCAFFOLD, str(port)],
            cwd=project,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "the scaffold did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/webhooks"
    finally:
        process.terminate()
        process.wait(10)


def test_the_scaffold_passes_every_check(cli: Cli, tmp_path: Path, secret: str) -> None:
    with scaffold(cli, tmp_path, secret) as url:
        result = cli("check", url, "--secret", secret, *FAST)
    assert result.exit_code == 0, result.output
    lines = check_lines(result)
    assert len(lines) == 17
    assert all(line.startswith("PASS") for line in lines), result.output
    assert "Result: 0 failed, 0 warned, 17 passed" in result.output
    assert secret not in result.output


def test_hookwire_listen_passes_every_check(cli: Cli, live: Live, secret: str) -> None:
    url = listener_url(live("listen", "--port", "0", "--secret", secret))
    result = cli("check", url, "--secret", secret, *FAST)
    assert result.exit_code == 0, result.output
    assert all(line.startswith("PASS") for line in check_lines(result)), result.output


def test_hookwire_listen_with_basic_auth_is_checked_for_a_wrong_password(
    cli: Cli, live: Live
) -> None:
    url = listener_url(live("listen", "--port", "0", "--basic-auth", "hooks:s3cret-pw"))
    result = cli("check", url, "--basic-auth", "hooks:s3cret-pw", *FAST)
    assert result.exit_code == 0, result.output
    line, _ = line_with(result, "a wrong basic-auth password is refused")
    assert line.startswith("PASS  ")
    assert "signed with another secret" not in result.output
    assert "s3cret-pw" not in result.output


def test_a_signature_file_checks_the_listener_that_verifies_with_it(
    cli: Cli, live: Live, secret: str, tmp_path: Path
) -> None:
    path = tmp_path / "signature.json"
    path.write_text(
        json.dumps(
            {
                "webhookId": "wh_1",
                "scheme": "standard-webhooks-v1",
                "secret": secret,
                "createdAt": "2026-11-28T17:00:00Z",
            }
        )
    )
    url = listener_url(live("listen", "--port", "0", "--signature-file", str(path)))
    result = cli("check", url, "--signature-file", str(path), *FAST)
    assert result.exit_code == 0, result.output
    assert "a request signed with another secret is refused" in result.output
    assert secret not in result.output


def test_an_ed25519_listener_is_checked_with_its_signing_key(cli: Cli, live: Live) -> None:
    signing_key, public_key = generate_keypair()
    url = listener_url(live("listen", "--port", "0", "--secret", public_key))
    result = cli("check", url, "--secret", signing_key, *FAST)
    assert result.exit_code == 0, result.output
    assert line_with(result, "a truncated signature is refused")[0].startswith("PASS")
    assert signing_key not in result.output


# --- broken listeners are caught, with the advice that fixes them -------------------------


def test_a_listener_accepting_unsigned_requests_fails_with_authenticate_advice(
    cli: Cli, secret: str
) -> None:
    with served(lambda request: Response(status=202)) as url:
        result = cli("check", url, "--secret", secret, *FAST)
    assert result.exit_code == 1
    line, advice = line_with(result, "an unauthenticated request is refused")
    assert line.startswith("FAIL  ")
    assert "  accepted: 202 in " in line
    assert advice.startswith("      -> authenticate every request before handling it")
    line, advice = line_with(result, "a request signed with another secret is refused")
    assert line.startswith("FAIL  ")
    assert "verify webhook-signature against this webhook's own secret" in advice
    line, _ = line_with(result, "a valid request is accepted")
    assert line.startswith("PASS  ")


def test_a_listener_failing_on_unknown_events_fails_with_accept_unknown_names_advice(
    cli: Cli, secret: str
) -> None:
    receiver = Receiver(secret=secret)

    def handle(request: Request) -> Response:
        try:
            envelope = receiver.verify(request.get_data(), request.headers)
        except WebhookError:
            return Response(status=401)
        if any(event.event_name not in CATALOGUE for event in envelope.events):
            return Response("KeyError", status=500)
        return Response(status=202)

    with served(handle) as url:
        result = cli("check", url, "--secret", secret, *FAST)
    assert result.exit_code == 1
    line, advice = line_with(result, "an unknown event name is accepted")
    assert line.startswith("FAIL  ")
    assert "HOOKWIRE_CHECK_UNKNOWN_EVENT: 500 in " in line
    assert advice == (
        "      -> accept event names outside the catalogue (log and skip them): the platform "
        "adds events without notice"
    )
    assert line_with(result, "catalogue events are accepted")[0].startswith("PASS  ")


@pytest.mark.slow
def test_a_sleeping_listener_is_reported_after_the_timeout_not_waited_on(
    cli: Cli, secret: str
) -> None:
    def sleepy(request: Request) -> Response:
        time.sleep(6)
        return Response(status=202)

    with served(sleepy) as url:
        started = time.monotonic()
        result = cli("check", url, "--secret", secret)
        took = time.monotonic() - started
    assert result.exit_code == 1
    assert took < 8, f"the check waited {took:.1f} s"
    line, advice = line_with(result, "a valid request is accepted")
    assert line.startswith("FAIL  ")
    assert line.endswith("no answer within 6 s")
    assert advice.startswith("      -> answer 202 at once and do slow work after the answer")
    assert check_lines(result)[1:] == [
        f"SKIP  {'the 16 checks left':<52}  not sent: the listener stopped answering"
    ]
    assert "(1 request in " in result.output


def test_a_listener_accepting_a_stale_timestamp_fails_with_clock_advice(
    cli: Cli, secret: str
) -> None:
    with served(verifying(secret, tolerance=10**9, status=200)) as url:
        result = cli("check", url, "--secret", secret, *FAST)
    assert result.exit_code == 1
    line, advice = line_with(result, "a request signed an hour ago is refused")
    assert line.startswith("FAIL  ")
    assert "accepted: 200 in " in line
    assert advice == (
        "      -> refuse a webhook-timestamp more than 300 s from the clock, so a captured "
        "request cannot be replayed later"
    )
    assert line_with(result, "a request signed an hour ahead is refused")[0].startswith("FAIL")
    # The signature is still checked, and a 200 is only a warning.
    assert line_with(result, "signed with another secret")[0].startswith("PASS")
    line, advice = line_with(result, "a valid request is accepted")
    assert line.startswith("WARN  ")
    assert advice.startswith("      -> answer 202 Accepted")


def test_a_listener_without_a_size_limit_that_hangs_on_a_big_body_fails(
    cli: Cli, secret: str
) -> None:
    def stalls_on_big_bodies(request: Request) -> Response:
        if (request.content_length or 0) > 1_000_000:
            time.sleep(3)
        return verifying(secret)(request)

    with served(stalls_on_big_bodies) as url:
        result = cli("check", url, "--secret", secret, "--timeout", "1", *FAST)
    assert result.exit_code == 1
    line, advice = line_with(result, "a body over 1 MiB gets 413, not a hang")
    assert line.startswith("FAIL  ")
    assert line.endswith("no answer within 1 s")
    assert advice.startswith("      -> cap the body size and answer 413 over it at once")


def test_checking_with_another_secret_than_the_listeners_says_to_give_it_the_same(
    cli: Cli, secret: str
) -> None:
    with served(verifying(generate_secret())) as url:
        result = cli("check", url, "--secret", secret, *FAST)
    assert result.exit_code == 1
    line, advice = line_with(result, "a valid request is accepted")
    assert line.startswith("FAIL  ")
    assert "COURSE_ENROLLMENT: 401 in " in line
    assert advice.startswith("      -> the listener refused a request with the right credentials")


# --- the report as JSON -------------------------------------------------------------------


def test_json_report_holds_every_check_with_its_grade_advice_and_answers(
    cli: Cli, secret: str
) -> None:
    with served(lambda request: Response(status=202)) as url:
        result = cli("check", url, "--secret", secret, "--json", *FAST)
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False
    assert report["url"] == url
    by_key = {check["check"]: check for check in report["checks"]}
    assert by_key["valid"]["grade"] == "pass"
    assert by_key["valid"]["advice"] is None
    assert by_key["stale"]["grade"] == "fail"
    assert by_key["stale"]["advice"].startswith("refuse a webhook-timestamp")
    assert by_key["latency"]["p50Ms"] is not None
    assert len(by_key["catalogue"]["answers"]) == by_key["catalogue"]["requests"] == 4
    assert report["requests"] == sum(check["requests"] for check in report["checks"])
    assert report["counts"]["fail"] == sum(c["grade"] == "fail" for c in report["checks"])
    assert secret not in result.output


# --- what the battery sends ---------------------------------------------------------------


def test_every_request_carries_test_like_ids_and_stays_under_the_cap(cli: Cli, secret: str) -> None:
    seen: list[Request] = []
    bodies: list[bytes] = []

    def recording(request: Request) -> Response:
        bodies.append(request.get_data())
        seen.append(request)
        return verifying(secret)(request)

    with served(recording) as url:
        result = cli("check", url, "--secret", secret, "--basic-auth", "u:p", *FAST)
    assert f"({len(seen)} requests in " in result.output
    assert len(seen) <= MAX_REQUESTS
    assert all(
        r.headers.get("webhook-id", "msg_hookwire-check-").startswith("msg_hookwire-check-")
        for r in seen
    )
    event_ids = [
        event["eventId"]
        for body in bodies
        if body.startswith(b"{")
        for event in json.loads(body)["events"]
    ]
    assert event_ids
    assert all(event_id.startswith("hookwire-check-") for event_id in event_ids)


def plain_probes(count: int) -> list[Probe]:
    request = SimpleNamespace(body=b"{}", headers={"content-type": "application/json"})
    return [Probe(f"probe {n}", lambda: request) for n in range(count)]


def test_requests_are_paced_at_the_rate_and_stop_at_the_cap() -> None:
    arrivals: list[float] = []

    def record(request: Request) -> Response:
        arrivals.append(time.monotonic())
        return Response(status=202)

    with served(record) as url:
        answers = asyncio.run(send_probes(url, plain_probes(6), rate=20, per_request=2, cap=4))
    assert [answer.sent for answer in answers] == [True] * 4 + [False] * 2
    assert len(arrivals) == 4
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert min(gaps) >= 0.045, gaps


def test_sending_stops_after_three_late_answers() -> None:
    def slow(request: Request) -> Response:
        time.sleep(0.3)
        return Response(status=202)

    with served(slow) as url:
        answers = asyncio.run(
            send_probes(url, plain_probes(6), rate=50, per_request=2, cap=10, late=0.2)
        )
    assert [answer.status for answer in answers] == [202, 202, 202, None, None, None]
    assert answers[-1].error == "not sent: the listener stopped answering"


# --- bad input is one line ----------------------------------------------------------------


def test_an_unreachable_listener_is_a_one_line_error(cli: Cli, secret: str) -> None:
    url = f"http://127.0.0.1:{free_port()}/webhooks"
    result = cli("check", url, "--secret", secret)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[1:] == []
    assert result.stderr.startswith(f"Error: cannot check {url}: cannot connect to 127.0.0.1:")
    assert len(result.stderr.splitlines()) == 1


def test_a_host_that_does_not_resolve_is_a_one_line_error(cli: Cli, secret: str) -> None:
    result = cli("check", "http://no-such-host.invalid/webhooks", "--secret", secret)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: cannot check http://no-such-host.invalid/webhooks: "
        "cannot connect to no-such-host.invalid:80: "
    )
    assert "error -" not in result.stderr
    assert len(result.stderr.splitlines()) == 1


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no one trusts, and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_an_untrusted_tls_certificate_is_a_one_line_error(
    cli: Cli, secret: str, tmp_path: Path
) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed_certificate(tmp_path))
    server: BaseWSGIServer = make_server(
        "127.0.0.1", 0, Request.application(lambda r: Response(status=202)), ssl_context=context
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        url = f"https://127.0.0.1:{server.server_port}/webhooks"
        result = cli("check", url, "--secret", secret)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot check {url}: cannot connect to 127.0.0.1:{server.server_port}: "
        "TLS certificate: self-signed certificate\n"
    )


def test_missing_credentials_are_a_one_line_usage_error(cli: Cli) -> None:
    result = cli("check", "http://127.0.0.1:9/webhooks")
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert "give the listener's --secret, --signature-file or --basic-auth" in result.stderr


@pytest.mark.parametrize("url", ["127.0.0.1:8000/webhooks", "ftp://example.com/x"])
def test_a_bad_url_is_a_one_line_error(cli: Cli, secret: str, url: str) -> None:
    result = cli("check", url, "--secret", secret)
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert "is not an absolute http(s) URL" in result.stderr


def test_a_public_key_given_as_the_secret_is_a_one_line_error(cli: Cli) -> None:
    _, public = generate_keypair()
    result = cli("check", "http://127.0.0.1:9/webhooks", "--secret", public)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert len(result.stderr.splitlines()) == 1
    assert public not in result.stderr
    assert result.stdout == ""
