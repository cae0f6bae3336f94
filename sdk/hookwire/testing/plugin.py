"""The hookwire pytest plugin: fixtures for testing code that receives or sends webhooks.

Installed with hookwire and registered as the ``hookwire`` plugin (the
``pytest11`` entry point); ``-p no:hookwire`` turns it off. Fixtures:

- ``webhook_secret``: a fresh ``whsec_`` secret;
- ``webhook_signer``: a :class:`~hookwire.testing.WebhookSigner` for that
  secret (``.request(envelope)``, ``.tampered(name, envelope)``, ``.tamperings``);
- ``webhook_target``: a started :class:`~hookwire.testing.WebhookTarget`
  verifying with that secret, stopped after the test (needs pytest-httpserver);
- ``hookwire_sender``: a :class:`~hookwire.testing.TestingSender` on a SQLite
  file of the test's own, allowed to reach 127.0.0.1, retrying within
  tenths of a second (:data:`~hookwire.testing.sending.QUICK_RETRIES`),
  closed after the test (needs the ``sender`` extra). With ``--hookwire-postgres URL`` (or the
  ``HOOKWIRE_TEST_POSTGRES_URL`` environment variable) it runs on that
  PostgreSQL database instead, in a schema of its own dropped afterwards; the
  ``hookwire_postgres`` marker makes a test skip when no URL is given.

A fixture whose packages are missing fails its test with one line naming
what to install. Nothing heavy loads until a fixture is used: a run that
uses none of them pays for this module only.
"""

from __future__ import annotations

import importlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

if TYPE_CHECKING:
    from .sending import TestingSender
    from .signer import WebhookSigner
    from .target import WebhookTarget

__all__ = [
    "POSTGRES_ENV",
    "hookwire_sender",
    "webhook_secret",
    "webhook_signer",
    "webhook_target",
]

POSTGRES_ENV: Final = "HOOKWIRE_TEST_POSTGRES_URL"
"""The environment variable that gives ``hookwire_sender`` a PostgreSQL URL."""
_POSTGRES_MARKER: Final = "hookwire_postgres"
_NO_POSTGRES: Final = f"no PostgreSQL URL: pass --hookwire-postgres URL or set {POSTGRES_ENV}"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--hookwire-postgres URL``."""
    parser.getgroup("hookwire").addoption(
        "--hookwire-postgres",
        metavar="URL",
        default=None,
        help=f"run the hookwire_sender fixture on this PostgreSQL database (or set {POSTGRES_ENV})",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``hookwire_postgres`` marker (runs stay valid under ``--strict-markers``)."""
    config.addinivalue_line(
        "markers",
        f"{_POSTGRES_MARKER}: the test needs hookwire_sender on PostgreSQL "
        f"(--hookwire-postgres URL or {POSTGRES_ENV}); it skips without one",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip a test marked ``hookwire_postgres`` when no PostgreSQL URL is given."""
    if item.get_closest_marker(_POSTGRES_MARKER) is not None and _postgres_url(item.config) is None:
        pytest.skip(_NO_POSTGRES)


def _fail_when_missing(module: str) -> None:
    """Fail the test with the one missing-extra line when ``module`` cannot be imported."""
    try:
        importlib.import_module(f"{__package__}.{module}")
    except ImportError as exc:
        missing = str(exc)
    else:
        return
    # Outside the except block: the line alone, without the chain of causes.
    pytest.fail(missing, pytrace=False)


@pytest.fixture
def webhook_secret() -> str:
    """A fresh ``whsec_`` secret for this test."""
    from ..signing import generate_secret

    return generate_secret()


@pytest.fixture
def webhook_signer(webhook_secret: str) -> WebhookSigner:
    """Signs requests with ``webhook_secret``, correctly or tampered with."""
    from .signer import WebhookSigner

    return WebhookSigner(secret=webhook_secret)


@pytest.fixture
def webhook_target(webhook_secret: str) -> Iterator[WebhookTarget]:
    """A started :class:`~hookwire.testing.WebhookTarget` that verifies with ``webhook_secret``."""
    _fail_when_missing("target")
    from .target import WebhookTarget

    with WebhookTarget(secret=webhook_secret) as target:
        yield target


def _postgres_url(config: pytest.Config) -> str | None:
    url = config.getoption("--hookwire-postgres") or os.environ.get(POSTGRES_ENV)
    return str(url) if url else None


@contextmanager
def _own_schema(url: str) -> Iterator[str]:
    """A URL of ``url``'s database whose connections use a fresh schema, dropped afterwards."""
    from sqlalchemy import create_engine, make_url, text

    from ..extras import install_hint, is_missing

    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    schema = f"hookwire_test_{secrets.token_hex(6)}"
    try:
        admin = create_engine(parsed, hide_parameters=True)
    except ImportError as exc:
        if not is_missing(exc, ("psycopg",)):
            raise
        missing = install_hint("--hookwire-postgres", "postgres")
    else:
        missing = ""
    if missing:
        pytest.fail(missing, pytrace=False)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            scoped = parsed.update_query_dict({"options": f"-csearch_path={schema}"})
            yield scoped.render_as_string(hide_password=False)
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()


@contextmanager
def _store_url(postgres: str | None, folder: Path) -> Iterator[str]:
    if postgres is None:
        yield f"sqlite:///{folder / 'hookwire.db'}"
    else:
        with _own_schema(postgres) as url:
            yield url


@pytest.fixture
def hookwire_sender(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestingSender]:
    """A :class:`~hookwire.testing.TestingSender` of this test's own, closed afterwards."""
    _fail_when_missing("sending")
    from .sending import QUICK_RETRIES, TestingSender

    postgres = _postgres_url(request.config)
    with _store_url(postgres, tmp_path) as url:
        sender = TestingSender(url, allow_private_targets=True, retry=QUICK_RETRIES)
        try:
            yield sender
        finally:
            sender.close()
