"""``hookwire console``: API keys, access links and sessions from the command line, and serving.

The commands run in-process with click's CliRunner on a real SQLite file;
what they make is then used through the console :func:`create_app` builds
over the same file, and ``serve`` runs as a real process on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from _access_helpers import ACCOUNT, OTHER, bearer, link_token, webhooks
from click.testing import CliRunner, Result
from flask.testing import FlaskClient

from hookwire.console import keys
from hookwire.console.server import SECRET_KEY_ENV, create_app
from hookwire.errors import ConfigurationError
from hookwire_cli.main import main

SECRET_KEY = "cli-console-secret-key-0123456789"
Hw = Callable[..., Result]


@pytest.fixture
def db(tmp_path: Path) -> str:
    """The test's own store."""
    return f"sqlite:///{tmp_path / 'hookwire.db'}"


@pytest.fixture
def hw(db: str, monkeypatch: pytest.MonkeyPatch) -> Hw:
    """``hookwire console ARGS...`` against ``db``, with the console's secret key set."""
    monkeypatch.setenv("HOOKWIRE_DATABASE_URL", db)
    monkeypatch.setenv(SECRET_KEY_ENV, SECRET_KEY)

    def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
        return CliRunner().invoke(main, ["console", *args], env=env, catch_exceptions=False)

    return run


@pytest.fixture
def served(db: str) -> FlaskClient:
    """A client of the standalone console over ``db``."""
    return create_app(db, secret_key=SECRET_KEY).test_client()


def one_line_error(result: Result, code: int = 1) -> str:
    """The command's error, checked to be one line without a traceback."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_api_key_create_prints_the_key_once_and_it_works(hw: Hw, served: FlaskClient) -> None:
    result = hw("api-key", "create", "--name", "ci", "--account", str(ACCOUNT))
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("hwk_")
    assert "will not be shown again" in result.stderr
    assert token not in result.stderr
    assert served.get(webhooks(), headers=bearer(token)).status_code == 200
    assert served.get(webhooks(OTHER), headers=bearer(token)).status_code == 404
    listed = hw("api-key", "list")
    assert "ci" in listed.stdout
    assert token not in listed.output


def test_api_key_list_shows_scope_access_and_state(hw: Hw) -> None:
    hw("api-key", "create", "--name", "viewer", "--account", "1010", "--account", "2020",
       "--read-only")  # fmt: skip
    hw("api-key", "create", "--name", "ops")
    listed = json.loads(hw("api-key", "list", "--json").stdout)
    assert [(k["name"], k["accounts"], k["readOnly"], k["revokedAt"]) for k in listed] == [
        ("viewer", [1010, 2020], True, None),
        ("ops", None, False, None),
    ]
    text = hw("api-key", "list").stdout
    assert "1010,2020" in text
    assert "read-only" in text
    assert "active" in text


def test_api_key_list_without_keys_says_how_to_make_one(hw: Hw) -> None:
    assert "api-key create" in hw("api-key", "list").stdout


def test_api_key_revoke_stops_the_key(hw: Hw, served: FlaskClient) -> None:
    token = hw("api-key", "create", "--name", "ci").stdout.strip()
    key_id = json.loads(hw("api-key", "list", "--json").stdout)[0]["id"]
    result = hw("api-key", "revoke", key_id)
    assert result.exit_code == 0
    assert f"Revoked API key {key_id} (ci)" in result.stdout
    assert served.get(webhooks(), headers=bearer(token)).status_code == 401
    assert "revoked" in hw("api-key", "list").stdout


def test_revoking_an_unknown_key_is_one_line(hw: Hw) -> None:
    assert one_line_error(hw("api-key", "revoke", "key_nope")) == "Error: no API key 'key_nope'"


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--account", "abc"], 2, "'abc' is not a valid integer"),
        (["--account", str(2**64)], 1, "account_id must fit"),
        (["--name", "two words"], 1, "a key's name"),
    ],
)
def test_bad_api_key_options_are_one_line(hw: Hw, args: list[str], code: int, says: str) -> None:
    result = hw("api-key", "create", "--name", "ci", *args)
    assert says in one_line_error(result, code)


def test_link_opens_the_accounts_console_once(hw: Hw, served: FlaskClient) -> None:
    result = hw("link", "--account", str(ACCOUNT), "--ttl", "15m", "--base-url",
                "http://console.example:8000/")  # fmt: skip
    assert result.exit_code == 0, result.output
    url = urlsplit(result.stdout.strip())
    assert (url.scheme, url.netloc, url.path) == ("http", "console.example:8000", "/access")
    local = f"{url.path}?{url.query}"
    assert served.post(local).status_code == 303
    assert served.get(webhooks()).status_code == 200
    assert served.get(webhooks(OTHER)).status_code == 404
    assert served.post(local).status_code == 401


def test_a_read_only_link_cannot_write(hw: Hw, served: FlaskClient) -> None:
    link = hw("link", "--account", str(ACCOUNT), "--read-only").stdout.strip()
    url = urlsplit(link)
    served.post(f"{url.path}?{url.query}")
    answer = served.post(webhooks(), json={})
    assert answer.status_code == 403
    assert "'manage' capability" in answer.get_data(as_text=True)


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--ttl", "soon"], 2, "'soon' is not a duration"),
        (["--ttl", "8d"], 1, "at most 7 days"),
        (["--account", "abc"], 2, "'abc' is not a valid integer"),
        (["--base-url", "console.example"], 1, "is not an absolute http(s) URL"),
    ],
)
def test_bad_link_options_are_one_line(hw: Hw, args: list[str], code: int, says: str) -> None:
    result = hw("link", "--account", str(ACCOUNT), *args)
    assert says in one_line_error(result, code)


def test_link_without_the_secret_key_is_one_line(hw: Hw) -> None:
    result = hw("link", "--account", str(ACCOUNT), env={SECRET_KEY_ENV: None})
    assert SECRET_KEY_ENV in one_line_error(result)


def test_end_sessions_logs_the_account_out(hw: Hw, served: FlaskClient) -> None:
    url = urlsplit(hw("link", "--account", str(ACCOUNT)).stdout.strip())
    served.post(f"{url.path}?{url.query}")
    assert served.get(webhooks()).status_code == 200
    result = hw("end-sessions", "--account", str(ACCOUNT))
    assert result.stdout.strip() == f"Ended 1 session of account {ACCOUNT}."
    assert served.get(webhooks()).status_code == 401
    assert hw("end-sessions", "--account", str(ACCOUNT)).stdout.startswith("Ended 0 sessions")


def test_serve_without_the_secret_key_is_one_line(hw: Hw) -> None:
    result = hw("serve", env={SECRET_KEY_ENV: None})
    assert SECRET_KEY_ENV in one_line_error(result)


def test_serve_with_a_bad_database_url_is_one_line(hw: Hw) -> None:
    result = hw("serve", "--db", "mysql://user:pw@host/db")
    line = one_line_error(result)
    assert "--db" in line
    assert "pw" not in line


def test_create_app_refuses_a_missing_or_short_secret_key(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    with pytest.raises(ConfigurationError, match=SECRET_KEY_ENV):
        create_app(db)
    with pytest.raises(ConfigurationError, match="at least 16 characters"):
        create_app(db, secret_key="short")
    monkeypatch.setenv(SECRET_KEY_ENV, SECRET_KEY)
    assert create_app(db).extensions["hookwire.console"].settings.secret_key == SECRET_KEY


# --- serve, as a real process -----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def serving_process(db: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``hookwire console serve`` on a free port: its base URL and its log file."""
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, SECRET_KEY_ENV: SECRET_KEY, "HOOKWIRE_DATABASE_URL": db}
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "hookwire_cli", "console", "serve", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(base + "/api/v1/accounts/1/webhooks", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield base, log
    finally:
        process.terminate()
        process.wait(10)


def test_serve_answers_keys_and_links_and_logs_no_token(
    hw: Hw, serving_process: tuple[str, Path]
) -> None:
    base, log = serving_process
    key = hw("api-key", "create", "--name", "ops").stdout.strip()
    link = hw("link", "--account", str(ACCOUNT), "--base-url", base).stdout.strip()
    with httpx.Client(base_url=base) as client:
        assert client.get(webhooks(), headers=bearer(key)).status_code == 200
        assert client.get(webhooks()).status_code == 401
        assert client.post(link).status_code == 303
        assert client.get(webhooks()).status_code == 200
    assert keys.KEY_PREFIX not in log.read_text()
    token = link_token(link)
    deadline = time.monotonic() + 5
    while "token=<hidden>" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    text = log.read_text()
    assert "/access?token=<hidden>" in text
    assert token not in text
