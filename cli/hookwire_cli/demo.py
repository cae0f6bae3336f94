"""``hookwire demo``: the whole loop on this machine, in a few seconds.

A sender on a temporary SQLite store, a verifying listener on a free
127.0.0.1 port (it refuses the first request once with 503, so one retry
shows), a webhook with signature auth, real-time and batch events published,
a live view of the deliveries and a closing summary. Nothing but the
installed package is needed.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import click
from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from hookwire import Receiver, event_spec
from hookwire.samples import sample_data
from hookwire.sender import RetryPolicy, Sender, Webhook

from ._common import echo_json, json_option
from ._demo_listener import DemoListener, Seen, start_listener
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
_STATUS_STYLES: Final = {
    "pending": "yellow",
    "failed": "red",
    "succeeded": "green",
    "dead": "magenta",
}


@dataclass
class Published:
    """One event the demo published."""

    event_id: str
    name: str
    realtime: bool


@dataclass
class Run:
    """Everything the demo did, for the live view and the summary.

    ``statuses`` and ``requests`` map event ids to their delivery's status and
    request id, as last read from the store.
    """

    published: list[Published] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)
    requests: dict[str, str] = field(default_factory=dict)

    @property
    def batch_ids(self) -> set[str]:
        """The ids of the batch (non-real-time) events published so far."""
        return {e.event_id for e in self.published if not e.realtime}


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


def _short(msg_id: str) -> str:
    """Enough of a request id to tell the requests of one run apart.

    Ids start with a time-ordered part, so it is their random tail that differs.
    """
    prefix, sep, rest = msg_id.partition("_")
    return f"{prefix}_…{rest[-8:]}" if sep and len(rest) > 8 else msg_id


def _view(run: Run, listener: DemoListener) -> Group:
    """The live table of deliveries, set off from the request lines above it."""
    return Group(Text(""), _table(run, listener))


def _table(run: Run, listener: DemoListener) -> Table:
    table = Table(
        title="Deliveries",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1, 0, 0),
        show_edge=False,
    )
    for column in ("#", "event", "kind", "status", "request", "listener"):
        table.add_column(column, no_wrap=True)
    for number, event in enumerate(run.published, start=1):
        status = run.statuses.get(event.event_id, "pending")
        count = listener.verified.get(event.event_id, 0)
        seen = "verified" if count == 1 else (f"verified x{count}" if count else "-")
        table.add_row(
            str(number),
            event.name,
            "real-time" if event.realtime else "batch",
            Text(status, style=_STATUS_STYLES.get(status, "")),
            _short(run.requests.get(event.event_id, "-")),
            Text(seen, style="green" if count else "dim"),
        )
    return table


def _request_line(seen: Seen, batch_ids: set[str]) -> Text:
    colour = "green" if 200 <= seen.status < 300 else "red"
    count = len(seen.event_ids)
    line = Text(f"  {seen.at:5.2f}s  ")
    line.append(f"{seen.status}", style=f"bold {colour}")
    line.append(f"  {_short(seen.msg_id)}  {count} event{'s' if count != 1 else ' '}  ")
    line.append(seen.note, style=colour)
    if seen.retry:
        line.append("  the retry, same webhook-id", style="cyan")
    elif seen.event_ids and all(event_id in batch_ids for event_id in seen.event_ids):
        line.append("  the batch flush", style="cyan")
    return line


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
        "\nThe listener answers the first request with 503, once: watch the retry.\n"
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
            live.update(_view(run, listener))
        if _finished(run, listener):
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
        if show:
            _print_setup(console, directory, url, hook)
        dispatcher = asyncio.create_task(sender.run_dispatcher(stop))
        live = Live(_view(run, listener), console=console, refresh_per_second=10) if show else None
        with live or nullcontext():
            if live is not None:
                printer = live.console
                listener.on_request.append(
                    lambda seen: printer.print(_request_line(seen, run.batch_ids))
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
        "seconds": round(seconds, 2),
        "listener": url,
        "webhookId": webhook_id,
    }


def _print_summary(console: Console, summary: dict[str, Any]) -> None:
    published = summary["eventsPublished"]
    # The live view leaves the cursor at the end of its last line: end it, then leave a gap.
    console.print()
    console.print("\n[bold]Summary[/]")
    rows = (
        (
            "events published",
            f"{published} ({summary['realtime']} real-time, {summary['batch']} batch)",
        ),
        ("requests", f"{summary['requests']} ({summary['retries']} retried)"),
        (
            "delivered",
            f"{summary['deliveries']['succeeded']} of {published} succeeded"
            + (f", {summary['duplicates']} duplicates" if summary["duplicates"] else ""),
        ),
        (
            "verified",
            f"{summary['verified']} of {published} events, {summary['rejected']} rejected",
        ),
        ("time", f"{summary['seconds']:.1f} s"),
    )
    for label, value in rows:
        console.print(f"  {label:<17} {value}")
    if summary["ok"]:
        console.print(
            f"\n[bold green]✓ All {published} events delivered and verified "
            f"in {summary['seconds']:.1f} s.[/]"
        )
    else:
        console.print("\n[bold red]✗ Not every event was delivered and verified.[/]")


@click.command()
@click.option("--keep", is_flag=True, help="Keep the demo's store and print where it is.")
@click.option("--seed", type=int, help="Seed the sample data, to publish the same events again.")
@json_option
def demo(*, keep: bool, seed: int | None, as_json: bool) -> None:
    """Run the whole webhook loop on this machine in a few seconds.

    A sender on a temporary SQLite store delivers real-time and batch events
    to a verifying listener on 127.0.0.1, with signature auth. The listener
    refuses the first request once (503, Retry-After: 1) so one retry shows.
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
        _print_summary(console, summary)
        if keep:
            # One line whatever the width, so the command can be copied; the path is not markup.
            console.print(
                f"\nThe store is kept: hookwire deliveries list --db {summary['database']}",
                soft_wrap=True,
                markup=False,
            )
    if not summary["ok"]:
        raise click.exceptions.Exit(1)
