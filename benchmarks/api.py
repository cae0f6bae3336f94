"""Management API list endpoints under gunicorn, beside a bare Flask endpoint in the same app.

Run ``python benchmarks/api.py`` (``--store sqlite`` or ``--store postgres`` for one
store; ``--rounds``, ``--seconds``, ``--concurrency``, ``--deliveries``).

For each store a sender is filled with 100,000 deliveries over 5 webhooks of
account 1010 (``publish_many`` in chunks of 1000 events, each event queued for the
5 webhooks; nothing is dispatched). One gunicorn server (2 sync workers on
127.0.0.1) serves one Flask app holding both the console (``Console(app,
sender=...)``, an operator's API key on every request) and two bare endpoints
that answer, without a database or any check, ``json.dumps`` of the very JSON
the console's first deliveries page and webhook list answered (same size, same
shape). A load process (aiohttp, fixed concurrency) asks one URL for a few seconds
and reports requests per second and the 99th percentile of latency. Contenders:

- ``GET /api/v1/accounts/1010/deliveries?limit=50``: the first page;
- the same with ``cursor=`` 90,000 deliveries deep (a cursor the list gave);
- ``GET /api/v1/accounts/1010/webhooks``;
- the bare endpoint answering the deliveries page, and the one answering the list.

Rounds are interleaved (every contender once per round, the order reversed every
other round); the tables show medians over rounds, and "x bare" is the median of
each round's ratio to the bare endpoint of the same size in that round. Goals:
list endpoints at >= 0.5x the bare endpoint; a deep page as fast as
the first.

The module is also the gunicorn app module (``api:bench_app()``, configured by
environment variables) and the load generator (``--load URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from flask import Flask, Response

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _local import free_port, scratch_postgres, wait_ready  # noqa: E402

ACCOUNT = 1010
WEBHOOKS = 5
EVENT = "COURSE_COMPLETED"
CHUNK = 1000  # events per publish_many call
DEEP = 90_000  # how many deliveries the deep page's cursor is past
SECRET_KEY = "bench-console-secret-key-0123456789"
DB_ENV, KEY_ENV = "HOOKWIRE_BENCH_DB", "HOOKWIRE_BENCH_API_KEY"
FIRST_PAGE = f"/api/v1/accounts/{ACCOUNT}/deliveries?limit=50"
WEBHOOK_LIST = f"/api/v1/accounts/{ACCOUNT}/webhooks"


def bench_app() -> Flask:
    """The served app: the console over ``$HOOKWIRE_BENCH_DB`` and the two bare endpoints."""
    from hookwire.console import Console
    from hookwire.sender import Sender

    app = Flask("api-bench")
    app.config.update(HOOKWIRE_CONSOLE_SECRET_KEY=SECRET_KEY)
    Console(app, sender=Sender(os.environ[DB_ENV]))
    answers: dict[str, Any] = {}

    @app.get("/bare/deliveries")
    def bare_deliveries() -> Response:
        return Response(json.dumps(answers["deliveries"]), mimetype="application/json")

    @app.get("/bare/webhooks")
    def bare_webhooks() -> Response:
        return Response(json.dumps(answers["webhooks"]), mimetype="application/json")

    # The bare endpoints answer what the console answers, read once through the console.
    auth = {"Authorization": f"Bearer {os.environ[KEY_ENV]}"}
    with app.test_client() as client:
        answers["deliveries"] = client.get(FIRST_PAGE, headers=auth).get_json()
        answers["webhooks"] = client.get(WEBHOOK_LIST, headers=auth).get_json()
    return app


def fill_store(url: str, deliveries: int) -> tuple[str, str]:
    """Fill a new store: 5 webhooks and ``deliveries`` deliveries. Returns an operator's
    API key and a deliveries cursor ``DEEP`` deliveries deep."""
    from hookwire.console.keys import create_key
    from hookwire.console.tables import ensure_schema
    from hookwire.samples import sample_data
    from hookwire.sender import Sender

    sender = Sender(url, allow_private_targets=True)
    try:
        for n in range(WEBHOOKS):
            sender.webhooks.create(
                name=f"bench {n}",
                target_url=f"http://127.0.0.1:9/hook/{n}",
                events=[EVENT],
                account_id=ACCOUNT,
            )
        data = sample_data(EVENT, random.Random(17))
        events = deliveries // WEBHOOKS
        for start in range(0, events, CHUNK):
            count = min(CHUNK, events - start)
            sender.publish_many(
                [{"event_name": EVENT, "data": data, "account_id": ACCOUNT}] * count
            )
        ensure_schema(sender.engine)
        _, key = create_key(sender.engine, name="bench", accounts=None, read_only=False)
        return key, _cursor_past(sender, min(DEEP, deliveries - 100))
    finally:
        sender.close()


def _cursor_past(sender: Any, count: int) -> str:
    """The cursor the delivery list gives after ``count`` deliveries."""
    cursor, seen = None, 0
    while seen < count:
        limit = min(1000, count - seen)
        page = sender.deliveries.page(account_id=ACCOUNT, cursor=cursor, limit=limit)
        seen += len(page.items)
        cursor = page.next_cursor
    assert cursor is not None
    return str(cursor)


async def _load(url: str, key: str | None, seconds: float, concurrency: int) -> dict[str, float]:
    import aiohttp

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    latencies: list[float] = []
    errors = 0
    stop_at = 0.0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while time.perf_counter() < stop_at:
            began = time.perf_counter()
            async with session.get(url, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - began)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        stop_at = start + seconds
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return {"rps": len(latencies) / elapsed, "p99_ms": p99 * 1000, "errors": errors}


def _serve(url: str, key: str, port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "sync",
        "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--chdir", str(HERE),
        "api:bench_app()",
    ]  # fmt: skip
    return subprocess.Popen(command, env={**os.environ, DB_ENV: url, KEY_ENV: key})


def _contenders(cursor: str) -> dict[str, tuple[str, bool]]:
    """Each contender's path and whether it sends the API key."""
    return {
        "deliveries, first page": (FIRST_PAGE, True),
        "deliveries, 90k deep": (f"{FIRST_PAGE}&cursor={cursor}", True),
        "bare, same 50 items": ("/bare/deliveries", False),
        "webhooks": (WEBHOOK_LIST, True),
        "bare, same 5 webhooks": ("/bare/webhooks", False),
    }


def measure_store(
    name: str, url: str, args: argparse.Namespace
) -> dict[str, list[dict[str, float]]]:
    """Fill the store, serve it, and run every contender once per round."""
    began = time.perf_counter()
    key, cursor = fill_store(url, args.deliveries)
    print(f"{name}: {args.deliveries} deliveries stored in {time.perf_counter() - began:.1f} s",
          file=sys.stderr, flush=True)  # fmt: skip
    port = free_port()
    server = _serve(url, key, port)
    contenders = _contenders(cursor)
    results: dict[str, list[dict[str, float]]] = {label: [] for label in contenders}
    try:
        wait_ready(port, timeout=60, poll=0.2)
        for label in contenders:  # warm-up, not counted: each worker's first requests
            _measure(port, contenders[label], key, 0.5, args.concurrency)
        for round_no in range(1, args.rounds + 1):
            order = list(contenders) if round_no % 2 else list(reversed(contenders))
            for label in order:
                measured = _measure(port, contenders[label], key, args.seconds, args.concurrency)
                if measured["errors"]:
                    raise SystemExit(f"{name} {label}: {measured['errors']} answers were not 200")
                results[label].append(measured)
                print(f"round {round_no} {name:8} {label:24} {measured['rps']:7.0f} req/s  "
                      f"p99 {measured['p99_ms']:6.1f} ms", file=sys.stderr, flush=True)  # fmt: skip
    finally:
        server.terminate()
        server.wait()
    return results


def _measure(
    port: int, contender: tuple[str, bool], key: str, seconds: float, concurrency: int
) -> dict[str, float]:
    """One load process's run against one contender."""
    path, authed = contender
    load = [
        sys.executable, __file__, "--load", f"http://127.0.0.1:{port}{path}",
        "--seconds", str(seconds), "--concurrency", str(concurrency),
    ]  # fmt: skip
    env = {**os.environ, KEY_ENV: key if authed else ""}
    output = subprocess.run(load, check=True, capture_output=True, text=True, env=env).stdout
    measured: dict[str, float] = json.loads(output)
    return measured


# Each API contender's bare endpoint of the same size, and the deep page's first page.
_AGAINST = {
    "deliveries, first page": "bare, same 50 items",
    "deliveries, 90k deep": "bare, same 50 items",
    "webhooks": "bare, same 5 webhooks",
}


def report(name: str, results: dict[str, list[dict[str, float]]]) -> None:
    """Print one store's table: medians, and each round's ratio to the bare endpoint."""
    print(f"\n{name}: gunicorn, 2 sync workers, medians of {len(next(iter(results.values())))}")
    print("| contender | req/s | p99 ms | x bare |")
    print("|---|---:|---:|---:|")
    for label, rounds in results.items():
        rps = statistics.median(r["rps"] for r in rounds)
        p99 = statistics.median(r["p99_ms"] for r in rounds)
        ratio = ""
        if label in _AGAINST:
            pairs = zip(rounds, results[_AGAINST[label]], strict=True)
            ratio = f"{statistics.median(ours['rps'] / bare['rps'] for ours, bare in pairs):.2f}"
        print(f"| {label} | {rps:.0f} | {p99:.1f} | {ratio} |")
    pairs = zip(results["deliveries, 90k deep"], results["deliveries, first page"], strict=True)
    deep = statistics.median(d["rps"] / f["rps"] for d, f in pairs)
    print(f"deep page / first page: {deep:.2f}x (goal: about 1); list endpoints goal >= 0.50x bare")


def main() -> None:
    """Run the comparison on each store, or act as the load generator with ``--load``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        key = os.environ.get(KEY_ENV) or None
        print(json.dumps(asyncio.run(_load(args.load, key, args.seconds, args.concurrency))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        if args.store in ("sqlite", "all"):
            url = f"sqlite:///{Path(tmp) / 'api-bench.db'}"
            report("SQLite", measure_store("sqlite", url, args))
        if args.store in ("postgres", "all"):
            with scratch_postgres() as pg_url:
                if pg_url is not None:
                    report("PostgreSQL", measure_store("postgres", pg_url, args))


if __name__ == "__main__":
    main()
