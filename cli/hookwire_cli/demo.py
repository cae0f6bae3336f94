"""``hookwire demo``: the whole loop on this machine, in a few seconds.

A sender on a temporary SQLite store, a verifying listener on a free
127.0.0.1 port (it refuses the first request once with 503, so one retry
shows), a webhook with signature auth, real-time and batch events published,
a live view of the deliveries and a closing summary. The refusal and the retry
also show the sender's operator events: the webhook starts failing, then
recovers, and a callback on the sender prints each. Nothing but the installed
package is needed.
"""

from __future__ import annotations

import asyncio
import logging
import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Final

import click
from rich.console import Console
from rich.live import Live

from hookwire import Receiver, event_spec
from hookwire.samples import sample_data
from hookwire.sender import (
    OperatorEvent,
    RetryPolicy,
    Sender,
    Webhook,
)

from ._common import echo_json, json_option
from ._demo_listener import DemoListener, start_listener
from ._demo_view import Published, Run, operator_line, print_summary, request_line, view
from ._store import database_errors

__all__ = ["DEMO_EVENTS", "demo"]

#: What the demo publishes, in order: real-time events go out at once, batch ones at the flush.
DEMO_EVENTS: Final = (
    "COURSE_ENROLLMENT",
    "LEARNER_PROGRESS",
    "COURSE_COMPLETED",
    "LEARNER_PROGRESS",
    "CERTIFICATION_ENROLLMENT",
    "COURSE_COMPLETED_BATCH",
    "LEARNING_PATH_COMPLETED",
    "LEARNER_PROGRESS",
)
_ACCOUNT: Final = 1010
_BATCH_INTERVAL: Final = 2.0
_PUBLISH_GAP: Final = 0.25
_DEADLINE: Final = 17.0


@contextmanager
def _quiet_sender_log() -> Iterator[None]:
    """The view reports every attempt; the sender's own log lines would repeat them."""
    logger = logging.getLogger("hookwire.sender")
    handler = logging.NullHandler()
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _make_sender(directory: Path) -> Sender:
    return Sender(
        f"sqlite:///{directory / 'hookwire.db'}",
        allow_private_targets=True,
        batch_interval=_BATCH_INTERVAL,
        retry=RetryPolicy(delays=(1, 2, 4), then_every=4, jitter=0),
        connect_timeout=2,
        read_timeout=2,
        lease_seconds=10,
        poll_interval=0.1,
    )


async def _refresh(sender: Sender, webhook_id: str, run: Run) -> None:
    found = await asyncio.to_thread(sender.deliveries.list, webhook_id, None, 1000)
    for delivery in found:
        run.statuses[delivery.event_id] = delivery.status
        if delivery.request_id:
            run.requests[delivery.event_id] = delivery.request_id


def _finished(run: Run, listener: DemoListener) -> bool:
    return len(run.statuses) == len(DEMO_EVENTS) and all(
        run.statuses.get(e.event_id) == "succeeded" and e.event_id in listener.verified
        for e in run.published
    )


def _register(sender: Sender, url: str, directory: Path) -> tuple[Webhook, Receiver]:
    """The demo's webhook, and a receiver reading its downloaded signature file."""
    hook = sender.webhooks.create(
        name="demo listener",
        target_url=url,
        events=sorted(set(DEMO_EVENTS)),
        auth="signature",
        account_id=_ACCOUNT,
    )
    signature_path = directory / "signature.json"
    sender.webhooks.signature_file(hook.id).write(signature_path)
    return hook, Receiver(signature_file=str(signature_path))


def _print_setup(console: Console, directory: Path, url: str, hook: Webhook) -> None:
    console.print(f"  [bold]store[/]     sqlite:///{directory / 'hookwire.db'}")
    console.print(f"  [bold]listener[/]  {url}  (verifies with the signature file)")
    console.print(f"  [bold]webhook[/]   {hook.id}  signature auth, {len(hook.events)} event names")
    realtime = sum(1 for name in DEMO_EVENTS if event_spec(name).realtime)
    console.print(
        f"\n[bold]Publishing {realtime} real-time events[/] (sent at once) and "
        f"[bold]{len(DEMO_EVENTS) - realtime} batch events[/] (every {_BATCH_INTERVAL:g} s)."
        "\nThe listener answers the first request with 503, once: watch the retry,"
        "\nand the operator events the sender emits as the webhook fails and recovers.\n"
    )


async def _publish_all(sender: Sender, run: Run, seed: int | None) -> None:
    """Publish the demo's events a moment apart, so the live view shows them arrive."""
    rng = random.Random(seed)
    for name in DEMO_EVENTS:
        stored = await asyncio.to_thread(
            sender.publish, name, data=sample_data(name, rng), account_id=_ACCOUNT
        )
        run.published.append(Published(stored.event_id, name, event_spec(name).realtime))
        await asyncio.sleep(_PUBLISH_GAP)


async def _watch(
    sender: Sender, hook: Webhook, run: Run, listener: DemoListener, live: Live | None
) -> None:
    """Follow the deliveries until all are delivered and verified, or the deadline passes."""
    while time.monotonic() - listener.started < _DEADLINE:
        await _refresh(sender, hook.id, run)
        if live is not None:
            live.update(view(run, listener))
        if _finished(run, listener) and run.operator_settled:
            return
        await asyncio.sleep(0.1)


async def _loop(
    console: Console, directory: Path, *, show: bool, seed: int | None
) -> dict[str, Any]:
    listener = DemoListener(started=time.monotonic())
    runner, url = await start_listener(listener)
    sender = _make_sender(directory)
    stop = asyncio.Event()
    run = Run()
    dispatcher: asyncio.Task[None] | None = None
    try:
        hook, receiver = _register(sender, url, directory)
        listener.verify_with(receiver)
        loop = asyncio.get_running_loop()

        def note(event: OperatorEvent) -> None:
            run.operator.append(event)
            if show:  # above the live view while it runs
                console.print(operator_line(event, time.monotonic() - listener.started))

        # Callbacks run on the dispatcher's store thread: hand each event to the loop.
        sender.on_operator_event(lambda event: loop.call_soon_threadsafe(note, event))
        if show:
            _print_setup(console, directory, url, hook)
        dispatcher = asyncio.create_task(sender.run_dispatcher(stop))
        live = Live(view(run, listener), console=console, refresh_per_second=10) if show else None
        with live or nullcontext():
            if live is not None:
                printer = live.console
                listener.on_request.append(
                    lambda seen: printer.print(request_line(seen, run.batch_ids))
                )
            await _publish_all(sender, run, seed)
            await _watch(sender, hook, run, listener, live)
        counts = sender.deliveries.counts(hook.id)
    finally:
        # The dispatcher finishes what is in flight before the store closes under it.
        stop.set()
        if dispatcher is not None:
            await dispatcher
        sender.close()
        await runner.cleanup()
    return _summary(
        run=run,
        listener=listener,
        counts=counts,
        seconds=time.monotonic() - listener.started,
        url=url,
        webhook_id=hook.id,
    )


def _summary(
    *,
    run: Run,
    listener: DemoListener,
    counts: dict[str, int],
    seconds: float,
    url: str,
    webhook_id: str,
) -> dict[str, Any]:
    realtime = sum(1 for e in run.published if e.realtime)
    verified = sum(1 for e in run.published if e.event_id in listener.verified)
    ok = _finished(run, listener) and listener.rejected == 0
    return {
        "ok": ok,
        "eventsPublished": len(run.published),
        "realtime": realtime,
        "batch": len(run.published) - realtime,
        "requests": len(listener.requests),
        "retries": sum(1 for seen in listener.requests if seen.retry),
        "deliveries": counts,
        "verified": verified,
        "duplicates": sum(n - 1 for n in listener.verified.values()),
        "rejected": listener.rejected,
        "operatorEvents": [event.name for event in run.operator],
        "seconds": round(seconds, 2),
        "listener": url,
        "webhookId": webhook_id,
    }


@click.command()
@click.option("--keep", is_flag=True, help="Keep the demo's store and print where it is.")
@click.option("--seed", type=int, help="Seed the sample data, to publish the same events again.")
@json_option
def demo(*, keep: bool, seed: int | None, as_json: bool) -> None:
    """Run the whole webhook loop on this machine in a few seconds.

    A sender on a temporary SQLite store delivers real-time and batch events
    to a verifying listener on 127.0.0.1, with signature auth. The listener
    refuses the first request once (503, Retry-After: 1) so one retry shows,
    with the operator events it causes (the webhook failing, then recovered).
    You watch the deliveries live and get a summary; the exit status is 0
    only if every event was delivered and verified.

    \b
    Examples:
      hookwire demo
      hookwire demo --json
      hookwire demo --keep     # then: hookwire deliveries list --db sqlite:///<dir>/hookwire.db
    """
    console = Console(highlight=False)
    directory = Path(tempfile.mkdtemp(prefix="hookwire-demo-"))
    if not as_json:
        console.print("[bold]hookwire demo[/]: a sender, a listener and real deliveries\n")
    try:
        with _quiet_sender_log(), database_errors():
            summary = asyncio.run(_loop(console, directory, show=not as_json, seed=seed))
    finally:
        if not keep:
            shutil.rmtree(directory)
    if keep:
        summary["database"] = f"sqlite:///{directory / 'hookwire.db'}"
    if as_json:
        echo_json(summary)
    else:
        print_summary(console, summary)
        if keep:
            # One line whatever the width, so the command can be copied; the path is not markup.
            console.print(
                f"\nThe store is kept: hookwire deliveries list --db {summary['database']}",
                soft_wrap=True,
                markup=False,
            )
    if not summary["ok"]:
        raise click.exceptions.Exit(1)
