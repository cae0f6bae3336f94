"""The delivery rows publish writes on SQLite hold the same datetime text as every other row."""

from __future__ import annotations

from collections.abc import Callable

from sender_support import COMPLETED, FakeClock, Sink, hook_for
from sqlalchemy import text

from hookwire.sender import Sender

MakeSender = Callable[..., Sender]


def test_sqlite_delivery_rows_store_their_times_as_the_event_row_does(
    make_sender: MakeSender, sink: Sink, clock: FakeClock
) -> None:
    sender = make_sender()
    hook_for(sender, sink)
    hook_for(sender, sink, name="second hook")
    clock.advance(0.123456)
    sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    with sender.engine.connect() as conn:
        (event_created,) = conn.execute(text("SELECT created_at FROM hookwire_events")).one()
        stored = conn.execute(
            text("SELECT created_at, due_at, updated_at FROM hookwire_deliveries")
        ).all()
    assert event_created.endswith(".123456")
    assert [tuple(row) for row in stored] == [(event_created,) * 3] * 2
    assert [d.created_at for d in sender.deliveries.list()] == [clock()] * 2
