"""The helpers every command shares: one-line errors, URLs, times, credentials."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from hookwire import InvalidSecretError, InvalidTargetError, PayloadError, Receiver, sign_headers
from hookwire.signature_file import SCHEME_ED25519, SignatureFile
from hookwire.signing import generate_keypair, parse_key
from hookwire_cli._common import (
    BASIC_AUTH,
    TIME,
    URL,
    HookwireGroup,
    RequestAuth,
    build_receiver,
    build_request_auth,
    check_url,
)


@click.group(cls=HookwireGroup)
def group() -> None:
    """A throwaway group using the shared error handling."""


@group.command()
def payload() -> None:
    raise PayloadError("events.0.data.userId: Input should be\na valid integer")


@group.command()
def missing() -> None:
    Path("/nonexistent/hookwire.jsonl").read_text()


@group.command()
@click.option("--to", type=URL, required=True)
def send(to: str) -> None:
    click.echo(to)


@group.group()
def nested() -> None:
    """A nested group with no error handling of its own."""


@nested.command()
def fail() -> None:
    raise InvalidSecretError("the secret is empty")


def invoke(*args: str) -> click.testing.Result:
    return CliRunner().invoke(group, list(args))


def test_webhook_error_is_one_line_with_exit_1() -> None:
    result = invoke("payload")
    assert result.exit_code == 1
    assert result.stderr == "Error: events.0.data.userId: Input should be a valid integer\n"


def test_os_error_names_the_file_without_a_traceback() -> None:
    result = invoke("missing")
    assert result.exit_code == 1
    assert result.stderr == "Error: /nonexistent/hookwire.jsonl: No such file or directory\n"


def test_error_in_a_nested_group_is_handled_by_the_top_group() -> None:
    result = invoke("nested", "fail")
    assert (result.exit_code, result.stderr) == (1, "Error: the secret is empty\n")


def test_usage_error_is_one_line_with_exit_2() -> None:
    result = invoke("send")
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert "--to" in result.stderr
    assert "--help" in result.stderr


def test_bad_url_option_is_one_line_with_exit_1() -> None:
    result = invoke("send", "--to", "ftp://example.com/")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: '--to': 'ftp://example.com/' is not an absolute")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "url", ["example.com/hook", "http://", "mailto:a@b.c", "http://host:99999/", "http://host:0/"]
)
def test_check_url_refuses_what_is_not_an_absolute_http_url(url: str) -> None:
    with pytest.raises(InvalidTargetError):
        check_url(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/webhooks", "https://[::1]/", "https://a.b"])
def test_check_url_accepts_http_and_https_urls(url: str) -> None:
    assert check_url(url) == url


def test_time_reads_iso_with_z_as_utc() -> None:
    assert TIME.convert("2026-11-28T17:00:00Z", None, None) == datetime(
        2026, 11, 28, 17, tzinfo=UTC
    )


def test_time_takes_a_naive_time_as_utc() -> None:
    assert TIME.convert("2026-11-28 17:00", None, None).tzinfo == UTC


def test_time_reads_an_age_as_that_long_ago() -> None:
    moment = TIME.convert("15m", None, None)
    assert abs((datetime.now(UTC) - moment) - timedelta(minutes=15)) < timedelta(seconds=5)


def test_time_refuses_other_text() -> None:
    with pytest.raises(click.BadParameter, match="ISO-8601"):
        TIME.convert("yesterday", None, None)


def test_basic_auth_splits_at_the_first_colon() -> None:
    assert BASIC_AUTH.convert("user:pa:ss", None, None) == ("user", "pa:ss")


def test_basic_auth_error_never_shows_the_value() -> None:
    with pytest.raises(click.BadParameter) as caught:
        BASIC_AUTH.convert("hunter2", None, None)
    assert "hunter2" not in str(caught.value)


def test_build_receiver_without_credentials_is_a_usage_error_when_required() -> None:
    with pytest.raises(click.UsageError, match="HOOKWIRE_SECRET"):
        build_receiver(secret=None, signature_file=None, basic_auth=None)


def test_build_receiver_without_credentials_may_return_none() -> None:
    assert build_receiver(secret=None, signature_file=None, basic_auth=None, required=False) is None


def test_request_auth_headers_verify_with_a_receiver(secret: str) -> None:
    auth = build_request_auth(secret=secret, signature_file=None, basic_auth=("u", "p"))
    headers = auth.headers(b'{"accountId": 1, "events": []}')
    receiver = Receiver(secret=secret, basic_auth=("u", "p"))
    assert receiver.verify(b'{"accountId": 1, "events": []}', headers).account_id == 1


def test_request_auth_signs_with_every_secret_of_a_signature_file(
    tmp_path: Path, secret: str
) -> None:
    other = build_request_auth(secret=secret, signature_file=None, basic_auth=None)
    path = tmp_path / "signature.json"
    path.write_text(
        json.dumps(
            {
                "webhookId": "wh_1",
                "scheme": "standard-webhooks-v1",
                "secret": secret,
                "secrets": [secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
                "createdAt": "2026-11-28T17:00:00Z",
            }
        )
    )
    auth = build_request_auth(secret=None, signature_file=str(path), basic_auth=None)
    assert len(auth.keys) == 2
    assert auth.keys[0] == other.keys[0]


def test_request_auth_refuses_an_ed25519_signature_file(tmp_path: Path) -> None:
    _, public = generate_keypair()
    path = tmp_path / "signature.json"
    SignatureFile("wh_1", SCHEME_ED25519, (public,), datetime.now(UTC)).write(path)
    with pytest.raises(InvalidSecretError, match="whsk_"):
        build_request_auth(secret=None, signature_file=str(path), basic_auth=None)


def test_request_auth_repr_hides_secrets(secret: str) -> None:
    auth = build_request_auth(secret=secret, signature_file=None, basic_auth=("u", "hunter2"))
    assert secret not in repr(auth)
    assert "hunter2" not in repr(auth)
    assert "aHVudGVy" not in repr(auth)


def test_request_auth_headers_match_sign_headers_for_every_key(secret: str) -> None:
    signing_key, _ = generate_keypair()
    body = b'{"test": 2432232314}'
    auth = build_request_auth(secret=secret, signature_file=None, basic_auth=None)
    both = RequestAuth(keys=(*auth.keys, parse_key(signing_key)))
    expected = sign_headers([secret, signing_key], body, msg_id="msg_1", timestamp=1614265330)
    assert both.headers(body, msg_id="msg_1", timestamp=1614265330) == expected


def test_request_auth_headers_give_the_known_answer() -> None:
    auth = build_request_auth(
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", signature_file=None, basic_auth=None
    )
    headers = auth.headers(
        b'{"test": 2432232314}', msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=1614265330
    )
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_nested_group_without_a_command_shows_its_help_intact() -> None:
    result = invoke("nested")
    assert "Commands:\n  fail" in result.output
