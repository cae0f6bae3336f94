"""Shared helpers of the sender tests: the HTTP sink, a hand-moved clock, sample data."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from hookwire.sender import RetryPolicy, Sender

COMPLETED = {"userId": 7, "loId": "course:1", "loInstanceId": "course:1_1", "hasPassed": True}
PROGRESS = {"userId": 7, "loId": "course:1", "loInstanceId": "course:1_1", "progressPercent": 40}


class FakeClock:
    """A clock the test moves by hand; starts at the real time so signatures stay fresh."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Received:
    """One request the sink got."""

    headers: CIMultiDict[str]
    body: bytes

    @property
    def envelope(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def event_ids(self) -> list[str]:
        return [e["eventId"] for e in self.envelope["events"]]


Reply = web.StreamResponse | Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Sink:
    """An aiohttp server that records every POST and answers from a script (202 after it)."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    script: deque[Reply] = field(default_factory=deque)

    def answer(self, *replies: Reply) -> None:
        self.script.extend(replies)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.received.append(Received(CIMultiDict(request.headers), await request.read()))
        if not self.script:
            return web.Response(status=202)
        reply = self.script.popleft()
        if isinstance(reply, web.StreamResponse):
            return reply
        return await reply(request)

    @property
    def event_ids(self) -> list[str]:
        return [eid for r in self.received for eid in r.event_ids]


TEST_RETRY = RetryPolicy(delays=[5, 10], then_every=60, jitter=0, max_age=timedelta(hours=1))


def hook_for(sender: Sender, sink: Sink, **options: Any) -> str:
    """Register a webhook for COURSE_COMPLETED and LEARNER_PROGRESS on account 1; its id."""
    options.setdefault("name", "test hook")
    options.setdefault("events", ["COURSE_COMPLETED", "LEARNER_PROGRESS"])
    options.setdefault("account_id", 1)
    options.setdefault("auth", "signature")
    return sender.webhooks.create(target_url=sink.url, **options).id
