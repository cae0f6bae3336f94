"""What ends a dispatcher's sleep between turns: see :class:`Signals`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime

from ..store import Store
from ..work import Outcome
from . import watch

__all__ = ["Signals", "Wakers"]

Wakers = set[Callable[[], None]]
"""Callbacks that ``publish`` calls so dispatchers in this process look for work at once."""


class Signals:
    """What ends a dispatcher's wait: an attempt landing, new work, ``stop``.

    New work is a publish in this process (the ``wakers``) or, given the
    ``store`` and the dispatcher's ``clock``, one committed by another process
    (a watch from :func:`hookwire.sender.wake.watch`).
    Attempts report through done-callbacks rather than being waited on each
    turn, so a turn costs the same however many requests are in flight.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        stop: asyncio.Event | None,
        wakers: Wakers,
        store: Store | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.wake = asyncio.Event()
        self._watch = None
        if store is not None and clock is not None:
            self._watch = watch(store, self.wake.set, clock)
        self._landed: list[asyncio.Task[Outcome]] = []
        self._wakers = wakers
        self._stopped = asyncio.ensure_future(stop.wait()) if stop is not None else None
        if self._stopped is not None:
            self._stopped.add_done_callback(lambda _: self.wake.set())

        def waker() -> None:
            try:
                loop.call_soon_threadsafe(self.wake.set)
            except RuntimeError:
                # The loop has closed; the dispatcher is gone.
                wakers.discard(waker)

        self._waker = waker
        wakers.add(waker)

    def rearm(self) -> None:
        """Before a claim: forget the wakes this claim answers, and note the store's state,
        so that anything committed from here on ends the next wait."""
        self.wake.clear()
        if self._watch is not None:
            self._watch.mark()

    def land(self, task: asyncio.Task[Outcome]) -> None:
        """A done-callback for attempt tasks."""
        self._landed.append(task)
        self.wake.set()

    def outcomes(self) -> list[Outcome]:
        """The outcomes of the attempts landed since the last call."""
        landed, self._landed = self._landed, []
        return [task.result() for task in landed]

    async def wait(self, seconds: float, *, idle: bool = False) -> None:
        """Until something wakes us, or for at most ``seconds``.

        An ``idle`` dispatcher (nothing in flight) also watches the store for
        work committed by other processes; a busy one looks at every landing.
        """
        if not self.wake.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    if idle and self._watch is not None:
                        await self._watch.until_changed(self.wake)
                    else:
                        await self.wake.wait()

    def close(self) -> None:
        """Stop listening for publishes, other processes' work and ``stop``."""
        self._wakers.discard(self._waker)
        if self._watch is not None:
            self._watch.close()
        if self._stopped is not None:
            self._stopped.cancel()
