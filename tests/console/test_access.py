"""Who may use the console: API keys, single-use access links, session cookies and CSRF.

Every test goes through the mounted console (Flask's test client, or a real
server on 127.0.0.1) over a real database; the ``console_on`` tests run on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from _access_helpers import (
    ACCOUNT,
    NEW_WEBHOOK,
    OTHER,
    bearer,
    cookie_header,
    csrf_for,
    link_token,
    make_key,
    open_link,
    other_app,
    problem,
    serving,
    session_cookie,
    webhooks,
)
from console_support import SECRET_KEY, ConsoleHarness
from flask import Flask
from sqlalchemy import select, update

from hookwire.console import Console, keys, links, sessions, tables
from hookwire.console.problems import ApiError
from hookwire.errors import ConfigurationError, NotFoundError
from hookwire.sender import Sender

# --- API keys ----------------------------------------------------------------------------


def test_a_key_works_for_its_accounts_and_not_others(console_on: ConsoleHarness) -> None:
    _, token = make_key(console_on)
    client = console_on.client
    assert client.get(webhooks(), headers=bearer(token)).status_code == 200
    answer = client.get(webhooks(OTHER), headers=bearer(token))
    assert answer.status_code == 404


def test_a_key_without_accounts_sees_every_account(console: ConsoleHarness) -> None:
    _, token = make_key(console, accounts=None)
    for account in (ACCOUNT, OTHER):
        assert console.client.get(webhooks(account), headers=bearer(token)).status_code == 200


def test_a_full_key_writes_and_the_audit_log_names_the_key(console: ConsoleHarness) -> None:
    _, token = make_key(console, name="deploy-bot")
    answer = console.client.post(webhooks(), json=NEW_WEBHOOK, headers=bearer(token))
    assert answer.status_code == 201, answer.json
    with console.sender.engine.connect() as conn:
        actors = conn.execute(select(tables.audit.c.actor)).scalars().all()
    assert actors == ["key:deploy-bot"]


def test_a_revoked_key_is_refused_with_401(console_on: ConsoleHarness) -> None:
    info, token = make_key(console_on)
    keys.revoke_key(console_on.sender.engine, info.id)
    answer = console_on.client.get(webhooks(), headers=bearer(token))
    assert answer.status_code == 401
    assert "revoked" in problem(answer)["detail"]
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "token", ["hwk_" + "A" * 43, "hwk_short", "not-a-key", "hwk_" + "é" * 43, ""]
)
def test_an_unknown_or_malformed_key_is_refused_with_401(
    console: ConsoleHarness, token: str
) -> None:
    make_key(console)
    answer = console.client.get(webhooks(), headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401


def test_no_credentials_at_all_is_a_401(console: ConsoleHarness) -> None:
    assert console.client.get(webhooks()).status_code == 401


def test_a_read_only_key_reads_but_writing_is_403(console: ConsoleHarness) -> None:
    _, token = make_key(console, read_only=True)
    assert console.client.get(webhooks(), headers=bearer(token)).status_code == 200
    answer = console.client.post(webhooks(), json=NEW_WEBHOOK, headers=bearer(token))
    assert answer.status_code == 403
    assert "manage" in problem(answer)["detail"]


def test_a_key_principal_names_the_key_and_holds_its_capabilities(
    console: ConsoleHarness,
) -> None:
    _, full = make_key(console, name="ops", accounts=None)
    _, reader = make_key(console, name="viewer", read_only=True)
    state = console.console.state
    ops = keys.principal_for_key(state, full)
    viewer = keys.principal_for_key(state, reader)
    assert ops is not None
    assert viewer is not None
    assert (ops.name, ops.accounts, ops.via) == ("key:ops", None, "key")
    assert ops.capabilities == {"read", "manage", "publish"}
    assert viewer.accounts == frozenset({ACCOUNT})
    assert viewer.capabilities == {"read"}


def test_last_used_at_is_recorded_at_most_once_a_minute(console: ConsoleHarness) -> None:
    info, token = make_key(console)
    engine = console.sender.engine

    def last_used() -> datetime | None:
        return next(k for k in keys.list_keys(engine) if k.id == info.id).last_used_at

    assert last_used() is None
    console.client.get(webhooks(), headers=bearer(token))
    first = last_used()
    assert first is not None
    console.client.get(webhooks(), headers=bearer(token))
    assert last_used() == first
    earlier = datetime.now(UTC) - timedelta(minutes=2)
    with engine.begin() as conn:
        conn.execute(update(tables.api_keys).values(last_used_at=earlier))
    console.client.get(webhooks(), headers=bearer(token))
    again = last_used()
    assert again is not None
    assert again > first


def test_only_the_keys_digest_is_stored(console: ConsoleHarness) -> None:
    info, token = make_key(console)
    with console.sender.engine.connect() as conn:
        row = conn.execute(select(tables.api_keys)).one()
    assert token not in repr(tuple(row))
    assert row.digest == hashlib.sha256(token.encode()).hexdigest()
    assert token.startswith("hwk_")
    assert token not in repr(info)


def test_a_bad_name_no_accounts_or_a_name_in_use_is_refused(console: ConsoleHarness) -> None:
    engine = console.sender.engine
    with pytest.raises(ConfigurationError, match="name"):
        keys.create_key(engine, name="two words", accounts=None, read_only=False)
    with pytest.raises(ConfigurationError, match="no account"):
        keys.create_key(engine, name="ci", accounts=[], read_only=False)
    with pytest.raises(ConfigurationError, match="account_id"):
        keys.create_key(engine, name="ci", accounts=[2**64], read_only=False)
    info, _ = make_key(console, name="ci")
    with pytest.raises(ConfigurationError, match="already named 'ci'"):
        make_key(console, name="ci")
    keys.revoke_key(engine, info.id)
    assert make_key(console, name="ci")[0].name == "ci"


def test_revoking_an_unknown_key_is_not_found(console: ConsoleHarness) -> None:
    with pytest.raises(NotFoundError, match="no API key 'key_nope'"):
        keys.revoke_key(console.sender.engine, "key_nope")


def test_keys_and_sessions_work_on_a_database_no_console_opened_yet(tmp_path: Path) -> None:
    sender = Sender(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        info, _ = keys.create_key(sender.engine, name="ci", accounts=None, read_only=False)
        assert [k.id for k in keys.list_keys(sender.engine)] == [info.id]
        assert sessions.end_sessions(sender.engine, ACCOUNT) == 0
    finally:
        sender.close()


# --- access links and sessions ----------------------------------------------------------


def test_a_link_opens_a_session_for_its_account_only(console_on: ConsoleHarness) -> None:
    client = console_on.client
    answer = client.post(console_on.console.access_link(ACCOUNT))
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/"
    assert client.get(webhooks()).status_code == 200
    assert client.get(webhooks(OTHER)).status_code == 404


def test_a_link_works_once(console_on: ConsoleHarness) -> None:
    link = console_on.console.access_link(ACCOUNT)
    assert console_on.client.post(link).status_code == 303
    again = console_on.client.post(link)
    assert again.status_code == 401
    assert (problem(again)["reason"], problem(again)["detail"]) == (
        "used",
        "this access link has been used already; a link opens the console once",
    )


def test_a_link_exchanged_at_once_from_many_threads_opens_one_session(
    console_on: ConsoleHarness,
) -> None:
    state = console_on.console.state
    token = link_token(console_on.console.access_link(ACCOUNT))

    def attempt(_: int) -> str:
        try:
            links.exchange(state, token)
        except ApiError as exc:
            return str(exc.extra["reason"])
        return "opened"

    with ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(attempt, range(4)))
    assert outcomes == ["opened", "used", "used", "used"]


def test_a_browser_is_told_why_a_link_is_refused_on_a_page(console: ConsoleHarness) -> None:
    link = console.console.access_link(ACCOUNT)
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    assert console.client.post(link, headers=browser).status_code == 303
    again = console.client.post(link, headers=browser)
    assert again.status_code == 401
    assert again.mimetype == "text/html"
    assert "has been used already" in again.get_data(as_text=True)


def test_an_expired_link_is_refused(console: ConsoleHarness) -> None:
    link = console.console.access_link(ACCOUNT, ttl=timedelta(milliseconds=200))
    time.sleep(0.3)
    answer = console.client.post(link)
    assert answer.status_code == 401
    assert (problem(answer)["reason"], problem(answer)["detail"]) == (
        "expired",
        "this access link has expired",
    )
    assert sessions.COOKIE_NAME not in answer.headers.get("Set-Cookie", "")


def test_a_tampered_link_is_refused(console: ConsoleHarness) -> None:
    token = link_token(console.console.access_link(ACCOUNT, read_only=True))
    payload, rest = token.split(".", 1)
    forged = links.make_link_token(console.console.state.settings, ACCOUNT).split(".", 1)[0]
    for bad in (payload[:-2] + "xy." + rest, forged + "." + rest, token[:-3]):
        answer = console.client.post("/access", query_string={"token": bad})
        assert answer.status_code == 401
        assert problem(answer)["reason"] == "invalid"
        assert "changed or cut short" in problem(answer)["detail"]


def test_a_link_made_with_another_secret_key_is_refused(console: ConsoleHarness) -> None:
    other = other_app(console, "another-secret-key-0123456789")
    link = other.extensions["hookwire.console"].settings
    token = links.make_link_token(link, ACCOUNT)
    answer = console.client.post("/access", query_string={"token": token})
    assert answer.status_code == 401
    assert problem(answer)["reason"] == "invalid"


def test_rotating_the_secret_key_voids_every_cookie_and_link(console: ConsoleHarness) -> None:
    client = open_link(console)
    unused = console.console.access_link(ACCOUNT)
    rotated = other_app(console, "rotated-secret-key-0123456789").test_client()
    rotated.set_cookie(sessions.COOKIE_NAME, session_cookie(client))
    assert rotated.get(webhooks()).status_code == 401
    assert problem(rotated.get(unused))["reason"] == "invalid"
    same_key = other_app(console, SECRET_KEY).test_client()
    same_key.set_cookie(sessions.COOKIE_NAME, session_cookie(client))
    assert same_key.get(webhooks()).status_code == 200


def test_a_read_only_link_reads_but_writing_is_403(console: ConsoleHarness) -> None:
    client = open_link(console, read_only=True)
    assert client.get(webhooks()).status_code == 200
    answer = client.post(webhooks(), json=NEW_WEBHOOK, headers=csrf_for(console, client))
    assert answer.status_code == 403
    assert "manage" in problem(answer)["detail"]


def test_a_session_writes_only_with_its_csrflink_token(console_on: ConsoleHarness) -> None:
    client = open_link(console_on)
    without = client.post(webhooks(), json=NEW_WEBHOOK)
    assert without.status_code == 403
    assert "X-CSRF-Token" in problem(without)["detail"]
    forged = client.post(webhooks(), json=NEW_WEBHOOK, headers={"X-CSRF-Token": "forged"})
    assert forged.status_code == 403
    other_session = csrf_for(console_on, open_link(console_on))
    assert client.post(webhooks(), json=NEW_WEBHOOK, headers=other_session).status_code == 403
    answer = client.post(webhooks(), json=NEW_WEBHOOK, headers=csrf_for(console_on, client))
    assert answer.status_code == 201, answer.json
    with console_on.sender.engine.connect() as conn:
        actor = conn.execute(select(tables.audit.c.actor)).scalar_one()
    assert actor.startswith(f"session:{ACCOUNT}:")


def test_ending_an_accounts_sessions_logs_them_out(console_on: ConsoleHarness) -> None:
    first, second = open_link(console_on), open_link(console_on)
    elsewhere = open_link(console_on, account=OTHER)
    assert sessions.end_sessions(console_on.sender.engine, ACCOUNT) == 2
    assert first.get(webhooks()).status_code == 401
    assert second.get(webhooks()).status_code == 401
    assert elsewhere.get(webhooks(OTHER)).status_code == 200
    assert sessions.end_sessions(console_on.sender.engine, ACCOUNT) == 0


def test_an_expired_session_is_refused(console: ConsoleHarness) -> None:
    client = open_link(console)
    past = datetime.now(UTC) - timedelta(seconds=1)
    with console.sender.engine.begin() as conn:
        conn.execute(update(tables.sessions).values(expires_at=past))
    assert client.get(webhooks()).status_code == 401


def test_a_cookie_that_is_not_signed_is_ignored(console: ConsoleHarness) -> None:
    client = console.client
    client.set_cookie(sessions.COOKIE_NAME, "made-up")
    assert client.get(webhooks()).status_code == 401


def test_the_cookie_is_httponly_lax_and_lives_as_long_as_the_session(
    console: ConsoleHarness,
) -> None:
    answer = console.client.post(console.console.access_link(ACCOUNT))
    header = cookie_header(answer)
    for flag in ("HttpOnly", "SameSite=Lax", "Path=/;", "Max-Age=28800"):
        assert flag in header + ";"
    assert "Secure" not in header


def test_the_cookie_is_secure_over_https(console: ConsoleHarness) -> None:
    link = console.console.access_link(ACCOUNT, base_url="https://localhost")
    assert link.startswith("https://localhost/access?token=")
    answer = console.client.post(link)
    assert "; Secure" in cookie_header(answer)


def test_under_a_prefix_the_cookie_path_and_redirect_are_the_prefix(
    console: ConsoleHarness,
) -> None:
    app = Flask("prefixed")
    app.config.update(TESTING=True, HOOKWIRE_CONSOLE_SECRET_KEY=SECRET_KEY)
    prefixed = Console(app, sender=console.sender, url_prefix="/console/")
    link = prefixed.access_link(ACCOUNT)
    assert link.startswith("/console/access?token=")
    client = app.test_client()
    answer = client.post(link)
    assert answer.headers["Location"] == "/console/"
    assert "Path=/console;" in cookie_header(answer) + ";"
    assert client.get("/console" + webhooks()).status_code == 200


def test_next_sends_the_browser_to_a_path_on_this_site(console: ConsoleHarness) -> None:
    link = console.console.access_link(ACCOUNT)
    answer = console.client.post(link + "&next=/webhooks/wh_1?tab=deliveries")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/webhooks/wh_1?tab=deliveries"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil",
        "/ok\r\nSet-Cookie: x=1",
    ],
)
def test_next_elsewhere_is_refused_and_the_link_kept(console: ConsoleHarness, target: str) -> None:
    link = console.console.access_link(ACCOUNT)
    token = link_token(link)
    refused = console.client.post("/access", query_string={"token": token, "next": target})
    assert refused.status_code == 400
    assert problem(refused)["errors"] == [
        {"field": "query.next", "message": "not a path on this site"}
    ]
    assert console.client.post(link).status_code == 303


def test_a_link_without_a_token_is_a_400_naming_it(console: ConsoleHarness) -> None:
    answer = console.client.post("/access")
    assert answer.status_code == 400
    assert problem(answer)["errors"][0]["field"] == "query.token"


@pytest.mark.parametrize("ttl", [timedelta(0), timedelta(seconds=-1), timedelta(days=8)])
def test_a_link_ttl_outside_its_bounds_is_refused(console: ConsoleHarness, ttl: timedelta) -> None:
    with pytest.raises(ConfigurationError, match="ttl"):
        console.console.access_link(ACCOUNT, ttl=ttl)


# --- a real server, logs and reprs ------------------------------------------------------


def test_the_cookie_flow_works_through_a_real_server_and_logs_no_secret(
    console: ConsoleHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _, key = make_key(console)
    with serving(console.app) as base, httpx.Client(base_url=base) as client:
        link = console.console.access_link(ACCOUNT, base_url=base)
        answer = client.post(link)
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert client.get(webhooks()).status_code == 200
        assert client.get(webhooks(OTHER)).status_code == 404
        assert client.post(link).status_code == 401
        assert client.get(webhooks(), headers=bearer(key)).status_code == 200
    token = link_token(link)
    session = client.cookies[sessions.COOKIE_NAME]
    # The test's own HTTP client (httpx, httpcore) logs what it sends; the server side must not.
    logged = "\n".join(
        record.getMessage()
        for record in caplog.records
        if not record.name.startswith(("httpx", "httpcore"))
    )
    assert "/access?token=<hidden>" in logged
    for secret in (token, key, session, SECRET_KEY):
        assert secret not in logged


def test_principals_links_and_settings_show_no_secret(console: ConsoleHarness) -> None:
    info, key = make_key(console)
    client = open_link(console)
    state = console.console.state
    principal = keys.principal_for_key(state, key)
    token = link_token(console.console.access_link(ACCOUNT))
    link = links.read_link(state.settings, token)
    shown = repr((info, principal, link, state.settings, console.console))
    for secret in (key, token, link.nonce, session_cookie(client), SECRET_KEY):
        assert secret not in shown
