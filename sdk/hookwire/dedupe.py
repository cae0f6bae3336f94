"""De-duplication stores: which eventIds a listener has already handled.

The sender delivers at least once, so the same event can arrive twice (slow
acknowledgements, sender restarts), sometimes at the same moment on two
workers. Every store follows one claim-then-confirm protocol::

    outcome = store.claim(event_id)      # NEW: yours to handle now
    if outcome is Claim.NEW:             # DUPLICATE: handled before, skip it
        try:                             # IN_FLIGHT: another worker is on it
            handle(event)
        except Exception:
            store.release(event_id)      # let the sender's retry handle it again
            raise
        store.confirm(event_id)          # remembered for ``ttl`` seconds

A claim lasts ``claim_ttl`` seconds (default 60) so that a worker that dies
mid-way does not block the event for ever; a confirmation lasts ``ttl``
seconds (default 7 days, the sender's retention).

Stores: :class:`MemoryDedupe` (one process), :class:`SqliteDedupe` (one
machine, several processes) and :class:`RedisDedupe` (many machines).
:func:`dedupe_from_url` builds one from ``memory://``, ``sqlite:///path`` or
``redis://host:port/db``.
"""

from __future__ import annotations

import enum
import os
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import ConfigurationError

if TYPE_CHECKING:
    import redis

__all__ = [
    "DEFAULT_CLAIM_TTL",
    "DEFAULT_TTL",
    "Claim",
    "DedupeStore",
    "MemoryDedupe",
    "RedisDedupe",
    "SqliteDedupe",
    "dedupe_from_url",
]

#: How long a handled eventId is remembered: the sender's 7-day retention.
DEFAULT_TTL = 7 * 24 * 3600.0
#: How long a claim holds before another worker may take the event over.
DEFAULT_CLAIM_TTL = 60.0

Clock = Callable[[], float]


class Claim(enum.Enum):
    """The outcome of :meth:`DedupeStore.claim`."""

    NEW = "new"
    """Not seen before: the caller now holds the claim and must confirm or release it."""
    DUPLICATE = "duplicate"
    """Handled before (confirmed within ``ttl``): skip it."""
    IN_FLIGHT = "in_flight"
    """Claimed by another worker that has not finished yet: try again later."""


class DedupeStore(ABC):
    """The interface every de-duplication store implements.

    ``ttl`` is how long a confirmed id is remembered and ``claim_ttl`` how long
    an unconfirmed claim holds, both in seconds.
    """

    def __init__(self, *, ttl: float = DEFAULT_TTL, claim_ttl: float = DEFAULT_CLAIM_TTL) -> None:
        if ttl <= 0 or claim_ttl <= 0:
            raise ConfigurationError("ttl and claim_ttl must be positive numbers of seconds")
        self.ttl = float(ttl)
        self.claim_ttl = float(claim_ttl)

    @abstractmethod
    def claim(self, key: str) -> Claim:
        """Try to take ``key`` for handling; see :class:`Claim` for the outcomes."""

    @abstractmethod
    def confirm(self, key: str) -> None:
        """Mark ``key`` as handled, remembered for ``ttl`` seconds."""

    @abstractmethod
    def release(self, key: str) -> None:
        """Give up a claim on ``key`` so that a later delivery handles it again."""

    def close(self) -> None:  # noqa: B027 - most stores have nothing to free
        """Free the store's resources (connections, files)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(ttl={self.ttl:g}, claim_ttl={self.claim_ttl:g})"


_CLAIMED, _DONE = 0, 1


class MemoryDedupe(DedupeStore):
    """An in-process store, bounded to ``max_entries`` ids (the oldest are forgotten first).

    Thread-safe, but each process has its own: with several gunicorn workers use
    :class:`SqliteDedupe` or :class:`RedisDedupe`. ``clock`` returns Unix seconds.
    """

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL,
        claim_ttl: float = DEFAULT_CLAIM_TTL,
        max_entries: int = 100_000,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(ttl=ttl, claim_ttl=claim_ttl)
        if max_entries < 1:
            raise ConfigurationError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        # key -> (state, expires_at), in insertion order so the oldest is evicted first.
        self._entries: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def claim(self, key: str) -> Claim:
        """Try to take ``key``; see :class:`Claim`."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[1] > now:
                return Claim.DUPLICATE if entry[0] == _DONE else Claim.IN_FLIGHT
            self._entries[key] = (_CLAIMED, now + self.claim_ttl)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            return Claim.NEW

    def confirm(self, key: str) -> None:
        """Remember ``key`` as handled for ``ttl`` seconds."""
        now = self._clock()
        with self._lock:
            self._entries[key] = (_DONE, now + self.ttl)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def release(self, key: str) -> None:
        """Drop an unconfirmed claim on ``key``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == _CLAIMED:
                del self._entries[key]


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS hookwire_seen ("
    " key TEXT PRIMARY KEY, state INTEGER NOT NULL, expires_at REAL NOT NULL)"
)


class SqliteDedupe(DedupeStore):
    """A store in an SQLite file, shared by every process on the machine that opens it.

    Each claim is one ``BEGIN IMMEDIATE`` transaction, so two processes never
    both get :attr:`Claim.NEW` for one id. Expired rows are purged now and then.
    """

    _PURGE_EVERY = 1000

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        ttl: float = DEFAULT_TTL,
        claim_ttl: float = DEFAULT_CLAIM_TTL,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(ttl=ttl, claim_ttl=claim_ttl)
        self.path = os.fspath(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._writes = 0
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise ConfigurationError(f"cannot open the dedupe database {self.path}: {exc}") from exc

    def __repr__(self) -> str:
        return f"SqliteDedupe({self.path!r}, ttl={self.ttl:g}, claim_ttl={self.claim_ttl:g})"

    def claim(self, key: str) -> Claim:
        """Try to take ``key``; see :class:`Claim`."""
        now = self._clock()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._conn.execute(
                    "SELECT state FROM hookwire_seen WHERE key = ? AND expires_at > ?", (key, now)
                ).fetchone()
                if row is not None:
                    return Claim.DUPLICATE if row[0] == _DONE else Claim.IN_FLIGHT
                self._conn.execute(
                    "INSERT OR REPLACE INTO hookwire_seen VALUES (?, ?, ?)",
                    (key, _CLAIMED, now + self.claim_ttl),
                )
                return Claim.NEW
            finally:
                self._conn.execute("COMMIT")

    def confirm(self, key: str) -> None:
        """Remember ``key`` as handled for ``ttl`` seconds."""
        now = self._clock()
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO hookwire_seen VALUES (?, ?, ?)",
                (key, _DONE, now + self.ttl),
            )
            self._writes += 1
            if self._writes % self._PURGE_EVERY == 0:
                self._conn.execute("DELETE FROM hookwire_seen WHERE expires_at <= ?", (now,))

    def release(self, key: str) -> None:
        """Drop an unconfirmed claim on ``key``."""
        with self._lock:
            self._conn.execute(
                "DELETE FROM hookwire_seen WHERE key = ? AND state = ?", (key, _CLAIMED)
            )

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()


# Claim only when the key is absent, else answer its state, in one atomic round trip.
_REDIS_CLAIM = """
if redis.call('SET', KEYS[1], 'claimed', 'NX', 'PX', ARGV[1]) then return 'new' end
return redis.call('GET', KEYS[1])
"""
_REDIS_RELEASE = """
if redis.call('GET', KEYS[1]) == 'claimed' then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisDedupe(DedupeStore):
    """A store in Redis (``SET NX`` with expiry), shared by every worker on every host.

    Give a ``url`` (``redis://host:6379/0``) or a ready ``client``; keys are
    ``prefix + eventId``. Needs the ``redis`` package (``pip install hookwire[redis]``).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: redis.Redis[Any] | None = None,
        prefix: str = "hookwire:seen:",
        ttl: float = DEFAULT_TTL,
        claim_ttl: float = DEFAULT_CLAIM_TTL,
    ) -> None:
        super().__init__(ttl=ttl, claim_ttl=claim_ttl)
        if (url is None) == (client is None):
            raise ConfigurationError("RedisDedupe needs either a url or a client, not both")
        if client is None:
            try:
                import redis as redis_module
            except ImportError as exc:
                raise ConfigurationError(
                    "RedisDedupe needs the redis package: pip install 'hookwire[redis]'"
                ) from exc
            client = _redis_from_url(redis_module, str(url))
        self._client = client
        self._own_client = url is not None
        self.prefix = prefix
        self._claim = client.register_script(_REDIS_CLAIM)
        self._release = client.register_script(_REDIS_RELEASE)

    def __repr__(self) -> str:
        return (
            f"RedisDedupe(prefix={self.prefix!r}, ttl={self.ttl:g}, claim_ttl={self.claim_ttl:g})"
        )

    def claim(self, key: str) -> Claim:
        """Try to take ``key``; see :class:`Claim`."""
        answer: Any = self._claim(keys=[self.prefix + key], args=[int(self.claim_ttl * 1000)])
        if isinstance(answer, bytes):
            answer = answer.decode()
        if answer == "new":
            return Claim.NEW
        return Claim.DUPLICATE if answer == "done" else Claim.IN_FLIGHT

    def confirm(self, key: str) -> None:
        """Remember ``key`` as handled for ``ttl`` seconds."""
        self._client.set(self.prefix + key, "done", px=int(self.ttl * 1000))

    def release(self, key: str) -> None:
        """Drop an unconfirmed claim on ``key``."""
        self._release(keys=[self.prefix + key])

    def close(self) -> None:
        """Close the connection pool if this store made it."""
        if self._own_client:
            self._client.close()


def _redis_from_url(redis_module: Any, url: str) -> redis.Redis[Any]:
    """A client for ``url``; a URL redis-py refuses is a ConfigurationError without its password."""
    try:
        client: redis.Redis[Any] = redis_module.Redis.from_url(url)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        try:
            password = urlsplit(url).password
        except ValueError:
            password = None
        if password:
            message = message.replace(password, "***")
        raise ConfigurationError(f"cannot use the Redis URL: {message}") from None
    return client


def dedupe_from_url(url: str, *, ttl: float = DEFAULT_TTL) -> DedupeStore:
    """Build a store from a URL: ``memory://``, ``sqlite:///relative.db``,
    ``sqlite:////absolute/path.db``, ``redis://host:port/db`` or ``rediss://...``.

    Raises :class:`ConfigurationError` for any other scheme.
    """
    if not isinstance(url, str):
        raise ConfigurationError(f"a dedupe URL must be a string, not {type(url).__name__}")
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        return MemoryDedupe(ttl=ttl)
    if scheme == "sqlite":
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if not path:
            raise ConfigurationError("a sqlite dedupe URL needs a path: sqlite:///dedupe.db")
        return SqliteDedupe(path, ttl=ttl)
    if scheme in {"redis", "rediss", "unix"}:
        return RedisDedupe(url, ttl=ttl)
    shown = url.split("://", 1)[0] if "://" in url else "(no scheme)"
    raise ConfigurationError(
        f"unknown dedupe URL scheme {shown!r}: use memory://, sqlite:///path or redis://host/db"
    )
