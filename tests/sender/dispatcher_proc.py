"""One hookwire dispatcher in a process of its own, for the crash tests.

Usage::

    python dispatcher_proc.py DATABASE_URL --log FILE [--lease 2] [--concurrency 64]
                              [--max-batch 10]

It runs ``Sender.run_dispatcher`` with short timeouts, a short lease and fast
retries until SIGTERM (it then finishes what is in flight and exits 0) or until
the test kills it with SIGKILL. Every attempt the dispatcher logs goes to
``FILE`` as one JSON line (its structured attempt fields), so the test can tell
which process sent what.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from datetime import timedelta

from hookwire.sender import ATTEMPT_LOG_FIELD, RetryPolicy, Sender

# One attempt lasts at most connect + 2 * read = 1.9 s, inside the 2 s lease.
CONNECT_TIMEOUT = 0.5
READ_TIMEOUT = 0.7
FAST_RETRY = RetryPolicy(delays=[0.2], then_every=0.2, jitter=0, max_age=timedelta(hours=1))


async def dispatch(url: str, *, lease: float, concurrency: int, max_batch: int) -> None:
    """Run a dispatcher on ``url`` until SIGTERM."""
    sender = Sender(
        url,
        retry=FAST_RETRY,
        max_batch=max_batch,
        allow_private_targets=True,
        lease_seconds=lease,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        concurrency=concurrency,
        poll_interval=0.05,
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await sender.run_dispatcher(stop)
    finally:
        sender.close()


class _AttemptLine(logging.Formatter):
    """One attempt's structured fields as a JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(getattr(record, ATTEMPT_LOG_FIELD))


def main() -> None:
    """Parse the arguments, log attempts to the file, and dispatch."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--log", required=True)
    parser.add_argument("--lease", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--max-batch", type=int, default=10)
    args = parser.parse_args()
    handler = logging.FileHandler(args.log)
    handler.addFilter(lambda record: hasattr(record, ATTEMPT_LOG_FIELD))
    handler.setFormatter(_AttemptLine())
    logger = logging.getLogger("hookwire.sender")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    asyncio.run(
        dispatch(args.url, lease=args.lease, concurrency=args.concurrency, max_batch=args.max_batch)
    )


if __name__ == "__main__":
    main()
