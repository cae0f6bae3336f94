"""Property: whatever bytes a target answers, the real dispatcher stays up, records every
attempt, and a healthy webhook beside the hostile one keeps its latency.

The hostile target is a raw TCP server that writes any status, any header names and
values (any Unicode, control characters included), any body, or plain garbage. The
healthy target answers 202. Both run on 127.0.0.1 beside a real dispatcher on a real
SQLite file.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sender_support import COMPLETED
from sqlalchemy import func, select

from hookwire.sender import RetryPolicy, Sender
from hookwire.sender.schema import attempts, deliveries

HOSTILE_ACCOUNT, HEALTHY_ACCOUNT = 1, 2
ACCEPTED = b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class Answer:
    """One raw HTTP answer: a status line, headers and a body, none of them checked."""

    status: int
    reason: str
    headers: Sequence[tuple[str, str]]
    body: bytes
    retry_after: str | None = None

    def raw(self) -> bytes:
        headers = [*self.headers]
        if self.retry_after is not None:
            headers.append(("Retry-After", self.retry_after))
        lines = [f"HTTP/1.1 {self.status} {self.reason}", *(f"{n}: {v}" for n, v in headers)]
        return b"\r\n".join(_encode(line) for line in lines) + b"\r\n\r\n" + self.body


_text = st.text(max_size=40)
_retry_after = st.one_of(
    _text,
    st.sampled_from(["²", "٣", "１２", "-1", "1e9", "9" * 80, "Fri, 31 Dec 9999 23:59:59 GMT"]),
)
_headers = st.lists(
    st.one_of(
        st.tuples(st.text(min_size=1, max_size=20), _text),
        st.tuples(st.just("Content-Length"), st.sampled_from(["0", "5", "-1", "99999999", "x"])),
        st.tuples(st.just("Transfer-Encoding"), st.sampled_from(["chunked", "gzip", "ö"])),
        st.tuples(st.just("Content-Encoding"), st.sampled_from(["gzip", "br", "deflate"])),
    ),
    max_size=5,
)
_answers = st.one_of(
    st.builds(
        Answer,
        status=st.one_of(
            st.sampled_from([429, 503]),  # the statuses whose Retry-After is read
            st.sampled_from([200, 202, 301, 400, 410, 413, 500]),
            st.integers(min_value=0, max_value=1200),
        ),
        reason=st.text(max_size=20),
        headers=_headers,
        body=st.binary(max_size=300),
        retry_after=st.one_of(st.none(), _retry_after),
    ).map(Answer.raw),
    st.binary(max_size=200),  # not HTTP at all
)


class Target:
    """A raw TCP target: reads one request per connection, writes the next scripted answer."""

    def __init__(self, answers: Sequence[bytes] = ()) -> None:
        self.answers = deque(answers)
        self.requests = 0
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            found = _LENGTH.search(head)
            await reader.readexactly(int(found.group(1)) if found else 0)
            self.requests += 1
            writer.write(self.answers.popleft() if self.answers else ACCEPTED)
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
        return server


def _recorded(sender: Sender, webhook_id: str) -> int:
    with sender.engine.connect() as conn:
        query = select(func.count()).where(attempts.c.webhook_id == webhook_id)
        return int(conn.execute(query).scalar_one())


def _statuses(sender: Sender, webhook_id: str) -> set[str]:
    with sender.engine.connect() as conn:
        query = select(deliveries.c.status).where(deliveries.c.webhook_id == webhook_id)
        return set(conn.execute(query).scalars())


async def _scenario(sender: Sender, hostile: Target, healthy: Target) -> None:
    servers = [await hostile.start(), await healthy.start()]
    try:
        hooks = {}
        for target, account in ((hostile, HOSTILE_ACCOUNT), (healthy, HEALTHY_ACCOUNT)):
            hooks[account] = sender.webhooks.create(
                name="t", target_url=target.url, events=["COURSE_COMPLETED"], account_id=account
            ).id
        for account in (HOSTILE_ACCOUNT, HEALTHY_ACCOUNT) * 3:
            sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=account)
        async with asyncio.timeout(60):
            await sender.drain()  # raises if the dispatcher died
        hostile_hook, healthy_hook = hooks[HOSTILE_ACCOUNT], hooks[HEALTHY_ACCOUNT]
        assert _recorded(sender, hostile_hook) >= hostile.requests
        assert _statuses(sender, healthy_hook) == {"succeeded"}
        healthy_attempts = sender.deliveries.get(
            sender.deliveries.list(webhook_id=healthy_hook)[0].id
        ).attempts
        assert all(a.status_code == 202 for a in healthy_attempts)
        assert max(a.latency_ms for a in healthy_attempts) < 1000
        # Still up: a new event for the healthy webhook goes out in the next drain.
        sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=HEALTHY_ACCOUNT)
        await sender.drain()
        assert _statuses(sender, healthy_hook) == {"succeeded"}
    finally:
        for server in servers:
            server.close()
            await server.wait_closed()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(script=st.lists(_answers, min_size=1, max_size=6))
@example(script=[Answer(503, "Service Unavailable", [], b"", retry_after="²").raw()])
def test_any_target_answer_leaves_the_dispatcher_up_and_every_attempt_recorded(
    script: list[bytes],
) -> None:
    retry = RetryPolicy(delays=[0], then_every=0, jitter=0, max_retry_after=0)
    with tempfile.TemporaryDirectory() as folder:
        sender = Sender(
            f"sqlite:///{Path(folder) / 'hookwire.db'}",
            retry=retry,
            allow_private_targets=True,
            connect_timeout=0.5,
            read_timeout=0.5,
            lease_seconds=5,
        )
        try:
            asyncio.run(_scenario(sender, Target(script), Target()))
        finally:
            sender.close()
