"""Store-backed commands whose writes the database refuses fail in one line, showing no secret.

The store is opened (reads work) and then refuses the command's write: a
read-only SQLite file (``mode=ro``), a read-only PostgreSQL database
(``default_transaction_read_only``), or a trigger on SQLite or PostgreSQL
that raises on the one statement the command needs. Every such command must
print ``Error: <one line>`` on stderr with exit status 1: no traceback, no SQL
statement or parameters, no password and no secret (the new one, or the
webhook's stored one).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result
from secret_forms import forms
from sqlalchemy import create_engine

from hookwire.sender import registry as registry_module
from hookwire.signing import generate_keypair, generate_secret
from hookwire_cli._store import database_error_message

Cli = Callable[..., Result]

PASSWORD = "Pa55-w0rd-the-cli-must-not-show"
# What the registry generates while the command runs: known, so the search can look for it.
NEW_SECRET = generate_secret()
NEW_SIGNING_KEY, NEW_PUBLIC_KEY = generate_keypair()
REFUSAL = "refused by the test"
TARGET = "http://127.0.0.1:9/hooks"


@dataclass(frozen=True)
class RefusingStore:
    """A store prepared through ``setup_url``; after :meth:`refuse`, ``url`` refuses writes."""

    kind: str
    setup_url: str
    url: str
    #: What the database's error says, so the test knows the write was what failed.
    reason: str

    def refuse(self, table: str, statement: str) -> None:
        """From now on ``statement`` on ``table`` is refused (every write, when read-only)."""
        if self.kind == "sqlite-read-only":
            return  # ``url`` opens the file with mode=ro
        engine = create_engine(self.setup_url)
        try:
            with engine.begin() as conn:
                for sql in _refusal_sql(self.kind, table, statement, engine.url.database):
                    conn.exec_driver_sql(sql)
        finally:
            engine.dispose()


def _refusal_sql(kind: str, table: str, statement: str, database: str | None) -> list[str]:
    if kind == "postgres-read-only":
        return [f'ALTER DATABASE "{database}" SET default_transaction_read_only = on']
    name = f"hookwire_test_refuse_{table}_{statement.lower()}"
    if kind == "sqlite-trigger":
        return [
            f"CREATE TRIGGER {name} BEFORE {statement} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
        ]
    return [
        "CREATE OR REPLACE FUNCTION hookwire_test_refuse() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$",
        f"CREATE TRIGGER {name} BEFORE {statement} ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION hookwire_test_refuse()",
    ]


@pytest.fixture(
    params=[
        "sqlite-read-only",
        "sqlite-trigger",
        pytest.param("postgres-read-only", marks=pytest.mark.postgres),
        pytest.param("postgres-trigger", marks=pytest.mark.postgres),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> RefusingStore:
    """Each command runs on a read-only store and on one whose trigger refuses its write."""
    kind: str = request.param
    if kind.startswith("sqlite"):
        path = tmp_path / "hookwire.db"
        setup_url = f"sqlite:///{path}"
        url = f"sqlite:///file:{path}?mode=ro&uri=true" if kind == "sqlite-read-only" else setup_url
    else:
        setup_url = url = str(request.getfixturevalue("postgres_url"))
    reason = {
        "sqlite-read-only": "attempt to write a readonly database",
        "postgres-read-only": "in a read-only transaction",
    }.get(kind, REFUSAL)
    return RefusingStore(kind, setup_url, url, reason)


@dataclass(frozen=True)
class StoreCommand:
    """A command that writes to the store, and the statement a trigger refuses."""

    #: ``{webhook}`` stands for the prepared webhook's id.
    args: tuple[str, ...]
    table: str
    statement: str
    #: Dispatch once first, so the prepared delivery has failed and its request is open.
    dispatched: bool = False


BASIC = f"hooks:{PASSWORD}"
ADD_WITH_BASIC_AUTH = (
    "webhooks", "add", "legacy", "--url", TARGET, "-e", "CI_STATS", "--allow-private",
    "--basic-auth", BASIC,
)  # fmt: skip
COMMANDS = {
    "webhooks-add-basic-auth": StoreCommand(ADD_WITH_BASIC_AUTH, "hookwire_webhooks", "INSERT"),
    "webhooks-edit-to-basic-auth": StoreCommand(
        ("webhooks", "edit", "{webhook}", "--auth", "basic", "--basic-auth", BASIC),
        "hookwire_webhooks",
        "UPDATE",
    ),
    "webhooks-edit-to-signature": StoreCommand(
        ("webhooks", "edit", "{webhook}", "--auth", "signature"),
        "hookwire_webhook_secrets",
        "INSERT",
    ),
    "webhooks-rotate-secret": StoreCommand(
        ("webhooks", "rotate-secret", "{webhook}"), "hookwire_webhook_secrets", "INSERT"
    ),
    "webhooks-retire": StoreCommand(
        ("webhooks", "retire", "{webhook}"), "hookwire_webhooks", "UPDATE"
    ),
    "webhooks-delete": StoreCommand(
        ("webhooks", "delete", "{webhook}", "--yes"), "hookwire_webhooks", "DELETE"
    ),
    "webhooks-test": StoreCommand(
        ("webhooks", "test", "{webhook}", "--allow-private"), "hookwire_attempts", "INSERT"
    ),
    "events-publish": StoreCommand(
        ("events", "publish", "CI_STATS", "--sample"), "hookwire_events", "INSERT"
    ),
    "deliveries-redeliver": StoreCommand(
        ("deliveries", "redeliver", "dlv_1"), "hookwire_requests", "UPDATE", dispatched=True
    ),
    "deliveries-recover": StoreCommand(
        ("deliveries", "recover", "{webhook}", "--since", "1h"),
        "hookwire_requests",
        "UPDATE",
        dispatched=True,
    ),
    "dispatch-drain": StoreCommand(
        ("dispatch", "--drain", "--allow-private"), "hookwire_webhooks", "UPDATE"
    ),
}


@dataclass(frozen=True)
class Prepared:
    """The store's one signature webhook (with a published event for it) and its secret."""

    webhook_id: str
    secret: str


def prepare(cli: Cli, url: str, *, dispatched: bool) -> Prepared:
    """A signature webhook on a closed port, and one CI_STATS event queued for it."""
    added = cli(
        "webhooks", "add", "sync", "--url", TARGET, "-e", "CI_STATS", "--allow-private",
        "--json", "--db", url,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    created = json.loads(added.stdout)
    published = cli("events", "publish", "CI_STATS", "--sample", "--db", url)
    assert published.exit_code == 0, published.output
    if dispatched:
        drained = cli("dispatch", "--drain", "--allow-private", "--db", url)
        assert drained.exit_code == 0, drained.output
    return Prepared(created["id"], created["secret"])


def assert_one_line_error(result: Result, reason: str, secrets: list[str]) -> None:
    """Exit 1 and ``Error: ...`` naming the database's reason, with nothing else that matters."""
    output = result.stdout + result.stderr
    assert result.exit_code == 1, output
    assert result.stderr.startswith("Error: the sender's database "), result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert reason in result.stderr
    for unwanted in ("Traceback", "[SQL", "parameters", "DETAIL"):
        assert unwanted not in output
    leaked = [s for s in secrets if s in output]
    assert leaked == [], f"secret forms found: {leaked}"


def issue_known_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on the registry makes NEW_SECRET and NEW_SIGNING_KEY."""
    monkeypatch.setattr(registry_module, "generate_secret", lambda: NEW_SECRET)
    monkeypatch.setattr(
        registry_module, "generate_keypair", lambda: (NEW_SIGNING_KEY, NEW_PUBLIC_KEY)
    )


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_refused_write_is_one_error_line_without_secrets(
    command: StoreCommand, store: RefusingStore, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared = prepare(cli, store.setup_url, dispatched=command.dispatched)
    store.refuse(command.table, command.statement)
    issue_known_secrets(monkeypatch)
    args = [arg.format(webhook=prepared.webhook_id) for arg in command.args]
    result = cli(*args, "--db", store.url)
    secrets = [
        PASSWORD,
        "whsec_",
        "whsk_",
        *forms(NEW_SECRET),
        *forms(NEW_SIGNING_KEY),
        *forms(prepared.secret),
    ]
    assert_one_line_error(result, store.reason, secrets)


def test_the_installed_command_on_a_read_only_store_prints_one_line_without_the_password(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "hookwire.db"
    prepare(cli, f"sqlite:///{path}", dispatched=False)
    # The real entry point: an uncaught error would print its traceback here.
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "hookwire_cli",
            *ADD_WITH_BASIC_AUTH,
            "--db",
            f"sqlite:///file:{path}?mode=ro&uri=true",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 1, finished.stderr
    assert finished.stdout == ""
    assert finished.stderr == (
        "Error: the sender's database refused the write: attempt to write a readonly "
        "database; check that the database file and its folder are writable\n"
    )
    assert PASSWORD not in finished.stdout + finished.stderr


@pytest.mark.postgres
def test_a_check_violation_shows_neither_the_failing_row_nor_the_password(
    cli: Cli, postgres_url: str
) -> None:
    prepare(cli, postgres_url, dispatched=False)
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            # PostgreSQL quotes the whole failing row, password included, in a DETAIL line.
            conn.exec_driver_sql(
                "ALTER TABLE hookwire_webhooks ADD CONSTRAINT hookwire_test_refuse "
                "CHECK (false) NOT VALID"
            )
    finally:
        engine.dispose()
    result = cli(*ADD_WITH_BASIC_AUTH, "--db", postgres_url)
    assert_one_line_error(result, "violates check constraint", [PASSWORD])


@pytest.mark.parametrize(
    ("driver_text", "line"),
    [
        (
            "database or disk is full",
            "the sender's database refused the write: database or disk is full; "
            "free some disk space, then run it again",
        ),
        (
            'could not extend file "base/1/2": No space left on device\nHINT:  Check free space.',
            'the sender\'s database refused the write: could not extend file "base/1/2": '
            "No space left on device; free some disk space, then run it again",
        ),
        (
            "cannot execute UPDATE in a read-only transaction",
            "the sender's database refused the write: cannot execute UPDATE in a read-only "
            "transaction; connect to a server that accepts writes",
        ),
        (
            'new row violates check constraint "c"\nDETAIL:  Failing row contains (wh_1, x).',
            'the sender\'s database failed: new row violates check constraint "c"',
        ),
        ("", "the sender's database failed: OperationalError"),
    ],
    ids=["sqlite-full", "postgres-full", "postgres-read-only", "postgres-detail", "empty"],
)
def test_a_database_error_becomes_the_drivers_first_line_with_a_hint(
    driver_text: str, line: str
) -> None:
    assert database_error_message(sqlite3.OperationalError(driver_text)) == line
