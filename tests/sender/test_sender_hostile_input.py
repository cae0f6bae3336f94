"""Hostile values handed to the sender API: each is a WebhookError that says what to fix.

Wrong types, impossible sizes, bytes PostgreSQL cannot store and URLs that
only look like targets must never surface as a SQLAlchemy, ``TypeError`` or
``ValueError``. The tables run on SQLite; the values that PostgreSQL itself
refused (NUL bytes, 64-bit overflow, an int compared with a text id) run on
the real PostgreSQL too.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookwire.errors import (
    ConfigurationError,
    InvalidTargetError,
    NotFoundError,
    PayloadError,
    QueryError,
    RegistryError,
    TargetBlockedError,
    UnknownEventError,
    WebhookError,
)
from hookwire.sender import BasicAuth, Sender

ENROLLMENT = {"userId": 7, "loId": "course:1", "loInstanceId": "course:1_1"}
DEEP: list[Any] = functools.reduce(lambda inner, _: [inner], range(100_000), [])


@pytest.fixture
def pg_sender(postgres_url: str, make_sender: Callable[..., Sender]) -> Sender:
    """A sender on the real PostgreSQL, which refuses what SQLite lets through."""
    return make_sender(postgres_url)


@pytest.fixture
def guarded(make_sender: Callable[..., Sender]) -> Sender:
    """A sender with the target guard on, as in production."""
    return make_sender(allow_private_targets=False)


def create(sender: Sender, **changes: Any) -> Any:
    values: dict[str, Any] = {
        "name": "sync",
        "target_url": "https://example.com/hooks",
        "events": ["COURSE_ENROLLMENT"],
        "account_id": 1010,
    }
    return sender.webhooks.create(**{**values, **changes})


def publish(sender: Sender, **changes: Any) -> str:
    """Publish a valid enrollment with ``changes``; the event id."""
    values: dict[str, Any] = {"data": ENROLLMENT, "account_id": 1010}
    return sender.publish("COURSE_ENROLLMENT", **{**values, **changes}).event_id


# (id, create() keyword changes, the error, a phrase of its message)
BAD_CREATE: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("name_empty", {"name": "  "}, RegistryError, "name is empty"),
    ("name_not_a_string", {"name": 5}, RegistryError, "must be a string"),
    ("name_huge", {"name": "x" * 1_000_000}, RegistryError, "the most is 200"),
    ("name_with_nul", {"name": "a\x00b"}, RegistryError, "control characters"),
    ("name_with_escape_sequence", {"name": "a\x1b[31m"}, RegistryError, "control characters"),
    ("name_with_newline", {"name": "a\nb"}, RegistryError, "control characters"),
    ("name_with_lone_surrogate", {"name": "a\ud800"}, RegistryError, "invalid Unicode"),
    ("description_huge", {"description": "x" * 1_000_000}, RegistryError, "the most is 2000"),
    ("description_with_nul", {"description": "a\x00b"}, RegistryError, "control characters"),
    ("description_not_a_string", {"description": 5}, RegistryError, "must be a string"),
    ("events_empty", {"events": []}, RegistryError, "at least one event"),
    ("events_one_string", {"events": "COURSE_ENROLLMENT"}, RegistryError, "list of event names"),
    ("events_an_int", {"events": 5}, RegistryError, "list of event names"),
    ("events_none", {"events": None}, RegistryError, "list of event names"),
    ("events_with_an_int", {"events": [5]}, RegistryError, "must be strings"),
    ("events_unknown_name", {"events": ["NOPE"]}, UnknownEventError, "unknown event name"),
    ("account_id_string", {"account_id": "1010"}, RegistryError, "account_id must be an integer"),
    ("account_id_bool", {"account_id": True}, RegistryError, "account_id must be an integer"),
    ("account_id_float", {"account_id": 1.5}, RegistryError, "account_id must be an integer"),
    ("account_id_over_64_bits", {"account_id": 2**70}, RegistryError, "64-bit"),
    ("active_a_string", {"active": "false"}, RegistryError, "True or False"),
    ("auth_unknown_kind", {"auth": "SIGNATURE"}, RegistryError, "unknown auth"),
    ("basic_auth_not_strings", {"auth": BasicAuth(5, 6)}, RegistryError, "must be a string"),  # type: ignore[arg-type]
    ("basic_auth_username_with_colon", {"auth": BasicAuth("a:b", "pw")}, RegistryError, "no ':'"),
    ("basic_auth_with_nul", {"auth": BasicAuth("user", "p\x00w")}, RegistryError, "control"),
]


@pytest.mark.parametrize(
    ("changes", "error", "phrase"), [c[1:] for c in BAD_CREATE], ids=[c[0] for c in BAD_CREATE]
)
def test_hostile_create_value_is_a_webhook_error_saying_what_to_fix(
    sender: Sender, changes: dict[str, Any], error: type[Exception], phrase: str
) -> None:
    with pytest.raises(error, match=phrase):
        create(sender, **changes)


BAD_URLS: list[tuple[str, str, str]] = [
    ("userinfo", "https://user:pw@example.com/hooks", "credentials"),
    ("backslash_userinfo", "https://example.com\\@evil.example/", "credentials"),
    ("fragment", "https://example.com/hooks#part", "fragment"),
    ("empty_fragment", "https://example.com/hooks#", "fragment"),
    ("ftp_scheme", "ftp://example.com/hooks", "http:// or https://"),
    ("javascript_scheme", "javascript:alert(1)", "http:// or https://"),
    ("leading_space", " https://example.com/hooks", "spaces"),
    ("trailing_newline", "https://example.com/hooks\n", "spaces"),
    ("very_long", "https://example.com/" + "a" * 5000, "longer than 2048"),
    ("port_0", "https://example.com:0/hooks", "port 0"),
    ("port_65536", "https://example.com:65536/hooks", "invalid port"),
    ("port_negative", "https://example.com:-1/hooks", "invalid port"),
    ("unclosed_ipv6_bracket", "http://[::1/hooks", "cannot be parsed"),
    ("empty_label", "https://a..example.com/hooks", "not a valid host name"),
    ("label_of_64_chars", f"https://{'a' * 64}.example.com/", "not a valid host name"),
    ("no_host", "http:///hooks", "no host"),
]


@pytest.mark.parametrize(("url", "phrase"), [c[1:] for c in BAD_URLS], ids=[c[0] for c in BAD_URLS])
def test_malformed_target_url_is_invalid_target_error(
    sender: Sender, url: str, phrase: str
) -> None:
    with pytest.raises(InvalidTargetError, match=phrase):
        create(sender, target_url=url)


@pytest.mark.parametrize("url", [None, 5, b"https://example.com/"], ids=["none", "int", "bytes"])
def test_target_url_of_the_wrong_type_is_invalid_target_error(sender: Sender, url: Any) -> None:
    with pytest.raises(InvalidTargetError):
        create(sender, target_url=url)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/hooks",
        "http://127.1/hooks",
        "http://2130706433/hooks",
        "http://0x7f000001/hooks",
        "http://0/hooks",
        "https://[::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://[fe80::1%25eth0]/hooks",
    ],
)
def test_target_reaching_this_machine_is_blocked(guarded: Sender, url: str) -> None:
    with pytest.raises(TargetBlockedError, match="private or reserved"):
        create(guarded, target_url=url)


@pytest.mark.parametrize(
    "url",
    ["https://bücher.example/hooks", "https://xn--bcher-kva.example/hooks", "HTTPS://EXAMPLE.COM/"],
)
def test_idn_and_upper_case_targets_are_accepted(sender: Sender, url: str) -> None:
    assert create(sender, target_url=url).target_url == url


def test_duplicate_event_names_are_stored_once(sender: Sender) -> None:
    hook = create(sender, events=["COURSE_ENROLLMENT", "COURSE_ENROLLMENT"])
    assert hook.events == ("COURSE_ENROLLMENT",)


def test_update_with_a_control_character_name_is_registry_error(sender: Sender) -> None:
    hook = create(sender)
    with pytest.raises(RegistryError, match="control characters"):
        sender.webhooks.update(hook.id, name="a\x00b")


def test_rotation_grace_that_is_not_a_duration_is_registry_error(sender: Sender) -> None:
    hook = create(sender, auth="signature")
    with pytest.raises(RegistryError, match="timedelta"):
        sender.webhooks.rotate_secret(hook.id, grace=5)  # type: ignore[arg-type]


def test_negative_rotation_grace_is_registry_error(sender: Sender) -> None:
    hook = create(sender, auth="signature")
    with pytest.raises(RegistryError, match="timedelta"):
        sender.webhooks.rotate_secret(hook.id, grace=timedelta(days=-1))


MISSING_IDS = [
    pytest.param("wh_nope", id="unknown"),
    pytest.param(5, id="int"),
    pytest.param(None, id="none"),
    pytest.param(["wh_x"], id="list"),
    pytest.param("a\x00b", id="nul"),
    pytest.param("x" * 100_000, id="huge"),
    pytest.param("a\ud800", id="surrogate"),
]


@pytest.mark.parametrize("webhook_id", MISSING_IDS)
@pytest.mark.parametrize("call", ["get", "delete", "retire", "rotate_secret", "signature_file"])
def test_webhook_id_that_cannot_exist_is_not_found(
    sender: Sender, call: str, webhook_id: Any
) -> None:
    with pytest.raises(NotFoundError, match="no webhook") as caught:
        getattr(sender.webhooks, call)(webhook_id)
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize("delivery_id", MISSING_IDS)
@pytest.mark.parametrize("call", ["get", "redeliver"])
def test_delivery_id_that_cannot_exist_is_not_found(
    sender: Sender, call: str, delivery_id: Any
) -> None:
    with pytest.raises(NotFoundError, match="no delivery"):
        getattr(sender.deliveries, call)(delivery_id)


@pytest.mark.parametrize("event_id", MISSING_IDS)
def test_event_id_that_cannot_exist_is_not_found(sender: Sender, event_id: Any) -> None:
    with pytest.raises(NotFoundError, match="no event"):
        sender.events.get(event_id)


BAD_FILTERS: list[tuple[str, Callable[[Sender], Any], str]] = [
    ("webhooks_list_string_account", lambda s: s.webhooks.list("1010"), "account_id"),  # type: ignore[arg-type]
    ("webhooks_list_huge_account", lambda s: s.webhooks.list(2**70), "64-bit"),
    ("events_list_string_account", lambda s: s.events.list("x"), "account_id"),  # type: ignore[arg-type]
    ("events_list_negative_limit", lambda s: s.events.list(limit=-1), "limit"),
    ("events_list_string_limit", lambda s: s.events.list(limit="x"), "limit"),  # type: ignore[arg-type]
    ("deliveries_list_string_limit", lambda s: s.deliveries.list(limit="x"), "limit"),  # type: ignore[arg-type]
    ("deliveries_list_int_webhook", lambda s: s.deliveries.list(webhook_id=5), "webhook_id"),  # type: ignore[arg-type]
    ("deliveries_counts_int_webhook", lambda s: s.deliveries.counts(5), "webhook_id"),  # type: ignore[arg-type]
    ("deliveries_unknown_status", lambda s: s.deliveries.list(status="nope"), "unknown status"),  # type: ignore[arg-type]
    ("recover_since_a_string", lambda s: s.deliveries.recover("wh_x", "2024"), "since"),  # type: ignore[arg-type]
    ("recover_since_naive", lambda s: s.deliveries.recover("wh_x", datetime(2024, 1, 1)), "since"),
]


@pytest.mark.parametrize(
    ("call", "phrase"), [c[1:] for c in BAD_FILTERS], ids=[c[0] for c in BAD_FILTERS]
)
def test_listing_with_a_hostile_filter_is_query_error(
    sender: Sender, call: Callable[[Sender], Any], phrase: str
) -> None:
    with pytest.raises(QueryError, match=phrase) as caught:
        call(sender)
    assert not isinstance(caught.value, RegistryError)


BAD_PUBLISH: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("data_a_list", {"data": [1, 2]}, PayloadError, "invalid"),
    ("data_none", {"data": None}, PayloadError, "invalid"),
    ("data_missing_a_field", {"data": {"userId": 7}}, PayloadError, "loId"),
    ("data_with_an_object", {"data": {**ENROLLMENT, "x": object()}}, PayloadError, "as JSON"),
    (
        "data_with_invalid_utf8_bytes",
        {"data": {**ENROLLMENT, "x": b"\xff"}},
        PayloadError,
        "as JSON",
    ),
    (
        "data_with_a_lone_surrogate",
        {"data": {**ENROLLMENT, "loId": "a\ud800"}},
        PayloadError,
        "surrogate",
    ),
    ("data_nested_100000_levels", {"data": {**ENROLLMENT, "x": DEEP}}, PayloadError, "as JSON"),
    (
        "data_with_a_non_string_key",
        {"data": {**ENROLLMENT, 5: 1}},
        PayloadError,
        "Keys should be strings",
    ),
    ("event_id_an_int", {"event_id": 5}, PayloadError, "event_id"),
    ("event_id_empty", {"event_id": ""}, PayloadError, "event_id"),
    ("event_id_huge", {"event_id": "x" * 1_000_000}, PayloadError, "at most 200"),
    ("event_id_with_nul", {"event_id": "a\x00b"}, PayloadError, "printable"),
    ("event_id_with_a_lone_surrogate", {"event_id": "a\ud800"}, PayloadError, "printable"),
    ("timestamp_naive", {"timestamp": datetime(2024, 1, 1)}, PayloadError, "timezone-aware"),
    ("timestamp_a_string", {"timestamp": "2024-01-01"}, PayloadError, "timezone-aware datetime"),
    ("timestamp_an_int", {"timestamp": 1_700_000_000}, PayloadError, "timezone-aware datetime"),
    (
        "timestamp_past_year_9999_in_utc",
        {"timestamp": datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5)))},
        PayloadError,
        "out of range",
    ),
    ("account_id_a_string", {"account_id": "1010"}, PayloadError, "account_id"),
    ("account_id_over_64_bits", {"account_id": 2**70}, PayloadError, "64-bit"),
]


@pytest.mark.parametrize(
    ("changes", "error", "phrase"), [c[1:] for c in BAD_PUBLISH], ids=[c[0] for c in BAD_PUBLISH]
)
def test_hostile_publish_value_is_payload_error_saying_what_to_fix(
    sender: Sender, changes: dict[str, Any], error: type[Exception], phrase: str
) -> None:
    with pytest.raises(error, match=phrase):
        publish(sender, **changes)


@pytest.mark.parametrize("name", ["NOPE", 5, None], ids=["unknown", "int", "none"])
def test_publish_of_an_unknown_event_name_is_unknown_event_error(sender: Sender, name: Any) -> None:
    with pytest.raises(UnknownEventError, match="unknown event name") as caught:
        sender.publish(name, data=ENROLLMENT, account_id=1010)
    assert isinstance(caught.value, PayloadError)
    assert caught.value.location == "eventName"


def test_publish_with_a_non_utc_aware_timestamp_is_stored_in_utc(sender: Sender) -> None:
    moment = datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=5)))
    event_id = publish(sender, timestamp=moment)
    assert sender.events.get(event_id).timestamp == datetime(2024, 1, 1, 7, tzinfo=UTC)


def test_publish_with_nul_inside_data_text_is_stored(sender: Sender) -> None:
    # JSON escapes it as \u0000, which even PostgreSQL text can hold.
    event_id = publish(sender, data={**ENROLLMENT, "loId": "a\x00b"})
    assert sender.events.get(event_id).data["loId"] == "a\x00b"


# Each of these once reached PostgreSQL and came back as a raw SQLAlchemy error.
REFUSED_BY_POSTGRESQL: list[tuple[str, Callable[[Sender], Any], type[Exception]]] = [
    ("create_name_with_nul", lambda s: create(s, name="a\x00b"), RegistryError),
    ("create_description_with_nul", lambda s: create(s, description="a\x00b"), RegistryError),
    (
        "create_basic_password_with_nul",
        lambda s: create(s, auth=BasicAuth("u", "p\x00")),
        RegistryError,
    ),
    ("create_account_over_64_bits", lambda s: create(s, account_id=2**70), RegistryError),
    ("get_int_id", lambda s: s.webhooks.get(5), NotFoundError),  # type: ignore[arg-type]
    ("get_id_with_nul", lambda s: s.webhooks.get("a\x00b"), NotFoundError),
    ("delete_int_id", lambda s: s.webhooks.delete(5), NotFoundError),  # type: ignore[arg-type]
    ("list_string_account", lambda s: s.webhooks.list("1010"), QueryError),  # type: ignore[arg-type]
    ("list_account_over_64_bits", lambda s: s.webhooks.list(2**70), QueryError),
    ("publish_event_id_with_nul", lambda s: publish(s, event_id="a\x00b"), PayloadError),
    ("publish_account_over_64_bits", lambda s: publish(s, account_id=2**70), PayloadError),
    ("events_get_int_id", lambda s: s.events.get(5), NotFoundError),  # type: ignore[arg-type]
    ("events_list_string_account", lambda s: s.events.list("x"), QueryError),  # type: ignore[arg-type]
    ("events_list_negative_limit", lambda s: s.events.list(limit=-1), QueryError),
    ("delivery_counts_int_webhook", lambda s: s.deliveries.counts(5), QueryError),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(
    ("call", "error"),
    [c[1:] for c in REFUSED_BY_POSTGRESQL],
    ids=[c[0] for c in REFUSED_BY_POSTGRESQL],
)
def test_value_postgresql_cannot_take_is_refused_before_the_database(
    pg_sender: Sender, call: Callable[[Sender], Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        call(pg_sender)


@pytest.fixture
def roomy_sender(store_url: str, make_sender: Callable[..., Sender]) -> Sender:
    """A sender on SQLite or PostgreSQL whose accounts may hold any number of webhooks."""
    return make_sender(store_url, max_webhooks_per_account=10**6)


ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=3),
)
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(
    name=st.one_of(st.text(), ANYTHING),
    description=st.one_of(st.text(), ANYTHING),
    target_url=st.one_of(st.text().map(lambda t: "https://" + t), ANYTHING),
    account_id=st.one_of(st.integers(), ANYTHING),
)
def test_create_with_any_values_raises_only_webhook_errors(
    roomy_sender: Sender, name: Any, description: Any, target_url: Any, account_id: Any
) -> None:
    with contextlib.suppress(WebhookError):
        create(
            roomy_sender,
            name=name,
            description=description,
            target_url=target_url,
            account_id=account_id,
        )


@FUZZ
@given(
    event_id=st.one_of(st.text(), ANYTHING),
    extra=st.dictionaries(st.text(), ANYTHING, max_size=3),
    account_id=st.one_of(st.integers(), ANYTHING),
)
def test_publish_with_any_values_raises_only_webhook_errors(
    roomy_sender: Sender, event_id: Any, extra: dict[str, Any], account_id: Any
) -> None:
    with contextlib.suppress(WebhookError):
        publish(
            roomy_sender, event_id=event_id, data={**ENROLLMENT, **extra}, account_id=account_id
        )


BAD_SETTINGS: list[tuple[str, dict[str, Any], str]] = [
    ("max_batch_a_string", {"max_batch": "x"}, "max_batch must be a whole number"),
    ("max_batch_zero", {"max_batch": 0}, "max_batch must be a whole number"),
    ("concurrency_a_float", {"concurrency": 1.5}, "concurrency must be a whole number"),
    ("limit_a_string", {"max_webhooks_per_account": "5"}, "max_webhooks_per_account"),
    ("limit_zero", {"max_webhooks_per_account": 0}, "max_webhooks_per_account"),
    ("batch_interval_negative", {"batch_interval": -1}, "batch_interval"),
    ("batch_interval_a_string", {"batch_interval": "x"}, "batch_interval"),
    ("lease_a_string", {"lease_seconds": "x"}, "lease_seconds"),
    ("connect_timeout_nan", {"connect_timeout": float("nan")}, "connect_timeout"),
    ("poll_interval_infinite", {"poll_interval": float("inf")}, "poll_interval"),
    ("rotation_grace_an_int", {"rotation_grace": 5}, "rotation_grace"),
    ("retention_negative", {"retention": timedelta(days=-1)}, "retention"),
    ("retry_a_string", {"retry": "x"}, "RetryPolicy"),
    ("clock_not_callable", {"clock": 5}, "clock"),
]


@pytest.mark.parametrize(
    ("settings_", "phrase"), [c[1:] for c in BAD_SETTINGS], ids=[c[0] for c in BAD_SETTINGS]
)
def test_hostile_sender_setting_is_configuration_error(
    sqlite_url: str, settings_: dict[str, Any], phrase: str
) -> None:
    with pytest.raises(ConfigurationError, match=phrase):
        Sender(sqlite_url, **settings_)


def test_sender_url_of_the_wrong_type_is_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="database URL string"):
        Sender(5)  # type: ignore[arg-type]


def test_a_file_that_is_no_database_is_a_configuration_error(tmp_path: Path) -> None:
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_bytes(b"these are notes, not a database\n" * 100)
    with pytest.raises(ConfigurationError, match="cannot open the sender's database"):
        Sender(f"sqlite:///{not_a_db}")
