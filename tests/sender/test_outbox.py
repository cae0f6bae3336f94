"""sender.publish: validation, fan-out, idempotency and the transactional outbox."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sender_support import COMPLETED, Sink, hook_for
from sqlalchemy import event, inspect, text

from hookwire.errors import ConfigurationError, PayloadError, UnknownEventError
from hookwire.sender import Published, Sender
from hookwire.sender.schema import SCHEMA_VERSION


@pytest.fixture
def outbox_sender(make_sender: Callable[..., Sender], store_url: str) -> Sender:
    return make_sender(store_url)


def subscribed_among_others(sender: Sender, sink: Sink) -> tuple[str, str]:
    """Two active webhooks of account 1 subscribed to COURSE_COMPLETED, and three that are
    not (subscribed to another name, of another account, retired); the two's ids."""
    first = hook_for(sender, sink)
    second = hook_for(sender, sink, auth=None)
    hook_for(sender, sink, events=["CI_STATS"])
    hook_for(sender, sink, account_id=2)
    sender.webhooks.retire(hook_for(sender, sink))
    return first, second


def test_event_fans_out_to_each_active_subscribed_webhook_of_the_account(
    outbox_sender: Sender, sink: Sink
) -> None:
    first, second = subscribed_among_others(outbox_sender, sink)
    outbox_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    assert {d.webhook_id for d in outbox_sender.deliveries.list()} == {first, second}


def test_a_changed_event_list_decides_the_fan_out_of_later_publishes(
    outbox_sender: Sender, sink: Sink
) -> None:
    # Event lists are parsed once per distinct stored text; an update stores a new one.
    hooks = [hook_for(outbox_sender, sink, name=f"hook {n}") for n in range(3)]
    outbox_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    outbox_sender.webhooks.update(hooks[1], events=["CI_STATS"])
    later = outbox_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    got = {d.webhook_id for d in outbox_sender.deliveries.list() if d.event_id == later}
    assert got == {hooks[0], hooks[2]}


def test_publish_returns_the_stored_event_id(outbox_sender: Sender) -> None:
    event_id = outbox_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    stored = outbox_sender.events.get(event_id)
    assert stored.name == "COURSE_COMPLETED"
    assert stored.data["loInstanceId"] == "course:1_1"


def test_data_is_stored_in_wire_form_from_python_names(outbox_sender: Sender) -> None:
    event_id = outbox_sender.publish(
        "COURSE_COMPLETED",
        data={"user_id": 1, "lo_id": "course:1", "lo_instance_id": "course:1_1"},
        account_id=1,
    ).event_id
    assert outbox_sender.events.get(event_id).data == {
        "userId": 1,
        "loId": "course:1",
        "loInstanceId": "course:1_1",
    }


def test_caller_timestamp_is_kept(outbox_sender: Sender) -> None:
    moment = datetime(2024, 11, 8, 3, 49, 52, tzinfo=UTC)
    event_id = outbox_sender.publish(
        "COURSE_COMPLETED", data=COMPLETED, account_id=1, timestamp=moment
    ).event_id
    assert outbox_sender.events.get(event_id).timestamp == moment


def test_same_event_id_is_stored_once(outbox_sender: Sender, sink: Sink) -> None:
    hook_for(outbox_sender, sink)
    for _ in range(2):
        outbox_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1, event_id="evt-1")
    assert [e.id for e in outbox_sender.events.list()] == ["evt-1"]
    assert len(outbox_sender.deliveries.list()) == 1


def queued_for(sender: Sender, event_id: str) -> tuple[str, ...]:
    """The webhooks of an event's deliveries, in the order the deliveries were stored."""
    found = [d for d in sender.deliveries.list(limit=1000) if d.event_id == event_id]
    return tuple(d.webhook_id for d in sorted(found, key=lambda d: int(d.id[4:])))


def test_publish_returns_the_webhooks_it_queued_the_event_for_in_delivery_order(
    outbox_sender: Sender, sink: Sink
) -> None:
    first, second = subscribed_among_others(outbox_sender, sink)
    published = outbox_sender.publish(
        "COURSE_COMPLETED", data=COMPLETED, account_id=1, event_id="evt-fan"
    )
    assert published.event_id == "evt-fan"
    assert published.duplicate is False
    assert sorted(published.webhook_ids) == sorted([first, second])
    assert published.webhook_ids == queued_for(outbox_sender, "evt-fan")


def test_publish_with_no_subscriber_queues_nothing_and_is_no_duplicate(
    outbox_sender: Sender, sink: Sink
) -> None:
    hook_for(outbox_sender, sink, events=["CI_STATS"])
    published = outbox_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    assert published == Published(published.event_id, (), False)
    assert outbox_sender.events.get(published.event_id).name == "COURSE_COMPLETED"


def test_publishing_a_stored_id_again_is_a_duplicate_that_queues_nothing(
    outbox_sender: Sender, sink: Sink
) -> None:
    hook = hook_for(outbox_sender, sink)
    first = outbox_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1, event_id="d")
    again = outbox_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1, event_id="d")
    assert first == Published("d", (hook,), False)
    assert again == Published("d", (), True)
    assert queued_for(outbox_sender, "d") == (hook,)


def test_publish_inside_a_caller_transaction_reports_what_it_queued_there(
    outbox_sender: Sender, sink: Sink
) -> None:
    hook = hook_for(outbox_sender, sink)
    with outbox_sender.engine.begin() as conn:
        published = outbox_sender.publish(
            "COURSE_COMPLETED", data=COMPLETED, account_id=1, event_id="t", connection=conn
        )
        again = outbox_sender.publish(
            "COURSE_COMPLETED", data=COMPLETED, account_id=1, event_id="t", connection=conn
        )
    assert (published, again) == (Published("t", (hook,), False), Published("t", (), True))
    assert queued_for(outbox_sender, "t") == (hook,)


def _tables_touched(sender: Sender, publish: Callable[[], Any]) -> list[tuple[str, str]]:
    """(read or write, table) of each statement ``publish`` runs, BEGIN left out."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(sender.engine, "before_cursor_execute", record)
    try:
        publish()
    finally:
        event.remove(sender.engine, "before_cursor_execute", record)
    return [
        (
            "read" if statement.lstrip().upper().startswith("SELECT") else "write",
            re.findall(r"hookwire_\w+", statement)[0],
        )
        for statement in seen
        if not statement.lstrip().upper().startswith("BEGIN")
    ]


def test_publish_builds_its_record_from_the_rows_it_writes_without_another_query(
    outbox_sender: Sender, sink: Sink
) -> None:
    hook_for(outbox_sender, sink)

    def publish() -> Published:
        return outbox_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1, event_id="q")

    # The sender's first insert of deliveries on PostgreSQL also reads the store's schema, once.
    outbox_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1, event_id="first")
    assert _tables_touched(outbox_sender, publish) == [
        ("write", "hookwire_events"),
        ("read", "hookwire_webhooks"),
        ("write", "hookwire_deliveries"),
    ]
    assert _tables_touched(outbox_sender, publish) == [("write", "hookwire_events")]


def test_published_is_a_frozen_record() -> None:
    record = Published("e", ("wh_1",), False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.duplicate = True  # type: ignore[misc]


def test_unknown_event_name_is_refused_as_a_payload_error(outbox_sender: Sender) -> None:
    with pytest.raises(UnknownEventError, match="COURSE_DONE") as caught:
        outbox_sender.publish("COURSE_DONE", data=COMPLETED, account_id=1)
    assert isinstance(caught.value, PayloadError)
    assert (caught.value.event_name, caught.value.location) == ("COURSE_DONE", "eventName")


def test_invalid_data_names_the_bad_field(outbox_sender: Sender) -> None:
    with pytest.raises(PayloadError, match="userId") as caught:
        outbox_sender.publish(
            "COURSE_COMPLETED", data={"loId": "c", "loInstanceId": "c_1"}, account_id=1
        )
    assert caught.value.location == "data.userId"
    assert outbox_sender.events.list() == []


def test_publish_inside_a_rolled_back_transaction_stores_nothing(
    outbox_sender: Sender, sink: Sink
) -> None:
    hook_for(outbox_sender, sink)
    with outbox_sender.engine.connect() as conn, conn.begin() as transaction:
        outbox_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1, connection=conn)
        transaction.rollback()
    assert outbox_sender.events.list() == []
    assert outbox_sender.deliveries.list() == []


def test_publish_inside_a_committed_transaction_commits_with_it(
    outbox_sender: Sender, sink: Sink
) -> None:
    hook_for(outbox_sender, sink)
    with outbox_sender.engine.begin() as conn:
        conn.execute(text("SELECT 1"))
        event_id = outbox_sender.publish(
            "COURSE_COMPLETED", data=COMPLETED, account_id=1, connection=conn
        ).event_id
    assert outbox_sender.events.get(event_id).id == event_id
    assert len(outbox_sender.deliveries.list()) == 1


def test_events_list_is_newest_first_and_per_account(
    outbox_sender: Sender, clock: Callable[[], datetime]
) -> None:
    outbox_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1, event_id="a")
    clock.advance(1)  # type: ignore[attr-defined]
    outbox_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1, event_id="b")
    outbox_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=2, event_id="c")
    assert [e.id for e in outbox_sender.events.list(account_id=1)] == ["b", "a"]


def _recorded_version(sender: Sender) -> str | None:
    with sender.engine.connect() as conn:
        found = conn.execute(
            text("SELECT value FROM hookwire_meta WHERE key = 'schema_version'")
        ).scalar()
    return None if found is None else str(found)


def _record_version(sender: Sender, version: str) -> None:
    with sender.engine.begin() as conn:
        conn.execute(
            text("UPDATE hookwire_meta SET value = :v WHERE key = 'schema_version'"), {"v": version}
        )


def test_schema_version_is_recorded(outbox_sender: Sender) -> None:
    assert _recorded_version(outbox_sender) == str(SCHEMA_VERSION) == "4"


def test_a_version_1_database_is_upgraded_on_open_and_keeps_its_rows(
    make_sender: Callable[..., Sender], store_url: str
) -> None:
    old = make_sender(store_url)
    event_id = old.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    with old.engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_hookwire_attempts_webhook"))
    _record_version(old, "1")
    reopened = make_sender(store_url)
    assert _recorded_version(reopened) == str(SCHEMA_VERSION)
    assert reopened.events.get(event_id).name == "COURSE_COMPLETED"
    assert "ix_hookwire_attempts_webhook" in {
        index["name"] for index in inspect(reopened.engine).get_indexes("hookwire_attempts")
    }


def test_a_database_of_a_newer_hookwire_is_refused_with_what_to_do(
    make_sender: Callable[..., Sender], store_url: str
) -> None:
    _record_version(make_sender(store_url), str(SCHEMA_VERSION + 1))
    with pytest.raises(ConfigurationError, match=rf"schema version {SCHEMA_VERSION + 1}.*upgrade"):
        make_sender(store_url)
