"""Dispatch throughput and latency: hookwire's sender against the raw limit and a peer.

Run ``python benchmarks/dispatch.py`` (``--quick`` for a short run, ``--rounds``).

The sink (``benchmarks/_sink.py``) runs in a process of its own on 127.0.0.1 and
answers 202 to every POST. Every measurement runs in a fresh worker process (this
file with ``--worker``), so each contender starts cold and its peak memory
(``ru_maxrss``) is its own. Rounds are interleaved: each round measures every
contender once, and the tables show the medians over rounds.

Contenders:

- **raw**: a bare aiohttp POST loop, one session, N requests with C in flight,
  no store: the most requests per second this machine and sink allow at C.
- **webhookkit**: the ``webhookkit`` package's ``WebhookSender.send`` (urllib,
  signed, no store) in a thread pool of C threads.
- **hookwire**: a :class:`~hookwire.sender.Sender` on a SQLite file or on a
  scratch PostgreSQL database, W webhooks subscribed to a real-time event,
  ``max_batch`` 1 or 100. The clock starts before the first ``publish``; the
  dispatcher (``run_dispatcher``) runs in the same process while a thread
  publishes N events, and the clock stops at the sink's receipt of the last of
  the N x W deliveries. Publishing is either a loop of ``sender.publish`` (one
  commit each, ``loop``), the same loop inside one caller transaction
  (``connection=``, ``txn``), or ``sender.publish_many`` in chunks of
  ``BULK_CHUNK`` (1000) events, one transaction each (``bulk``). A fourth mode,
  ``backlog``, times the dispatcher alone: the N events are published first
  (untimed) and ``drain()`` is timed.
- **latency**: one webhook, ``max_batch`` 100, a real-time event published at a
  steady 200 events/s; publish-to-receipt time per event, p50 and p99. The
  dispatcher runs in the publishing process (woken by each ``publish``) or, in
  the "dispatcher process" rows, in a process of its own (this file with
  ``--dispatcher URL``: ``run_dispatcher`` with the default ``poll_interval``),
  the recommended deployment, where only the cross-process wake
  (``hookwire.sender.wake``) brings it the work before the next poll.

``--idle-cpu SECONDS`` measures something else: the CPU time that ``hookwire
dispatch`` spends with nothing to do, per idle minute, on each store.

Rates are deliveries per second: one event arriving at one webhook is one
delivery, so with W webhooks one published event makes W deliveries. "x raw" is
the median over rounds of each round's rate divided by that round's raw rate at
the same concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _local import run_worker, scratch_postgres  # noqa: E402
from _sink import start_sink  # noqa: E402

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
EVENT = "COURSE_COMPLETED"
DATA = {
    "userId": 11080928,
    "loId": "course:12345678",
    "loInstanceId": "course:12345678_14448484",
    "loType": "course",
    "hasPassed": True,
}
ACCOUNT = 1010
BULK_CHUNK = 1000  # events per publish_many call in the bulk mode


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _one_event_body(n: int) -> bytes:
    """A one-event envelope like hookwire's, for the raw loop."""
    event = {
        "eventId": f"raw-{n}",
        "eventName": EVENT,
        "timestamp": "2026-11-28T17:00:00.000Z",
        "data": DATA,
    }
    return json.dumps({"accountId": ACCOUNT, "events": [event]}, separators=(",", ":")).encode()


async def _sink_stats(session: aiohttp.ClientSession, sink: str) -> dict[str, Any]:
    async with session.get(f"{sink}/stats") as response:
        result: dict[str, Any] = await response.json()
        return result


async def _sink_reset(sink: str, *, record: bool = False) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{sink}/reset", params={"record": "1" if record else "0"}) as response,
    ):
        response.raise_for_status()


async def _wait_for_sink(sink: str, deliveries: int, within: float) -> dict[str, Any]:
    """Poll the sink until it has seen ``deliveries`` events; its final stats."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as session:
        while True:
            stats = await _sink_stats(session, sink)
            if stats["events"] >= deliveries:
                return stats
            if time.monotonic() > deadline:
                raise RuntimeError(f"the sink saw {stats['events']} of {deliveries} deliveries")
            await asyncio.sleep(0.01)


# ---------------------------------------------------------------- worker side


async def run_raw(sink: str, requests: int, concurrency: int) -> dict[str, Any]:
    """A bare aiohttp POST loop: ``requests`` POSTs, ``concurrency`` at a time, no store."""
    await _sink_reset(sink)
    bodies = [_one_event_body(n) for n in range(requests)]
    headers = {"content-type": "application/json"}
    url = f"{sink}/raw"
    next_index = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for n in next_index:
                async with session.post(url, data=bodies[n], headers=headers) as response:
                    await response.read()
                    if response.status != 202:
                        raise RuntimeError(f"the sink answered {response.status}")

        start = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - start
    return {"rate": requests / elapsed, "deliveries": requests, "seconds": elapsed}


def run_webhookkit(sink: str, requests: int, concurrency: int) -> dict[str, Any]:
    """webhookkit's synchronous ``WebhookSender.send`` in a pool of ``concurrency`` threads."""
    from webhookkit import WebhookSender

    asyncio.run(_sink_reset(sink))
    sender = WebhookSender(signing_secret=SECRET, scheme="standard", timeout=10)
    url = f"{sink}/webhookkit"
    payloads = [json.loads(_one_event_body(n)) for n in range(requests)]
    start = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        for result in pool.map(lambda p: sender.send(url, EVENT, p), payloads):
            if not result.success:
                raise RuntimeError("webhookkit failed to deliver")
    elapsed = time.monotonic() - start
    return {"rate": requests / elapsed, "deliveries": requests, "seconds": elapsed}


def _make_sender(url: str, *, webhooks: int, max_batch: int, sink: str) -> Any:
    from sqlalchemy import create_engine

    from hookwire.sender import Sender
    from hookwire.sender.schema import metadata

    if url.startswith("postgresql"):
        # A fresh schema for every measurement: no rows left by an earlier one.
        engine = create_engine(url)
        metadata.drop_all(engine)
        engine.dispose()
    sender = Sender(
        url,
        max_batch=max_batch,
        allow_private_targets=True,
        max_webhooks_per_account=webhooks,
        concurrency=max(webhooks, 1),
    )
    for n in range(webhooks):
        sender.webhooks.create(
            name=f"bench {n}",
            target_url=f"{sink}/hook/{n}",
            events=[EVENT],
            auth="signature",
            account_id=ACCOUNT,
        )
    return sender


def _publisher(sender: Any, events: int, mode: str) -> Callable[[], None]:
    def publish_all() -> None:
        if mode == "txn":
            with sender.engine.begin() as conn:
                for _ in range(events):
                    sender.publish(EVENT, data=DATA, account_id=ACCOUNT, connection=conn)
        elif mode == "bulk":
            item = {"event_name": EVENT, "data": DATA, "account_id": ACCOUNT}
            for start in range(0, events, BULK_CHUNK):
                sender.publish_many([item] * min(BULK_CHUNK, events - start))
        else:
            for _ in range(events):
                sender.publish(EVENT, data=DATA, account_id=ACCOUNT)

    return publish_all


async def run_hookwire(
    sink: str, url: str, *, webhooks: int, max_batch: int, events: int, mode: str
) -> dict[str, Any]:
    """Publish ``events`` while the dispatcher runs; time until the sink has every delivery."""
    sender = _make_sender(url, webhooks=webhooks, max_batch=max_batch, sink=sink)
    deliveries = events * webhooks
    await _sink_reset(sink)
    if mode == "backlog":
        # The dispatcher alone: everything is published (untimed) before it starts.
        started = time.monotonic()
        _publisher(sender, events, "txn")()
        published = time.monotonic() - started
        start = time.monotonic()
        await sender.drain()
    else:
        stop = asyncio.Event()
        start = time.monotonic()
        dispatcher = asyncio.create_task(sender.run_dispatcher(stop))
        await asyncio.to_thread(_publisher(sender, events, mode))
        published = time.monotonic() - start
    stats = await _wait_for_sink(sink, deliveries, within=300)
    if mode != "backlog":
        stop.set()
        await dispatcher
    sender.close()
    elapsed = stats["last"] - start
    return {
        "rate": deliveries / elapsed,
        "deliveries": deliveries,
        "seconds": elapsed,
        "publish_rate": events / published,
        "requests": stats["requests"],
    }


@contextmanager
def dispatcher_process(url: str) -> Iterator[subprocess.Popen[bytes]]:
    """A dispatcher on ``url`` in a process of its own (``--dispatcher``), stopped at the end."""
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--dispatcher", url],
        stdout=subprocess.DEVNULL,
    )
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def dispatcher_main(url: str) -> None:
    """Dispatch from ``url`` until SIGTERM, with the latency rows' settings."""
    from hookwire.sender import Sender

    sender = Sender(url, max_batch=100, allow_private_targets=True, concurrency=1)
    gc.freeze()  # as `hookwire dispatch` does

    async def run() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await sender.run_dispatcher(stop)

    try:
        asyncio.run(run())
    finally:
        sender.close()


async def run_latency(
    sink: str, url: str, *, rate: float, seconds: float, separate: bool = False
) -> dict[str, Any]:
    """Publish one real-time event every 1/rate s to one webhook; publish-to-receipt times.

    ``separate``: the dispatcher runs in a process of its own, started (and
    given a first event to deliver) before the clock starts.
    """
    sender = _make_sender(url, webhooks=1, max_batch=100, sink=sink)
    count = int(rate * seconds)
    ids = [f"evt_{uuid.uuid4().hex}" for _ in range(count)]
    published: dict[str, float] = {}
    with contextlib.ExitStack() as stack:
        if separate:
            stack.enter_context(dispatcher_process(url))
            await _sink_reset(sink)
            sender.publish(EVENT, data=DATA, account_id=ACCOUNT)
            await _wait_for_sink(sink, 1, within=60)
            await asyncio.sleep(1.0)  # idle, as between bursts
        await _sink_reset(sink, record=True)
        stop = asyncio.Event()
        dispatcher = None if separate else asyncio.create_task(sender.run_dispatcher(stop))

        def paced() -> None:
            start = time.monotonic()
            for n, event_id in enumerate(ids):
                delay = start + n / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                published[event_id] = time.monotonic()
                sender.publish(EVENT, data=DATA, account_id=ACCOUNT, event_id=event_id)

        await asyncio.to_thread(paced)
        await _wait_for_sink(sink, count, within=60)
        stop.set()
        if dispatcher is not None:
            await dispatcher
    sender.close()
    async with aiohttp.ClientSession() as session, session.get(f"{sink}/receipts") as response:
        receipts = await response.json()
    latencies = sorted((receipts[i] - published[i]) * 1000 for i in ids)
    return {
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "max_ms": latencies[-1],
        "deliveries": count,
    }


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far, from ``/proc`` (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(stores: dict[str, str], seconds: float) -> None:
    """Print the CPU seconds per idle minute of ``hookwire dispatch`` on each store.

    Each dispatcher starts on a store with one webhook and nothing to send,
    settles for 5 s, and is measured over ``seconds`` of idleness.
    """
    from hookwire.sender import Sender

    for store, url in stores.items():
        Sender(url).close()  # the schema, created before the dispatcher starts
        child = subprocess.Popen(
            [sys.executable, "-m", "hookwire_cli", "dispatch", "--db", url],
            stdout=subprocess.DEVNULL,
        )
        try:
            time.sleep(5)
            before = _cpu_seconds(child.pid)
            time.sleep(seconds)
            used = _cpu_seconds(child.pid) - before
        finally:
            child.terminate()
            child.wait()
        print(f"{store:9} hookwire dispatch, idle: {used * 60 / seconds:.3f} CPU s per minute")


def worker_main(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one measurement described by ``spec``; its result with the peak memory."""
    kind = spec["kind"]
    if kind in ("hookwire", "latency"):
        gc.freeze()  # as `hookwire dispatch` freezes its process's heap before dispatching
    if kind == "raw":
        result = asyncio.run(run_raw(spec["sink"], spec["requests"], spec["concurrency"]))
    elif kind == "webhookkit":
        result = run_webhookkit(spec["sink"], spec["requests"], spec["concurrency"])
    elif kind == "hookwire":
        result = asyncio.run(
            run_hookwire(
                spec["sink"],
                spec["url"],
                webhooks=spec["webhooks"],
                max_batch=spec["max_batch"],
                events=spec["events"],
                mode=spec["mode"],
            )
        )
    elif kind == "latency":
        result = asyncio.run(
            run_latency(
                spec["sink"],
                spec["url"],
                rate=spec["rate"],
                seconds=spec["seconds"],
                separate=spec.get("separate", False),
            )
        )
    else:
        raise SystemExit(f"unknown worker kind {kind!r}")
    result["maxrss_mib"] = _maxrss_mib()
    return result


# ---------------------------------------------------------- orchestrator side


@dataclass(frozen=True)
class Contender:
    """One row of a table: a label and the worker spec that measures it."""

    table: str
    label: str
    spec: dict[str, Any]


# Deliveries per measurement by (webhooks, max_batch): a few seconds each at the rates seen here.
SIZES = {(1, 1): 500, (1, 100): 3000, (50, 1): 5000, (50, 100): 25000}


def contenders(
    sink: str, stores: dict[str, str], *, quick: bool, modes: list[str]
) -> list[Contender]:
    """Every measurement of one round."""
    scale = 0.25 if quick else 1.0
    found: list[Contender] = []
    for concurrency, requests in ((1, 3000), (50, 10000)):
        n = int(requests * scale)
        for kind in ("raw", "webhookkit"):
            found.append(
                Contender(
                    f"C={concurrency}",
                    kind,
                    {"kind": kind, "sink": sink, "requests": n, "concurrency": concurrency},
                )
            )
    for store, url in stores.items():
        for webhooks in (1, 50):
            for max_batch in (1, 100):
                for mode in modes:
                    deliveries = SIZES[(webhooks, max_batch)]
                    events = max(1, int(deliveries * scale) // webhooks)
                    found.append(
                        Contender(
                            f"C={webhooks}",
                            f"hookwire {store} max_batch={max_batch} {mode}",
                            {
                                "kind": "hookwire",
                                "sink": sink,
                                "url": url,
                                "webhooks": webhooks,
                                "max_batch": max_batch,
                                "events": events,
                                "mode": mode,
                            },
                        )
                    )
        for separate in (False, True):
            found.append(
                Contender(
                    "latency",
                    f"hookwire {store} 200 events/s" + (", dispatcher process" if separate else ""),
                    {
                        "kind": "latency",
                        "sink": sink,
                        "url": url,
                        "rate": 200,
                        "seconds": 2 if quick else 5,
                        "separate": separate,
                    },
                )
            )
    return found


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one worker process and read its result."""
    return run_worker(__file__, spec)


def main() -> None:
    """Measure every contender in interleaved rounds and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs, one round")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3; quick 1)")
    parser.add_argument(
        "--modes",
        default="loop,txn,bulk,backlog",
        help="publish modes, comma-separated: loop, txn, bulk, backlog (dispatcher alone)",
    )
    parser.add_argument("--only", default="", help="run only labels containing this text")
    parser.add_argument(
        "--idle-cpu",
        type=float,
        metavar="SECONDS",
        help="instead: CPU time of an idle `hookwire dispatch` on each store, over SECONDS",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--dispatcher", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker_main(json.loads(args.worker))))
        return
    if args.dispatcher:
        dispatcher_main(args.dispatcher)
        return
    if args.idle_cpu:
        with tempfile.TemporaryDirectory() as tmp, scratch_postgres() as pg_url:
            stores = {"sqlite": f"sqlite:///{Path(tmp) / 'idle.db'}"}
            if pg_url is not None:
                stores["postgres"] = pg_url
            idle_cpu(stores, args.idle_cpu)
        return
    rounds = args.rounds or (1 if args.quick else 3)
    modes = [m for m in args.modes.split(",") if m]
    sink_process, sink = start_sink()
    try:
        with tempfile.TemporaryDirectory() as tmp, scratch_postgres() as pg_url:
            stores = {"sqlite": f"sqlite:///{Path(tmp) / 'bench.db'}"}
            if pg_url is not None:
                stores["postgres"] = pg_url
            plan = [
                c
                for c in contenders(sink, stores, quick=args.quick, modes=modes)
                if args.only in c.label or args.only in c.table
            ]
            results: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for round_number in range(1, rounds + 1):
                for number, contender in enumerate(plan):
                    spec = dict(contender.spec)
                    if spec.get("url", "").startswith("sqlite"):
                        # A fresh SQLite file for every measurement.
                        db = Path(tmp) / f"bench-{round_number}-{number}.db"
                        spec["url"] = f"sqlite:///{db}"
                    result = measure(spec)
                    results.setdefault((contender.table, contender.label), []).append(result)
                    print(
                        f"round {round_number}/{rounds} {contender.table:8} {contender.label}: "
                        + ", ".join(f"{k}={v:.1f}" for k, v in result.items() if k != "x"),
                        file=sys.stderr,
                        flush=True,
                    )
            report(plan, results, rounds)
    finally:
        sink_process.terminate()
        sink_process.wait()


def _median(results: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in results))


def report(
    plan: list[Contender], results: dict[tuple[str, str], list[dict[str, Any]]], rounds: int
) -> None:
    """Print the throughput table (ratios to the raw loop at the same concurrency) and latency."""
    print(f"\nmedians of {rounds} round(s); deliveries/s = events arriving at webhooks per second")
    print(
        f"{'in flight':10} {'contender':40} {'deliveries/s':>13} {'x raw':>7} "
        f"{'publish ev/s':>13} {'requests':>9} {'maxrss MiB':>11}"
    )
    raw = {c.table: results[(c.table, c.label)] for c in plan if c.label == "raw"}
    for contender in plan:
        if contender.table == "latency":
            continue
        found = results[(contender.table, contender.label)]
        rate = _median(found, "rate")
        ratio = "-"
        if contender.table in raw:
            # Each round's rate over the same round's raw rate, so that a slow spell of the
            # shared machine hits both sides of a ratio alike; then the median.
            ratios = [
                mine["rate"] / limit["rate"]
                for mine, limit in zip(found, raw[contender.table], strict=True)
            ]
            ratio = f"{statistics.median(ratios):.2f}"
        publish = f"{_median(found, 'publish_rate'):13.0f}" if "publish_rate" in found[0] else ""
        requests = f"{_median(found, 'requests'):9.0f}" if "requests" in found[0] else ""
        print(
            f"{contender.table:10} {contender.label:40} {rate:13.0f} "
            f"{ratio:>7} {publish:>13} {requests:>9} "
            f"{_median(found, 'maxrss_mib'):11.1f}"
        )
    print(f"\n{'latency':10} {'contender':52} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}")
    for contender in plan:
        if contender.table != "latency":
            continue
        found = results[(contender.table, contender.label)]
        print(
            f"{'':10} {contender.label:52} {_median(found, 'p50_ms'):9.1f} "
            f"{_median(found, 'p99_ms'):9.1f} {_median(found, 'max_ms'):9.1f}"
        )


if __name__ == "__main__":
    threading.excepthook = threading.__excepthook__
    main()
