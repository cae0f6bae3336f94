"""sender.publish_many: validation of every item first, one transaction, input order, records."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sender_support import COMPLETED, PROGRESS, FakeClock, Sink, hook_for
from sqlalchemy import event, text

from hookwire.errors import PayloadError, UnknownEventError, WebhookError
from hookwire.sender import BasicAuth, Publication, Published, Sender

MakeSender = Callable[..., Sender]


@pytest.fixture
def bulk_sender(make_sender: MakeSender, store_url: str) -> Sender:
    """A sender on SQLite or PostgreSQL whose accounts may hold many webhooks."""
    return make_sender(store_url, max_webhooks_per_account=50)


def completed(event_id: str | None = None, **changes: Any) -> dict[str, Any]:
    """One publish_many item for COURSE_COMPLETED on account 1."""
    item: dict[str, Any] = {"event_name": "COURSE_COMPLETED", "data": COMPLETED, "account_id": 1}
    if event_id is not None:
        item["event_id"] = event_id
    return {**item, **changes}


def event_ids(published: list[Published]) -> list[str]:
    """The event ids of publish_many's records, in order."""
    return [record.event_id for record in published]


def seqs_by_webhook(sender: Sender) -> dict[str, list[str]]:
    """Each webhook's event ids in delivery (seq) order."""
    found: dict[str, list[str]] = defaultdict(list)
    for delivery in sorted(sender.deliveries.list(limit=10_000), key=lambda d: int(d.id[4:])):
        found[delivery.webhook_id].append(delivery.event_id)
    return dict(found)


@contextlib.contextmanager
def counted_statements(sender: Sender) -> Iterator[list[str]]:
    """Every SQL statement the sender's engine runs inside the block."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(sender.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(sender.engine, "before_cursor_execute", record)


def test_events_are_stored_and_fan_out_to_active_subscribed_webhooks_only(
    bulk_sender: Sender, sink: Sink
) -> None:
    first = hook_for(bulk_sender, sink)
    second = hook_for(bulk_sender, sink, auth=None)
    hook_for(bulk_sender, sink, events=["CI_STATS"])
    other_account = hook_for(bulk_sender, sink, account_id=2)
    retired = hook_for(bulk_sender, sink)
    bulk_sender.webhooks.retire(retired)
    ids = event_ids(bulk_sender.publish_many([completed(), completed(), completed(account_id=3)]))
    assert {e.id for e in bulk_sender.events.list()} == set(ids)
    assert seqs_by_webhook(bulk_sender) == {first: ids[:2], second: ids[:2]}
    assert other_account not in seqs_by_webhook(bulk_sender)


def test_each_record_names_the_webhooks_its_event_was_queued_for_in_delivery_order(
    bulk_sender: Sender, sink: Sink
) -> None:
    both = hook_for(bulk_sender, sink)
    progress_only = hook_for(bulk_sender, sink, events=["LEARNER_PROGRESS"])
    other_account = hook_for(bulk_sender, sink, account_id=2)
    published = bulk_sender.publish_many(
        [
            completed("c"),
            Publication("LEARNER_PROGRESS", PROGRESS, 1, event_id="p"),
            completed("c2", account_id=2),
            completed("c3", account_id=3),
        ]
    )
    assert event_ids(published) == ["c", "p", "c2", "c3"]
    assert [record.duplicate for record in published] == [False] * 4
    assert [set(record.webhook_ids) for record in published] == [
        {both},
        {both, progress_only},
        {other_account},
        set(),
    ]
    in_seq_order = sorted(bulk_sender.deliveries.list(), key=lambda d: int(d.id[4:]))
    for record in published:
        stored = tuple(d.webhook_id for d in in_seq_order if d.event_id == record.event_id)
        assert record.webhook_ids == stored


def test_stored_event_and_deliveries_equal_what_publish_stores(
    bulk_sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    hook_for(bulk_sender, sink)
    changes = {"timestamp": datetime(2024, 11, 8, 3, 49, 52, 123000, tzinfo=UTC), "account_id": 1}
    python_names = {"user_id": 7, "lo_id": "course:1", "lo_instance_id": "course:1_1"}
    for name, data in [("LEARNER_PROGRESS", PROGRESS), ("COURSE_COMPLETED", python_names)]:
        bulk_sender.publish(name, data=data, event_id=f"one-{name}", **changes)
        bulk_sender.publish_many(
            [{"event_name": name, "data": data, "event_id": f"many-{name}", **changes}]
        )
        one, many = (bulk_sender.events.get(f"{kind}-{name}") for kind in ("one", "many"))
        assert (many.data, many.timestamp, many.realtime) == (one.data, one.timestamp, one.realtime)
    due = {d.event_id: d.due_at for d in bulk_sender.deliveries.list()}
    assert due["many-LEARNER_PROGRESS"] == due["one-LEARNER_PROGRESS"] > clock()
    assert due["many-COURSE_COMPLETED"] == due["one-COURSE_COMPLETED"] == clock()


def test_text_with_quotes_backslashes_nul_and_non_ascii_is_stored_exactly(
    bulk_sender: Sender, sink: Sink
) -> None:
    hook_for(bulk_sender, sink)
    tricky = 'say "hi"\\ \x00 é 漢 \u2028 {"x": [1]}'
    event_id = 'id "quoted" \\ é'
    bulk_sender.publish_many([completed(event_id, data={**COMPLETED, "loId": tricky})])
    assert bulk_sender.events.get(event_id).data["loId"] == tricky
    assert [d.event_id for d in bulk_sender.deliveries.list()] == [event_id]


def test_each_webhooks_deliveries_follow_the_input_order(bulk_sender: Sender, sink: Sink) -> None:
    both = hook_for(bulk_sender, sink)
    progress_only = hook_for(bulk_sender, sink, events=["LEARNER_PROGRESS"])
    items: list[dict[str, Any] | Publication] = []
    for n in range(300):
        if n % 3 == 0:
            items.append(Publication("LEARNER_PROGRESS", PROGRESS, 1, event_id=f"p{n:03}"))
        else:
            items.append(completed(f"z{299 - n:03}"))  # ids sort against the input order
    ids = event_ids(bulk_sender.publish_many(items))
    assert seqs_by_webhook(bulk_sender) == {
        both: ids,
        progress_only: [i for i in ids if i.startswith("p")],
    }


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
async def test_the_dispatcher_delivers_each_webhooks_events_in_input_order(
    make_sender: MakeSender, sink: Sink, store: str, request: pytest.FixtureRequest
) -> None:
    url = None if store == "sqlite" else str(request.getfixturevalue("postgres_url"))
    sender = make_sender(url, max_batch=7, batch_interval=0)  # batch events due at once
    hook_for(sender, sink, auth=BasicAuth("hook-a", "pw"))
    hook_for(sender, sink, auth=BasicAuth("hook-b", "pw"), events=["COURSE_COMPLETED"])
    items = [
        completed(f"c-{n}") if n % 4 else Publication("LEARNER_PROGRESS", PROGRESS, 1)
        for n in range(60)
    ]
    ids = event_ids(sender.publish_many(items))
    await sender.drain()
    received: dict[str, list[str]] = defaultdict(list)
    for request_ in sink.received:
        username = base64.b64decode(request_.headers["authorization"][6:]).split(b":")[0]
        received[username.decode()].extend(request_.event_ids)
    assert received == {"hook-a": ids, "hook-b": [i for i in ids if i.startswith("c-")]}


def test_invalid_item_in_the_middle_names_its_index_and_location_and_stores_nothing(
    bulk_sender: Sender, sink: Sink
) -> None:
    hook_for(bulk_sender, sink)
    items = [completed() for _ in range(6)]
    items[3] = completed(data={"loId": "course:1", "loInstanceId": "course:1_1"})
    with pytest.raises(
        PayloadError, match=r"^events\.3: data for COURSE_COMPLETED is invalid"
    ) as e:
        bulk_sender.publish_many(items)
    assert e.value.location == "events.3.data.userId"
    assert bulk_sender.events.list() == []
    assert bulk_sender.deliveries.list() == []


def test_unknown_event_name_is_unknown_event_error_naming_the_item(bulk_sender: Sender) -> None:
    with pytest.raises(
        UnknownEventError, match=r"^events\.1: unknown event name 'COURSE_DONE'"
    ) as caught:
        bulk_sender.publish_many([completed(), completed(event_name="COURSE_DONE")])
    assert caught.value.location == "events.1.eventName"
    assert caught.value.event_name == "COURSE_DONE"
    assert bulk_sender.events.list() == []


@pytest.mark.parametrize("name", [None, 5, ["COURSE_COMPLETED"]], ids=["none", "int", "list"])
def test_event_name_that_is_no_string_is_unknown_event_error_in_publish_and_publish_many(
    sender: Sender, name: Any
) -> None:
    with pytest.raises(UnknownEventError, match=r"^unknown event name of type"):
        sender.publish(name, data=COMPLETED, account_id=1)
    with pytest.raises(UnknownEventError, match=r"^events\.0: unknown event name of type"):
        sender.publish_many([completed(event_name=name)])


# (id, changes to the second item, the location of the error)
BAD_VALUES: list[tuple[str, dict[str, Any], str]] = [
    ("account_id_a_string", {"account_id": "1"}, "events.1.accountId"),
    ("account_id_over_64_bits", {"account_id": 2**70}, "events.1.accountId"),
    ("naive_timestamp", {"timestamp": datetime(2024, 1, 1)}, "events.1.timestamp"),
    ("event_id_with_nul", {"event_id": "a\x00b"}, "events.1.eventId"),
    ("event_id_empty", {"event_id": ""}, "events.1.eventId"),
    ("data_not_json", {"data": {**COMPLETED, "extra": object()}}, "events.1.data"),
]


@pytest.mark.parametrize(
    ("changes", "location"), [c[1:] for c in BAD_VALUES], ids=[c[0] for c in BAD_VALUES]
)
def test_bad_value_is_the_payload_error_publish_raises_prefixed_with_the_item(
    bulk_sender: Sender, changes: dict[str, Any], location: str
) -> None:
    item = completed(**changes)
    with pytest.raises(PayloadError) as alone:
        bulk_sender.publish(**{"event_name": "COURSE_COMPLETED", **item})
    with pytest.raises(PayloadError) as bulk:
        bulk_sender.publish_many([completed(), item])
    assert str(bulk.value) == f"events.1: {alone.value}"
    assert bulk.value.location == location
    assert bulk_sender.events.list() == []


def test_duplicate_ids_in_one_call_are_stored_and_fanned_out_once(
    bulk_sender: Sender, sink: Sink
) -> None:
    hook = hook_for(bulk_sender, sink)
    published = bulk_sender.publish_many(
        [completed("a"), completed("b"), completed("a"), completed()]
    )
    ids = event_ids(published)
    assert ids[:3] == ["a", "b", "a"]
    assert sorted(e.id for e in bulk_sender.events.list()) == sorted(["a", "b", ids[3]])
    assert seqs_by_webhook(bulk_sender) == {hook: ["a", "b", ids[3]]}
    assert published == [
        Published("a", (hook,), False),
        Published("b", (hook,), False),
        Published("a", (), True),
        Published(ids[3], (hook,), False),
    ]


def test_first_of_repeated_ids_is_the_one_stored(bulk_sender: Sender) -> None:
    bulk_sender.publish_many([completed("a"), completed("a", data={**COMPLETED, "userId": 99})])
    assert bulk_sender.events.get("a").data["userId"] == COMPLETED["userId"]


def test_ids_stored_already_get_no_second_deliveries(bulk_sender: Sender, sink: Sink) -> None:
    hook = hook_for(bulk_sender, sink)
    bulk_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1, event_id="old")
    first = bulk_sender.publish_many([completed("new-1"), completed("old")])
    again = bulk_sender.publish_many([completed("old"), completed("new-1"), completed("new-2")])
    assert (event_ids(first), event_ids(again)) == (["new-1", "old"], ["old", "new-1", "new-2"])
    assert seqs_by_webhook(bulk_sender) == {hook: ["old", "new-1", "new-2"]}
    assert first == [Published("new-1", (hook,), False), Published("old", (), True)]
    assert again == [
        Published("old", (), True),
        Published("new-1", (), True),
        Published("new-2", (hook,), False),
    ]


def test_a_call_of_only_stored_ids_stores_nothing_and_returns_them_as_duplicates(
    bulk_sender: Sender, sink: Sink
) -> None:
    hook_for(bulk_sender, sink)
    ids = event_ids(bulk_sender.publish_many([completed("a"), completed("b")]))
    assert bulk_sender.publish_many([completed("b"), completed("a"), completed("b")]) == [
        Published("b", (), True),
        Published("a", (), True),
        Published("b", (), True),
    ]
    assert len(bulk_sender.deliveries.list()) == len(ids)


def test_rolled_back_caller_transaction_stores_nothing(bulk_sender: Sender, sink: Sink) -> None:
    hook_for(bulk_sender, sink)
    with bulk_sender.engine.connect() as conn, conn.begin() as transaction:
        bulk_sender.publish_many([completed(), completed()], connection=conn)
        transaction.rollback()
    assert bulk_sender.events.list() == []
    assert bulk_sender.deliveries.list() == []


def test_committed_caller_transaction_stores_the_events_with_its_own_rows(
    bulk_sender: Sender, sink: Sink
) -> None:
    hook_for(bulk_sender, sink)
    with bulk_sender.engine.begin() as conn:
        conn.execute(text("CREATE TABLE enrollments (id INTEGER)"))
        conn.execute(text("INSERT INTO enrollments VALUES (1)"))
        ids = event_ids(bulk_sender.publish_many([completed(), completed()], connection=conn))
    assert {e.id for e in bulk_sender.events.list()} == set(ids)
    with bulk_sender.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM enrollments")).scalar() == 1


async def test_commit_of_a_caller_transaction_wakes_the_dispatcher(
    make_sender: MakeSender, sink: Sink
) -> None:
    sender = make_sender(clock=None, poll_interval=30)
    hook_for(sender, sink)
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run_dispatcher(stop))
    await asyncio.sleep(0.05)
    with sender.engine.begin() as conn:
        ids = event_ids(sender.publish_many([completed(), completed()], connection=conn))
    for _ in range(300):
        if len(sink.event_ids) >= 2:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert sink.event_ids == ids


def test_publication_records_and_mappings_are_both_accepted(
    bulk_sender: Sender, sink: Sink
) -> None:
    hook_for(bulk_sender, sink)
    moment = datetime(2024, 1, 1, 12, tzinfo=UTC)
    ids = event_ids(
        bulk_sender.publish_many(
            [
                Publication("COURSE_COMPLETED", COMPLETED, 1, event_id="rec", timestamp=moment),
                completed("map", timestamp=moment),
            ]
        )
    )
    assert ids == ["rec", "map"]
    stored = [bulk_sender.events.get(i) for i in ids]
    assert [(e.data, e.timestamp) for e in stored] == [(COMPLETED, moment)] * 2


def test_any_iterable_is_accepted(bulk_sender: Sender) -> None:
    ids = event_ids(bulk_sender.publish_many(completed(f"g{n}") for n in range(3)))
    assert ids == ["g0", "g1", "g2"]


def test_generated_ids_are_uuid7_hex_in_creation_order(sender: Sender, clock: FakeClock) -> None:
    ids = []
    for _ in range(3):
        ids.append(sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id)
        ids.extend(event_ids(sender.publish_many([completed()])))
        clock.advance(0.001)
    assert all(i.startswith("evt_") and uuid.UUID(i[4:]).version == 7 for i in ids)
    assert [ids[n] for n in (0, 2, 4)] == sorted(ids[n] for n in (0, 2, 4))
    assert [ids[n] for n in (1, 3, 5)] == sorted(ids[n] for n in (1, 3, 5))
    assert len(set(ids)) == 6


def test_publication_is_a_frozen_record() -> None:
    record = Publication("COURSE_COMPLETED", COMPLETED, 1)
    assert (record.event_id, record.timestamp) == (None, None)
    with pytest.raises(AttributeError):
        record.account_id = 2  # type: ignore[misc]


# (id, the second item, a phrase of the message)
BAD_ITEMS: list[tuple[str, Any, str]] = [
    ("unknown_key", completed(connection=None), "unknown key(s) 'connection'"),
    ("misspelt_key", {**completed(), "eventId": "x"}, "unknown key(s) 'eventId'"),
    ("missing_data", {"event_name": "COURSE_COMPLETED", "account_id": 1}, "lacks data"),
    ("missing_two", {"data": COMPLETED}, "lacks event_name, account_id"),
    ("not_a_mapping", ("COURSE_COMPLETED", COMPLETED, 1), "not tuple"),
    ("none", None, "not NoneType"),
]


@pytest.mark.parametrize(
    ("item", "phrase"), [c[1:] for c in BAD_ITEMS], ids=[c[0] for c in BAD_ITEMS]
)
def test_malformed_item_is_payload_error_naming_the_item(
    bulk_sender: Sender, item: Any, phrase: str
) -> None:
    with pytest.raises(PayloadError, match=r"^events\.1 ") as caught:
        bulk_sender.publish_many([completed(), item])
    assert phrase in str(caught.value)
    assert caught.value.location == "events.1"
    assert bulk_sender.events.list() == []


@pytest.mark.parametrize(
    "events",
    [completed(), "COURSE_COMPLETED", 5, Publication("COURSE_COMPLETED", COMPLETED, 1)],
    ids=["one_mapping", "a_string", "an_int", "one_publication"],
)
def test_events_that_is_not_an_iterable_of_events_is_payload_error(
    bulk_sender: Sender, events: Any
) -> None:
    with pytest.raises(PayloadError, match="events must be an iterable") as caught:
        bulk_sender.publish_many(events)
    assert caught.value.location == "events"


@pytest.mark.parametrize("events", [[], (), iter([])], ids=["list", "tuple", "iterator"])
def test_empty_input_returns_no_records_without_touching_the_database(
    bulk_sender: Sender, events: Any
) -> None:
    with counted_statements(bulk_sender) as statements:
        assert bulk_sender.publish_many(events) == []
    assert statements == []


def test_one_call_runs_a_few_statements_however_many_events(
    bulk_sender: Sender, sink: Sink
) -> None:
    hook_for(bulk_sender, sink)
    items = [completed(account_id=account) for account in (1, 2, 3) for _ in range(400)]
    with counted_statements(bulk_sender) as statements:
        bulk_sender.publish_many(items)
    # Beyond BEGIN/COMMIT: the events (and on SQLite a lookup per 500 ids), one subscriber
    # query per account, the deliveries.
    assert len(statements) <= 12
    assert len(bulk_sender.deliveries.list(limit=5000)) == 400


FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_example = itertools.count()


@FUZZ
@given(picks=st.lists(st.integers(0, 6), max_size=25), stored=st.sets(st.integers(0, 6)))
def test_records_follow_the_input_and_only_a_new_ids_first_place_is_queued_once_in_order(
    sender: Sender, picks: list[int], stored: set[int]
) -> None:
    if not sender.webhooks.list():
        sender.webhooks.create(
            name="h", target_url="http://127.0.0.1:9/h", events=["COURSE_COMPLETED"], account_id=1
        )
    (hook,) = [webhook.id for webhook in sender.webhooks.list()]
    prefix = f"x{next(_example)}-"
    for n in sorted(stored):
        sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1, event_id=f"{prefix}{n}")
    wanted = [f"{prefix}{n}" for n in picks]
    published = sender.publish_many(completed(i) for i in wanted)
    assert event_ids(published) == wanted
    delivered = [i for ids in seqs_by_webhook(sender).values() for i in ids if i.startswith(prefix)]
    already = [f"{prefix}{n}" for n in sorted(stored)]
    assert delivered == already + [i for i in dict.fromkeys(wanted) if i not in already]
    seen = set(already)
    for record in published:
        duplicate = record.event_id in seen
        seen.add(record.event_id)
        assert record == Published(record.event_id, () if duplicate else (hook,), duplicate)


ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=10),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=2),
    st.datetimes(timezones=st.none() | st.just(UTC)),
)
KEYS = st.sampled_from(["event_name", "data", "account_id", "event_id", "timestamp", "extra"])
VALUES = st.one_of(ANYTHING, st.just(COMPLETED), st.just("COURSE_COMPLETED"), st.just(1))


@FUZZ
@given(items=st.lists(st.one_of(ANYTHING, st.dictionaries(KEYS, VALUES, max_size=6)), max_size=4))
def test_publish_many_with_any_items_raises_only_webhook_errors(
    sender: Sender, items: list[Any]
) -> None:
    with contextlib.suppress(WebhookError):
        sender.publish_many([completed(), *items])
