"""sender.publish: validation, fan-out, idempotency and the transactional outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sender_support import COMPLETED, Sink, hook_for
from sqlalchemy import text

from hookwire.errors import ConfigurationError, PayloadError, UnknownEventError
from hookwire.sender import Sender


@pytest.fixture
def outbox_sender(make_sender: Callable[..., Sender], store_url: str) -> Sender:
    return make_sender(store_url)


def test_event_fans_out_to_each_active_subscribed_webhook_of_the_account(
    outbox_sender: Sender, sink: Sink
) -> None:
    first = hook_for(outbox_sender, sink)
    second = hook_for(outbox_sender, sink, auth=None)
    hook_for(outbox_sender, sink, events=["CI_STATS"])
    hook_for(outbox_sender, sink, account_id=2)
    retired = hook_for(outbox_sender, sink)
    outbox_sender.webhooks.retire(retired)
    outbox_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    assert {d.webhook_id for d in outbox_sender.deliveries.list()} == {first, second}


def test_a_changed_event_list_decides_the_fan_out_of_later_publishes(
    outbox_sender: Sender, sink: Sink
) -> None:
    # Event lists are parsed once per distinct stored text; an update stores a new one.
    hooks = [hook_for(outbox_sender, sink, name=f"hook {n}") for n in range(3)]
    outbox_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    outbox_sender.webhooks.update(hooks[1], events=["CI_STATS"])
    later = outbox_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    got = {d.webhook_id for d in outbox_sender.deliveries.list() if d.event_id == later}
    assert got == {hooks[0], hooks[2]}


def test_publish_returns_the_stored_event_id(outbox_sender: Sender) -> None:
    event_id = outbox_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    stored = outbox_sender.events.get(event_id)
    assert stored.name == "COURSE_COMPLETED"
    assert stored.data["loInstanceId"] == "course:1_1"


def test_data_is_stored_in_wire_form_from_python_names(outbox_sender: Sender) -> None:
    event_id = outbox_sender.publish(
        "COURSE_COMPLETED",
        data={"user_id": 1, "lo_id": "course:1", "lo_instance_id": "course:1_1"},
        account_id=1,
    )
    assert outbox_sender.events.get(event_id).data == {
        "userId": 1,
        "loId": "course:1",
        "loInstanceId": "course:1_1",
    }


def test_caller_timestamp_is_kept(outbox_sender: Sender) -> None:
    moment = datetime(2024, 11, 8, 3, 49, 52, tzinfo=UTC)
    event_id = outbox_sender.publish(
        "COURSE_COMPLETED", data=COMPLETED, account_id=1, timestamp=moment
    )
    assert outbox_sender.events.get(event_id).timestamp == moment


def test_same_event_id_is_stored_once(outbox_sender: Sender, sink: Sink) -> None:
    hook_for(outbox_sender, sink)
    for _ in range(2):
        outbox_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1, event_id="evt-1")
    assert [e.id for e in outbox_sender.events.list()] == ["evt-1"]
    assert len(outbox_sender.deliveries.list()) == 1


def test_unknown_event_name_is_refused(outbox_sender: Sender) -> None:
    with pytest.raises(UnknownEventError, match="COURSE_DONE"):
        outbox_sender.publish("COURSE_DONE", data=COMPLETED, account_id=1)


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
        )
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
    assert _recorded_version(outbox_sender) == "2"


def test_a_version_1_database_is_upgraded_on_open_and_keeps_its_rows(
    make_sender: Callable[..., Sender], store_url: str
) -> None:
    old = make_sender(store_url)
    event_id = old.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    _record_version(old, "1")
    reopened = make_sender(store_url)
    assert _recorded_version(reopened) == "2"
    assert reopened.events.get(event_id).name == "COURSE_COMPLETED"


def test_a_database_of_a_newer_hookwire_is_refused_with_what_to_do(
    make_sender: Callable[..., Sender], store_url: str
) -> None:
    _record_version(make_sender(store_url), "3")
    with pytest.raises(ConfigurationError, match=r"schema version 3.*upgrade hookwire"):
        make_sender(store_url)
