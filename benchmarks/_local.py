"""What the benchmarks share: a scratch PostgreSQL database, a free port on 127.0.0.1,
waiting for a server to listen on one, running one measurement in a worker process, and
the order and the SQLite files of interleaved A/B rounds.

``HOOKWIRE_BENCH_PGHOST``, ``HOOKWIRE_BENCH_PGPORT`` and ``HOOKWIRE_BENCH_PGDATABASE``
name the PostgreSQL server and the database beside which scratch databases are made
(127.0.0.1, 5432 and ``test`` by default).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

PG_HOST = os.environ.get("HOOKWIRE_BENCH_PGHOST", "127.0.0.1")
PG_PORT = int(os.environ.get("HOOKWIRE_BENCH_PGPORT", "5432"))
PG_ADMIN_DB = os.environ.get("HOOKWIRE_BENCH_PGDATABASE", "test")


@contextmanager
def scratch_postgres() -> Iterator[str | None]:
    """A scratch database next to ``test`` on the local PostgreSQL, dropped afterwards."""
    try:
        import psycopg

        admin = f"host={PG_HOST} port={PG_PORT} dbname={PG_ADMIN_DB} user=postgres"
        name = f"hookwire_bench_{secrets.token_hex(4)}"
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        print(f"PostgreSQL is not available ({exc}); its rows are skipped", file=sys.stderr)
        yield None
        return
    try:
        yield f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(port: int, *, timeout: float, poll: float) -> None:
    """Return once a server accepts connections on ``port``; exit the run after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(poll)
    raise SystemExit(f"the server on port {port} did not start")


def run_worker(script: str | Path, spec: dict[str, Any]) -> dict[str, Any]:
    """Run ``script --worker <spec as JSON>`` in a fresh process; the JSON of its last line.

    Each measurement gets a process of its own, so one contender's imports, caches and
    heap cannot favour or burden the next.
    """
    done = subprocess.run(
        [sys.executable, str(Path(script).resolve()), "--worker", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"worker {spec.get('kind', '')} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def rotated(arms: Sequence[T], round_number: int) -> list[T]:
    """``arms`` in the order round ``round_number`` runs them: rotated by one a round, so
    each goes first as often as the others (two arms alternate) and drift hits all alike."""
    shift = round_number % len(arms)
    return [*arms[shift:], *arms[:shift]]


def on_fresh_sqlite(spec: dict[str, Any], folder: str | Path, name: str) -> dict[str, Any]:
    """``spec`` with its SQLite URL, if it has one, on a new file ``name``.db in ``folder``:
    no run reads the queue another run left."""
    if not spec["url"].startswith("sqlite"):
        return spec
    return {**spec, "url": f"sqlite:///{Path(folder) / name}.db"}
