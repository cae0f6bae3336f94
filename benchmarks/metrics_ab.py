"""A/B of metrics on and off: the dispatcher alone on the dispatch benchmark's backlogs.

Every round measures each selected contender twice in fresh worker processes,
once with a plain ``Sender`` and once with ``Sender(..., metrics=Metrics())``
(the order alternating by round). A measurement is ``dispatch.py``'s backlog
mode: the events are published first (untimed), then ``drain()`` is timed, by
the wall clock (deliveries per second) and by the worker's CPU time per delivery,
which a busy machine disturbs less than the wall clock. With metrics on, a thread also scrapes the
registry once a second during the run (as Prometheus would, only more often;
``--scrape-every``), so the queue collector's queries and the exposition are
part of the cost.

    python benchmarks/metrics_ab.py --only "sqlite&max_batch=100&C=1"

``--only`` keeps the contenders whose table and label contain every ``&``-separated
part; ``--rounds`` is as in ``dispatch.py``; ``--scale`` multiplies
each measurement's events (default 5: the dispatch benchmark's sizes take well
under a second at max_batch 100, too short to see a few per cent). The last
column is the median of the on/off ratios of each round.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import signal
import statistics
import sys
import tempfile
import threading
import time
from typing import Any

import dispatch  # the benchmark beside this file (the script's folder is on sys.path)
from _local import on_fresh_sqlite, rotated, run_worker


def _with_metrics(scrape_every: float) -> threading.Event:
    """Make every ``Sender`` this process builds count into one ``Metrics``, scraped every
    ``scrape_every`` seconds (0: never).

    Returns the event that stops the scraping thread.
    """
    from prometheus_client import generate_latest

    import hookwire.sender
    from hookwire.metrics import Metrics

    metrics = Metrics()
    plain = hookwire.sender.Sender

    class MeteredSender(plain):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **options: Any) -> None:
            super().__init__(*args, metrics=metrics, **options)

    hookwire.sender.Sender = MeteredSender  # type: ignore[misc]
    stop = threading.Event()

    def scrape() -> None:
        while not stop.wait(scrape_every):
            generate_latest(metrics.scrape_registry())

    if scrape_every > 0:
        threading.Thread(target=scrape, daemon=True).start()
    return stop


async def drain(spec: dict[str, Any]) -> dict[str, Any]:
    """Publish the events (untimed), then time ``drain()``: wall clock and this process's CPU."""
    sender = dispatch._make_sender(
        spec["url"], webhooks=spec["webhooks"], max_batch=spec["max_batch"], sink=spec["sink"]
    )
    deliveries = spec["events"] * spec["webhooks"]
    await dispatch._sink_reset(spec["sink"])
    dispatch._publisher(sender, spec["events"], "txn")()
    cpu, start = time.process_time(), time.monotonic()
    await sender.drain()
    cpu = time.process_time() - cpu
    stats = await dispatch._wait_for_sink(spec["sink"], deliveries, within=300)
    sender.close()
    return {
        "rate": deliveries / (stats["last"] - start),
        "cpu_us": cpu / deliveries * 1e6,
    }


def worker_main(spec: dict[str, Any]) -> dict[str, Any]:
    """One drain of ``dispatch.py``'s backlog mode, with metrics on when the spec says so."""
    stop = _with_metrics(spec["scrape_every"]) if spec["metrics"] else None
    gc.freeze()  # as `hookwire dispatch` does
    result = asyncio.run(drain(spec))
    if stop is not None:
        stop.set()
    return result


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one worker process; its deliveries per second and CPU microseconds per delivery."""
    return run_worker(__file__, spec)


def main() -> None:
    """Measure the chosen contenders with metrics off and on and print their medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="parts (joined by &) every label must contain")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--scale",
        type=float,
        default=5.0,
        help="events per measurement, times dispatch.py's (its runs are short for a 5%% question)",
    )
    parser.add_argument(
        "--scrape-every",
        type=float,
        default=1.0,
        help="seconds between scrapes with metrics on (0: no scrapes, the dispatcher alone)",
    )
    args = parser.parse_args()
    parts = [part for part in args.only.split("&") if part]
    # Stopped with SIGTERM, still stop the sink and remove the scratch files.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(1))
    results: dict[tuple[str, str, str], list[dict[str, float]]] = {}
    sink_process, sink = dispatch.start_sink()
    try:
        with tempfile.TemporaryDirectory() as tmp, dispatch.scratch_postgres() as pg_url:
            stores = {"sqlite": "sqlite:///unused.db"}
            if pg_url is not None:
                stores["postgres"] = pg_url
            plan = [
                c
                for c in dispatch.contenders(sink, stores, quick=False, modes=["backlog"])
                if c.spec["kind"] == "hookwire"
                and all(part in f"{c.table} {c.label}" for part in parts)
            ]
            for round_number in range(args.rounds):
                for number, contender in enumerate(plan):
                    for arm in rotated(["off", "on"], round_number):
                        spec = {
                            **contender.spec,
                            "metrics": arm == "on",
                            "scrape_every": args.scrape_every,
                            "events": max(1, int(contender.spec["events"] * args.scale)),
                        }
                        spec = on_fresh_sqlite(spec, tmp, f"ab-{round_number}-{number}-{arm}")
                        found = measure(spec)
                        key = (contender.table, contender.label, arm)
                        results.setdefault(key, []).append(found)
                        print(
                            f"round {round_number + 1} {contender.table} {contender.label} "
                            f"metrics {arm}: {found['rate']:.1f}/s {found['cpu_us']:.1f} us CPU",
                            file=sys.stderr,
                            flush=True,
                        )
    finally:
        sink_process.terminate()
        sink_process.wait()
    print("medians over rounds: deliveries/s and the dispatcher process's CPU us per delivery;")
    print("on/off: the median of the rounds' ratios")
    heads = ("off/s", "on/s", "on/off", "off us", "on us", "on/off")
    print(f"{'':6} {'contender':38} " + " ".join(f"{head:>8}" for head in heads))
    for table, label in dict.fromkeys((t, lab) for t, lab, _ in results):
        off, on = results[(table, label, "off")], results[(table, label, "on")]
        columns = []
        for key in ("rate", "cpu_us"):
            ratio = statistics.median(b[key] / a[key] for a, b in zip(off, on, strict=True))
            columns.append(
                f"{statistics.median(r[key] for r in off):8.1f} "
                f"{statistics.median(r[key] for r in on):8.1f} {ratio:8.3f}"
            )
        print(f"{table:6} {label:38} {columns[0]} {columns[1]}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker_main(json.loads(sys.argv[2]))))
    else:
        main()
