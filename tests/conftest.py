"""Shared fixtures: the real PostgreSQL and Redis servers of this machine.

A test that needs one takes its fixture. Where the service is absent the test
skips with the reason, unless ``HOOKWIRE_REQUIRE_SERVICES=1`` (set by ``.ci/run``)
makes the absence a failure.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from checkout_guard import guarded

POSTGRES_HOST = os.environ.get("HOOKWIRE_TEST_PGHOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("HOOKWIRE_TEST_PGPORT", "5432"))
POSTGRES_ADMIN_DB = os.environ.get("HOOKWIRE_TEST_PGDATABASE", "test")
REDIS_URL = os.environ.get("HOOKWIRE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SAMPLES = Path(__file__).resolve().parent / "samples"


def pytest_configure(config: pytest.Config) -> None:
    """Guard ``shutil.rmtree`` for the whole run (see ``checkout_guard``)."""
    shutil.rmtree = guarded(shutil.rmtree)  # type: ignore[assignment]


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _service_missing(name: str, reason: str) -> None:
    if os.environ.get("HOOKWIRE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{name} is required (HOOKWIRE_REQUIRE_SERVICES=1) but {reason}")
    pytest.skip(f"{name} is not available: {reason}")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A SQLAlchemy URL of a fresh, empty PostgreSQL database, dropped afterwards."""
    if not _reachable(POSTGRES_HOST, POSTGRES_PORT):
        _service_missing("PostgreSQL", f"nothing listens on {POSTGRES_HOST}:{POSTGRES_PORT}")
    try:
        import psycopg
    except ImportError:
        _service_missing("PostgreSQL", "psycopg is not installed (pip install -e '.[test]')")
    name = f"hookwire_test_{secrets.token_hex(6)}"
    admin = f"host={POSTGRES_HOST} port={POSTGRES_PORT} dbname={POSTGRES_ADMIN_DB} user=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The URL of an emptied Redis database (number 15), emptied again afterwards."""
    try:
        import redis
    except ImportError:
        _service_missing("Redis", "the redis package is not installed (pip install -e '.[test]')")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        _service_missing("Redis", f"{REDIS_URL} does not answer ({exc})")
    client.flushdb()
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def samples_dir() -> Path:
    """The folder of documented payloads: the vendor's samples, malformed ones included."""
    if not SAMPLES.is_dir():
        pytest.fail(f"the documented samples are missing: {SAMPLES}")
    return SAMPLES
