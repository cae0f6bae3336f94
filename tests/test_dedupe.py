"""De-duplication stores: claim, confirm, release and expiry, on memory, SQLite and Redis."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest

from hookwire import ConfigurationError
from hookwire.dedupe import (
    DEFAULT_TTL,
    Claim,
    DedupeStore,
    MemoryDedupe,
    RedisDedupe,
    SqliteDedupe,
    dedupe_from_url,
)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "sqlite"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[DedupeStore]:
    made: DedupeStore
    if request.param == "memory":
        made = MemoryDedupe(ttl=100, claim_ttl=10, clock=clock)
    else:
        made = SqliteDedupe(tmp_path / "seen.db", ttl=100, claim_ttl=10, clock=clock)
    yield made
    made.close()


def test_first_claim_is_new(store: DedupeStore) -> None:
    assert store.claim("e1") is Claim.NEW


def test_claim_after_confirm_is_duplicate(store: DedupeStore) -> None:
    store.claim("e1")
    store.confirm("e1")
    assert store.claim("e1") is Claim.DUPLICATE


def test_second_claim_before_confirm_is_in_flight(store: DedupeStore) -> None:
    store.claim("e1")
    assert store.claim("e1") is Claim.IN_FLIGHT


def test_released_claim_is_new_again(store: DedupeStore) -> None:
    store.claim("e1")
    store.release("e1")
    assert store.claim("e1") is Claim.NEW


def test_release_does_not_forget_a_confirmed_event(store: DedupeStore) -> None:
    store.claim("e1")
    store.confirm("e1")
    store.release("e1")
    assert store.claim("e1") is Claim.DUPLICATE


def test_abandoned_claim_expires_after_claim_ttl(store: DedupeStore, clock: FakeClock) -> None:
    store.claim("e1")
    clock.now += 11
    assert store.claim("e1") is Claim.NEW


def test_confirmed_event_is_forgotten_after_ttl(store: DedupeStore, clock: FakeClock) -> None:
    store.claim("e1")
    store.confirm("e1")
    clock.now += 99
    assert store.claim("e1") is Claim.DUPLICATE
    clock.now += 2
    assert store.claim("e1") is Claim.NEW


def test_default_ttl_is_seven_days() -> None:
    assert MemoryDedupe().ttl == DEFAULT_TTL == 7 * 24 * 3600


def test_memory_store_forgets_the_oldest_beyond_its_bound() -> None:
    store = MemoryDedupe(max_entries=2)
    for key in ("a", "b", "c"):
        store.claim(key)
        store.confirm(key)
    assert len(store) == 2
    assert store.claim("a") is Claim.NEW
    assert store.claim("c") is Claim.DUPLICATE


def _claim_in_process(path: str, key: str, results: multiprocessing.Queue[str]) -> None:
    store = SqliteDedupe(path)
    results.put(store.claim(key).value)
    store.close()


def test_sqlite_store_gives_one_new_claim_across_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "seen.db")
    SqliteDedupe(path).close()
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[str] = context.Queue()
    workers = [
        context.Process(target=_claim_in_process, args=(path, "e1", results)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    outcomes = sorted(results.get(timeout=5) for _ in workers)
    assert outcomes == ["in_flight", "in_flight", "in_flight", "new"]


@pytest.mark.redis
def test_redis_store_follows_the_claim_protocol(redis_url: str) -> None:
    store = RedisDedupe(redis_url, claim_ttl=10)
    try:
        assert store.claim("e1") is Claim.NEW
        assert store.claim("e1") is Claim.IN_FLIGHT
        store.release("e1")
        assert store.claim("e1") is Claim.NEW
        store.confirm("e1")
        store.release("e1")
        assert store.claim("e1") is Claim.DUPLICATE
    finally:
        store.close()


@pytest.mark.redis
def test_redis_store_sets_expiry_on_claim_and_confirm(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    store = RedisDedupe(client=client, claim_ttl=10, ttl=3600)
    try:
        store.claim("e1")
        assert 0 < client.pttl("hookwire:seen:e1") <= 10_000
        store.confirm("e1")
        assert 10_000 < client.pttl("hookwire:seen:e1") <= 3_600_000
    finally:
        client.close()


@pytest.mark.redis
def test_redis_url_builds_a_redis_store(redis_url: str) -> None:
    store = dedupe_from_url(redis_url)
    try:
        assert isinstance(store, RedisDedupe)
        assert store.claim("e1") is Claim.NEW
    finally:
        store.close()


def test_memory_url_builds_a_memory_store() -> None:
    assert isinstance(dedupe_from_url("memory://"), MemoryDedupe)


def test_sqlite_url_builds_a_file_store(tmp_path: Path) -> None:
    store = dedupe_from_url(f"sqlite:///{tmp_path}/seen.db")
    try:
        assert isinstance(store, SqliteDedupe)
        assert (tmp_path / "seen.db").exists()
    finally:
        store.close()


def test_unknown_url_scheme_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown dedupe URL scheme 'postgres'"):
        dedupe_from_url("postgres://user:pw@host/db")


def test_sqlite_url_without_path_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="needs a path"):
        dedupe_from_url("sqlite://")


def test_redis_store_repr_hides_the_url_password() -> None:
    store = RedisDedupe("redis://:hunter2@127.0.0.1:1/0")
    try:
        assert "hunter2" not in repr(store)
    finally:
        store.close()
