"""What ``hookwire demo`` shows: the record of a run, its live view and its summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from hookwire.sender import WEBHOOK_FAILING, WEBHOOK_RECOVERED, OperatorEvent

from ._demo_listener import DemoListener, Seen

__all__ = ["Published", "Run", "operator_line", "print_summary", "request_line", "view"]

STATUS_STYLES: Final = {
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
    request id, as last read from the store; ``operator`` holds the operator
    events the sender's callback got, in order.
    """

    published: list[Published] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)
    requests: dict[str, str] = field(default_factory=dict)
    operator: list[OperatorEvent] = field(default_factory=list)

    @property
    def operator_settled(self) -> bool:
        """No webhook is left failing: a failing run was followed by its recovery."""
        names = [event.name for event in self.operator]
        return WEBHOOK_FAILING not in names or WEBHOOK_RECOVERED in names

    @property
    def batch_ids(self) -> set[str]:
        """The ids of the batch (non-real-time) events published so far."""
        return {e.event_id for e in self.published if not e.realtime}


def short(msg_id: str) -> str:
    """Enough of a request id to tell the requests of one run apart.

    Ids start with a time-ordered part, so it is their random tail that differs.
    """
    prefix, sep, rest = msg_id.partition("_")
    return f"{prefix}_…{rest[-8:]}" if sep and len(rest) > 8 else msg_id


def view(run: Run, listener: DemoListener) -> Group:
    """The live table of deliveries, set off from the request lines above it."""
    return Group(Text(""), table(run, listener))


def table(run: Run, listener: DemoListener) -> Table:
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
            Text(status, style=STATUS_STYLES.get(status, "")),
            short(run.requests.get(event.event_id, "-")),
            Text(seen, style="green" if count else "dim"),
        )
    return table


def request_line(seen: Seen, batch_ids: set[str]) -> Text:
    colour = "green" if 200 <= seen.status < 300 else "red"
    count = len(seen.event_ids)
    line = Text(f"  {seen.at:5.2f}s  ")
    line.append(f"{seen.status}", style=f"bold {colour}")
    line.append(f"  {short(seen.msg_id)}  {count} event{'s' if count != 1 else ' '}  ")
    line.append(seen.note, style=colour)
    if seen.retry:
        line.append("  the retry, same webhook-id", style="cyan")
    elif seen.event_ids and all(event_id in batch_ids for event_id in seen.event_ids):
        line.append("  the batch flush", style="cyan")
    return line


def operator_line(event: OperatorEvent, at: float) -> Text:
    colour = "green" if event.name == WEBHOOK_RECOVERED else "yellow"
    line = Text(f"  {at:5.2f}s  ")
    line.append("operator  ", style="bold")
    line.append(event.name, style=f"bold {colour}")
    answer = event.status_code if event.status_code is not None else event.error
    line.append(f"  {short(event.webhook_id)}  after {answer}")
    return line


def print_summary(console: Console, summary: dict[str, Any]) -> None:
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
        ("operator events", ", ".join(summary["operatorEvents"]) or "none"),
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
