"""Reading the delivery log never takes SQLite's write lock: the console and the API read
while the dispatcher (or any writer) holds it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest
from sender_support import COMPLETED

from hookwire.sender import Sender


@pytest.mark.timeout(20)
def test_pages_and_stats_read_while_another_connection_holds_the_write_lock(
    make_sender: Callable[..., Sender],
) -> None:
    sender = make_sender()
    hook = sender.webhooks.create(
        name="h", target_url="http://127.0.0.1:9/h", events=["COURSE_COMPLETED"], account_id=1
    )
    sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    with sender.engine.connect() as writer:
        writer.exec_driver_sql("SELECT 1")  # begins with BEGIN IMMEDIATE: holds the write lock
        probe = sqlite3.connect(str(sender.engine.url.database), timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            probe.execute("BEGIN IMMEDIATE")
        probe.close()

        # Were they to ask for the write lock, each would wait out the 30 s busy timeout.
        page = sender.deliveries.page(account_id=1)
        events = sender.events.page(account_id=1)
        stats = sender.deliveries.stats(hook.id)

    assert [d.webhook_id for d in page.items] == [hook.id]
    assert len(events.items) == 1
    assert stats.queue_depth == 1
