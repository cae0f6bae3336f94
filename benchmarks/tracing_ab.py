"""A/B of tracing's cost: publish and dispatch with tracing off, no-op and recorded.

Every round measures each (workload, tracing) pair once, in a fresh worker
process (this file with ``--worker``), the order of the tracing modes rotating
by round; the medians are printed side by side.

    python benchmarks/tracing_ab.py --rounds 5

Tracing modes:

- **absent**: ``opentelemetry`` cannot be imported (an install without the
  ``otel`` extra), so nothing is traced;
- **off**: ``Sender(tracing=False)``;
- **api**: ``Sender(tracing=True)`` with the API installed and no SDK: the
  API's no-op spans, no context stored, no header;
- **sdk**: an SDK ``TracerProvider`` with a ``BatchSpanProcessor`` and an
  exporter that drops what it gets: every span recorded, its context stored
  and sent.

Workloads (on a SQLite file, or ``--stores sqlite,postgres``):

- **publish**: N ``sender.publish`` calls, one commit each (events/s);
- **publish_many**: ``sender.publish_many`` in chunks of 1000 (events/s);
- **backlog**: N events published first (untimed), then ``drain()`` timed
  (deliveries/s), with 1 webhook or 50, ``max_batch`` 1 or 100.

The sink is ``benchmarks/_sink.py`` in a process of its own (it answers 202).

``--hooks`` measures instead what the tracing hooks alone cost per call in each
mode (not ``absent``): opening and closing a publish span, an attempt span
whose job carries one stored context (``sdk``) or none, and the listening
core's span for a one-event envelope with a ``traceparent`` (``off`` is the
listener's ``tracing=False`` as well; ``api`` and ``sdk`` follow the global
provider, which ``sdk`` sets and ``api`` leaves unset); no database, no network;
microseconds per call, medians of interleaved rounds, each a fresh worker process.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _local import on_fresh_sqlite, rotated, run_worker, scratch_postgres  # noqa: E402
from _sink import start_sink  # noqa: E402

MODES = ("absent", "off", "api", "sdk")
EVENT = "COURSE_COMPLETED"
DATA = {
    "userId": 11080928,
    "loId": "course:12345678",
    "loInstanceId": "course:12345678_14448484",
    "hasPassed": True,
}
ACCOUNT = 1010
CHUNK = 1000


class _RefuseOtel:
    """A meta-path finder that refuses ``opentelemetry``, as an install without it would."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.partition(".")[0] == "opentelemetry":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


# ---------------------------------------------------------------- worker side


def _tracing(mode: str) -> Any:
    """The ``Sender(tracing=...)`` value of a mode."""
    if mode in ("absent", "api"):
        return True
    if mode == "off":
        return False
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Drop(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Drop()))
    return provider


def _sender(spec: dict[str, Any]) -> Any:
    from sqlalchemy import create_engine

    from hookwire.sender import Sender
    from hookwire.sender.schema import metadata

    url = spec["url"]
    if url.startswith("postgresql"):
        engine = create_engine(url)
        metadata.drop_all(engine)
        engine.dispose()
    webhooks = spec["webhooks"]
    sender = Sender(
        url,
        max_batch=spec["max_batch"],
        allow_private_targets=True,
        max_webhooks_per_account=webhooks,
        concurrency=max(webhooks, 1),
        tracing=_tracing(spec["mode"]),
    )
    for n in range(webhooks):
        sender.webhooks.create(
            name=f"bench {n}",
            target_url=f"{spec['sink']}/hook/{n}",
            events=[EVENT],
            auth="signature",
            account_id=ACCOUNT,
        )
    return sender


def _publish(sender: Any, events: int, bulk: bool) -> None:
    if bulk:
        item = {"event_name": EVENT, "data": DATA, "account_id": ACCOUNT}
        for start in range(0, events, CHUNK):
            sender.publish_many([item] * min(CHUNK, events - start))
    else:
        for _ in range(events):
            sender.publish(EVENT, data=DATA, account_id=ACCOUNT)


def hooks_main(mode: str, calls: int) -> dict[str, Any]:
    """Microseconds per call of the publish and attempt hooks in ``mode`` (one worker)."""
    import timeit
    from datetime import UTC, datetime

    from hookwire.events import Envelope
    from hookwire.sender.http import Response
    from hookwire.sender.tracing import PUBLISH_SPAN, SenderTracing
    from hookwire.sender.work import Job
    from hookwire.tracing import answered, handling_span

    setting = _tracing(mode)
    if mode == "sdk":
        from opentelemetry import trace

        trace.set_tracer_provider(setting)
    tracing = SenderTracing.of(setting)
    stored: tuple[str | None, ...] = ()
    if tracing is not None and mode == "sdk":
        with tracing.publishing(PUBLISH_SPAN) as traced:
            stored = (traced.trace_context,)
    job = Job(
        webhook_id="wh_bench",
        account_id=ACCOUNT,
        target_url="https://example.com/hooks?token=x",
        auth="signature",
        request_id="msg_bench",
        body=b"{}",
        event_ids=("evt_bench",),
        attempts=0,
        oldest_event_at=datetime.now(UTC),
        failing_since=None,
        trace_contexts=stored,
    )
    response = Response(datetime.now(UTC), 202, 1.0, None, "")

    def publish() -> None:
        if tracing is None:
            return
        with tracing.publishing(PUBLISH_SPAN) as traced:
            traced.describe((EVENT,), (ACCOUNT,), 1)
            traced.queued(1)

    def attempt() -> None:
        found = tracing.attempt(job) if tracing is not None else None
        if found is not None:
            found.end(response)

    envelope = Envelope.model_validate(
        {
            "accountId": ACCOUNT,
            "events": [
                {
                    "eventId": "evt_bench",
                    "eventName": EVENT,
                    "timestamp": "2026-12-02T20:00:00.000Z",
                    "data": DATA,
                }
            ],
        }
    )
    headers = {
        "webhook-id": "msg_bench",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    }

    traced_listener = mode != "off"  # ListeningCore(tracing=False) opens no span at all

    def listen() -> None:
        span = handling_span(headers.get, envelope) if traced_listener else None
        if span is not None:
            with span as current:
                answered(current, 202, accepted=1, duplicates=0)

    return {
        "publish_us": timeit.timeit(publish, number=calls) / calls * 1e6,
        "attempt_us": timeit.timeit(attempt, number=calls) / calls * 1e6,
        "listener_us": timeit.timeit(listen, number=calls) / calls * 1e6,
    }


def hooks(modes: list[str], rounds: int) -> None:
    """Measure the hooks in every mode but ``absent``, interleaved; print the medians."""
    modes = [mode for mode in modes if mode != "absent"]
    found: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    for round_number in range(rounds):
        for mode in rotated(modes, round_number):
            found[mode].append(measure({"hooks": mode, "calls": 20000}))
    print("medians, microseconds per call of the tracing hooks alone")
    print(f"{'mode':8}{'publish span':>14}{'attempt span':>14}{'listener span':>14}")
    for mode, results in found.items():
        cells = [
            statistics.median(r[key] for r in results)
            for key in ("publish_us", "attempt_us", "listener_us")
        ]
        print(f"{mode:8}" + "".join(f"{cell:>14.2f}" for cell in cells))


def worker_main(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one measurement; its rate (events/s for publishing, deliveries/s for backlog)."""
    if "hooks" in spec:
        return hooks_main(spec["hooks"], spec["calls"])
    if spec["mode"] == "absent":
        sys.meta_path.insert(0, _RefuseOtel())  # type: ignore[arg-type]
    gc.freeze()
    sender = _sender(spec)
    events = spec["events"]
    if spec["workload"] in ("publish", "publish_many"):
        items = events
        start, cpu = time.perf_counter(), time.process_time()
        _publish(sender, events, spec["workload"] == "publish_many")
    else:
        items = events * spec["webhooks"]
        _publish(sender, events, True)
        start, cpu = time.perf_counter(), time.process_time()
        asyncio.run(sender.drain())
    rate = items / (time.perf_counter() - start)
    cpu_us = (time.process_time() - cpu) / items * 1e6
    sender.close()
    loaded = any(name.startswith("opentelemetry") for name in sys.modules)
    return {"rate": rate, "cpu_us": cpu_us, "otel_loaded": loaded}


# ---------------------------------------------------------- orchestrator side


def plan(sink: str, stores: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """Every (label, spec) of one round, without its tracing mode."""
    found: list[tuple[str, dict[str, Any]]] = []
    for store, url in stores.items():
        base = {"sink": sink, "url": url, "webhooks": 1, "max_batch": 100}
        found.append((f"{store} publish", {**base, "workload": "publish", "events": 2000}))
        found.append(
            (f"{store} publish_many", {**base, "workload": "publish_many", "events": 10000})
        )
        for webhooks, max_batch, events in ((1, 1, 2000), (50, 1, 100), (1, 100, 10000)):
            found.append(
                (
                    f"{store} backlog W={webhooks} max_batch={max_batch}",
                    {
                        **base,
                        "workload": "backlog",
                        "webhooks": webhooks,
                        "max_batch": max_batch,
                        "events": events,
                    },
                )
            )
    return found


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one worker process and read its result."""
    return run_worker(__file__, spec)


def main() -> None:
    """Measure every workload under every tracing mode in interleaved rounds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--stores", default="sqlite", help="sqlite, postgres or both")
    parser.add_argument("--only", default="", help="run only labels containing this text")
    parser.add_argument("--modes", default=",".join(MODES), help="tracing modes to compare")
    parser.add_argument("--hooks", action="store_true", help="time the tracing hooks alone")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker_main(json.loads(args.worker))))
        return
    modes = [mode for mode in args.modes.split(",") if mode]
    if args.hooks:
        hooks(modes, args.rounds)
        return
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    sink_process, sink = start_sink()
    try:
        with tempfile.TemporaryDirectory() as tmp, scratch_postgres() as pg_url:
            stores = {}
            if "sqlite" in args.stores:
                stores["sqlite"] = "sqlite:///unused.db"
            if "postgres" in args.stores and pg_url is not None:
                stores["postgres"] = pg_url
            chosen = [(label, spec) for label, spec in plan(sink, stores) if args.only in label]
            for round_number in range(args.rounds):
                for number, (label, spec) in enumerate(chosen):
                    for mode in rotated(modes, round_number):
                        run = f"ab-{round_number}-{number}-{mode}"
                        result = measure(on_fresh_sqlite({**spec, "mode": mode}, tmp, run))
                        if result["otel_loaded"] != (mode in ("api", "sdk")):
                            raise RuntimeError(f"{mode}: opentelemetry loaded: {result}")
                        results.setdefault((label, mode), []).append(result)
                        print(
                            f"round {round_number + 1} {label} {mode}: {result['rate']:.0f}/s, "
                            f"{result['cpu_us']:.1f} us CPU each",
                            file=sys.stderr,
                            flush=True,
                        )
    finally:
        sink_process.terminate()
        sink_process.wait()
    report(chosen, modes, results)


def report(
    chosen: list[tuple[str, dict[str, Any]]],
    modes: list[str],
    results: dict[tuple[str, str], list[dict[str, Any]]],
) -> None:
    """Print the medians per workload and mode, each with its ratio to ``off``.

    Two tables: the rate (events/s for the publish rows, deliveries/s for the
    backlog rows), and the worker's CPU time (all its threads) per event or
    delivery, which a busy machine disturbs less than the rate.
    """
    for key, title, form in (
        ("rate", "medians, events/s (publish) or deliveries/s (backlog); (x off)", ".0f"),
        ("cpu_us", "medians, worker CPU us per event or delivery; (x off)", ".1f"),
    ):
        print(title)
        print(f"{'workload':40}" + "".join(f"{mode:>18}" for mode in modes))
        for label, _ in chosen:
            medians = {
                mode: statistics.median(r[key] for r in results[(label, mode)]) for mode in modes
            }
            base = medians.get("off")
            cells = []
            for mode in modes:
                ratio = f" ({medians[mode] / base:.2f})" if base else ""
                cells.append(f"{medians[mode]:>11{form}}{ratio:>7}")
            print(f"{label:40}" + "".join(cells))
        print()


if __name__ == "__main__":
    main()
