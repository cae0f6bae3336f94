"""When the database refuses a write, no password or secret rides out with the error.

SQLAlchemy's error text carries the statement's parameters unless the engine
hides them, and its statement log carries them too. Each write that holds a
credential (registering or changing a webhook with basic auth, a new signing
secret on a change of auth or a rotation) is refused by the database: by a
trigger (SQLite and PostgreSQL), by a read-only SQLite file, by a full SQLite
database. Then the error's message, repr and traceback, every error chained to
it, and every log record (SQLAlchemy's statement log at DEBUG, and the
application logging the error with its traceback) are searched for the
credential and for the webhook's stored secrets.

PostgreSQL also quotes the failing row of a CHECK or NOT NULL violation in a
DETAIL line; the last test shows that line still reaches the error's text.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from secret_forms import forms
from sqlalchemy import Table, event, text
from sqlalchemy.exc import SQLAlchemyError

from hookwire.sender import BasicAuth, Sender, Webhook
from hookwire.sender import registry as registry_module
from hookwire.sender.schema import webhook_secrets, webhooks
from hookwire.signing import generate_keypair, generate_secret

PASSWORD = "Pa55-w0rd-in-a-refused-write"
# What the registry generates while a test runs: known, so the search can look for it.
NEW_SECRET = generate_secret()
NEW_SIGNING_KEY, NEW_PUBLIC_KEY = generate_keypair()
REFUSAL = "refused by the test"
TARGET = "http://127.0.0.1:9/hook"


NEW_CREDENTIALS = [PASSWORD, *forms(NEW_SECRET), *forms(NEW_SIGNING_KEY)]


def error_texts(exc: BaseException) -> list[str]:
    """The traceback, and the str and repr of the error and of every error linked to it."""
    texts = ["".join(traceback.format_exception(exc))]
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        texts += [str(current), repr(current)]
        linked = (current.__cause__, current.__context__, getattr(current, "orig", None))
        pending += [e for e in linked if isinstance(e, BaseException)]
    return texts


def record_text(record: logging.LogRecord) -> str:
    """Everything a log handler could print: message, arguments, extras and traceback."""
    parts = [record.getMessage(), repr(record.args), repr(vars(record))]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append("".join(traceback.format_exception(record.exc_info[1])))
    return "\n".join(parts)


def assert_clean(texts: Iterable[str], secrets: Iterable[str]) -> None:
    joined = "\n".join(texts)
    leaked = [s for s in secrets if s in joined]
    assert leaked == [], f"secret forms found: {leaked}"


def register(sender: Sender, auth: str | BasicAuth | None) -> Webhook:
    return sender.webhooks.create(
        name="sync", target_url=TARGET, events=["COURSE_COMPLETED"], account_id=1010, auth=auth
    )


def stored_secrets(sender: Sender) -> list[str]:
    """Every form of every secret in the store: the old ones must not show either."""
    with sender.engine.connect() as conn:
        rows = conn.execute(text("SELECT secret FROM hookwire_webhook_secrets")).scalars()
        return [form for secret in rows for form in forms(secret)]


def issue_known_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on the registry makes NEW_SECRET and NEW_SIGNING_KEY."""
    monkeypatch.setattr(registry_module, "generate_secret", lambda: NEW_SECRET)
    monkeypatch.setattr(
        registry_module, "generate_keypair", lambda: (NEW_SIGNING_KEY, NEW_PUBLIC_KEY)
    )


def refused(write: Callable[[], object], caplog: pytest.LogCaptureFixture) -> tuple[Any, list[str]]:
    """Run a write the database refuses, with every logger (SQLAlchemy's too) at DEBUG.

    The application then logs the error with its traceback, as ``logger.exception``
    would. Returns the error and every text that could show it.
    """
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    # SQLAlchemy sets its own loggers to WARNING; DEBUG here logs statements and parameters.
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    with pytest.raises(SQLAlchemyError) as caught:
        write()
    logging.getLogger("application").error("the webhook change failed", exc_info=caught.value)
    return caught.value, [*error_texts(caught.value), *map(record_text, caplog.records)]


@dataclass(frozen=True)
class CredentialWrite:
    """A write that carries a credential, and the statement (on ``table``) that carries it."""

    run: Callable[[Sender, str], object]
    table: Table
    statement: str
    prepared_auth: str = "signature"


WRITES = {
    "register-basic": CredentialWrite(
        lambda sender, _: register(sender, BasicAuth("hooks", PASSWORD)), webhooks, "INSERT"
    ),
    "change-to-basic": CredentialWrite(
        lambda sender, webhook_id: sender.webhooks.update(
            webhook_id, auth=BasicAuth("hooks", PASSWORD)
        ),
        webhooks,
        "UPDATE",
    ),
    "change-to-signature": CredentialWrite(
        lambda sender, webhook_id: sender.webhooks.update(webhook_id, auth="signature"),
        webhook_secrets,
        "INSERT",
        prepared_auth="none",
    ),
    "rotate": CredentialWrite(
        lambda sender, webhook_id: sender.webhooks.rotate_secret(webhook_id),
        webhook_secrets,
        "INSERT",
    ),
    "rotate-ed25519": CredentialWrite(
        lambda sender, webhook_id: sender.webhooks.rotate_secret(webhook_id),
        webhook_secrets,
        "INSERT",
        prepared_auth="signature-ed25519",
    ),
}


def refuse_by_trigger(sender: Sender, table: Table, statement: str) -> None:
    """Make the database refuse every ``statement`` (INSERT or UPDATE) on ``table``."""
    name = f"hookwire_test_refuse_{table.name}_{statement.lower()}"
    with sender.engine.begin() as conn:
        if sender.engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                f"CREATE TRIGGER {name} BEFORE {statement} ON {table.name} "
                f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
            )
            return
        conn.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION hookwire_test_refuse() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$"
        )
        conn.exec_driver_sql(
            f"CREATE TRIGGER {name} BEFORE {statement} ON {table.name} "
            "FOR EACH ROW EXECUTE FUNCTION hookwire_test_refuse()"
        )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_sender(
    request: pytest.FixtureRequest, make_sender: Callable[..., Sender], sqlite_url: str
) -> Sender:
    """A sender on a SQLite file, and on the real PostgreSQL."""
    if request.param == "sqlite":
        return make_sender(sqlite_url)
    return make_sender(str(request.getfixturevalue("postgres_url")))


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_a_write_refused_by_a_trigger_shows_no_credential(
    write: CredentialWrite,
    store_sender: Sender,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    webhook_id = register(store_sender, write.prepared_auth).id
    old_secrets = stored_secrets(store_sender)
    refuse_by_trigger(store_sender, write.table, write.statement)
    issue_known_secrets(monkeypatch)
    error, texts = refused(lambda: write.run(store_sender, webhook_id), caplog)
    assert REFUSAL in str(error)
    assert_clean(texts, [*NEW_CREDENTIALS, *old_secrets])


def test_a_read_only_sqlite_file_refusing_a_registration_shows_no_password(
    make_sender: Callable[..., Sender], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "hookwire.db"
    make_sender(f"sqlite:///{path}").close()
    read_only = make_sender(f"sqlite:///file:{path}?mode=ro&uri=true")
    error, texts = refused(lambda: register(read_only, BasicAuth("hooks", PASSWORD)), caplog)
    assert "readonly database" in str(error)
    assert_clean(texts, NEW_CREDENTIALS)


def _no_room_to_grow(dbapi_connection: Any, _record: object) -> None:
    # The database may not grow past the pages it has: the next page it needs is "disk full".
    pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
    dbapi_connection.execute(f"PRAGMA max_page_count={pages}")


def test_a_full_sqlite_database_refusing_a_registration_shows_no_password(
    make_sender: Callable[..., Sender], sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    sender = make_sender(sqlite_url)
    event.listen(sender.engine, "connect", _no_room_to_grow)
    sender.engine.dispose()  # the pooled connections were opened without the limit
    # A row larger than a page needs a new page whatever room the table has.
    password = PASSWORD + "x" * 900
    write = partial(
        sender.webhooks.create,
        name="n" * 200,
        description="d" * 2000,
        target_url=TARGET,
        events=["COURSE_COMPLETED"],
        account_id=1010,
        auth=BasicAuth("h" * 1000, password),
    )
    error, texts = refused(write, caplog)
    assert "database or disk is full" in str(error)
    assert_clean(texts, NEW_CREDENTIALS)


@pytest.mark.postgres
@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_postgres_failing_row_detail_shows_no_credential(
    write: CredentialWrite,
    make_sender: Callable[..., Sender],
    postgres_url: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sender = make_sender(postgres_url)
    webhook_id = register(sender, write.prepared_auth).id
    old_secrets = stored_secrets(sender)
    # NOT VALID: rows already stored are not checked, every new or changed row fails.
    with sender.engine.begin() as conn:
        conn.exec_driver_sql(
            f"ALTER TABLE {write.table.name} ADD CONSTRAINT hookwire_test_refuse "
            "CHECK (false) NOT VALID"
        )
    issue_known_secrets(monkeypatch)
    error, texts = refused(lambda: write.run(sender, webhook_id), caplog)
    assert "violates check constraint" in str(error)
    assert_clean(texts, [*NEW_CREDENTIALS, *old_secrets])


@pytest.mark.parametrize("new_auth", ["signature-ed25519", BasicAuth("hooks", "pw-new")])
def test_a_refused_auth_change_leaves_the_auth_and_its_secrets_as_they_were(
    store_sender: Sender, new_auth: str | BasicAuth
) -> None:
    webhook = register(store_sender, "signature")
    before = store_sender.webhooks.signature_file(webhook.id)
    refuse_by_trigger(store_sender, webhooks, "UPDATE")
    with pytest.raises(SQLAlchemyError):
        store_sender.webhooks.update(webhook.id, auth=new_auth)
    assert store_sender.webhooks.get(webhook.id).auth == "signature"
    assert store_sender.webhooks.signature_file(webhook.id) == before
