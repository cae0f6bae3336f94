"""What a set of arrived events lacks: the checks behind WebhookTarget's assertions.

Each function returns the words of the problem, or ``""`` when there is none.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import pairwise

from ..events import Envelope, Event

__all__ = ["order_problem", "received_problems", "repeated"]


def repeated(events: Sequence[Event]) -> str:
    """The eventIds that arrived more than once, with their counts: ``b (2 times)``."""
    counts = Counter(event.event_id for event in events)
    return ", ".join(f"{i} ({n} times)" for i, n in counts.items() if n > 1)


def received_problems(expected: Sequence[str], events: Sequence[Event]) -> str:
    """How ``events`` differ from ``expected`` arriving once each: missing, repeated, unexpected."""
    arrived = {event.event_id for event in events}
    wanted = set(expected)
    missing = [i for i in expected if i not in arrived]
    unexpected = list(dict.fromkeys(e.event_id for e in events if e.event_id not in wanted))
    problems = []
    if missing:
        problems.append(f"missing: {', '.join(missing)}")
    twice = repeated(events)
    if twice:
        problems.append(f"arrived more than once: {twice}")
    if unexpected:
        problems.append(f"not expected: {', '.join(unexpected)}")
    return "; ".join(problems)


def _first_arrivals(envelopes: Sequence[Envelope]) -> dict[int, list[Event]]:
    """Each account's events in arrival order, redeliveries left out."""
    per_account: dict[int, list[Event]] = {}
    seen: set[str] = set()
    for envelope in envelopes:
        for event in envelope.events:
            if event.event_id not in seen:
                seen.add(event.event_id)
                per_account.setdefault(envelope.account_id, []).append(event)
    return per_account


def order_problem(envelopes: Sequence[Envelope], event_ids: Sequence[str] | None) -> str:
    """The first event out of place in its account: by ``event_ids`` if given, else by timestamp."""
    rank = None if event_ids is None else {event_id: n for n, event_id in enumerate(event_ids)}
    for account, events in _first_arrivals(envelopes).items():
        ranked = [e for e in events if rank is None or e.event_id in rank]
        order = ", ".join(e.event_id for e in ranked)
        for before, after in pairwise(ranked):
            if rank is not None and rank[after.event_id] < rank[before.event_id]:
                return (
                    f"account {account}: {after.event_id} arrived after {before.event_id}, "
                    f"but was expected before it; arrival order: {order}"
                )
            if rank is None and after.timestamp < before.timestamp:
                return (
                    f"account {account}: {after.event_id} ({after.timestamp.isoformat()}) "
                    f"arrived after {before.event_id} ({before.timestamp.isoformat()}); "
                    f"arrival order: {order}"
                )
    return ""
