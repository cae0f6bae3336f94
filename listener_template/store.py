"""The listener's own records, in SQLite, so that the listener rules have something to check.

One row per learner record (userId, loInstanceId) and one per learning object,
instance or seat count, each with the timestamp of the last event applied.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime

SCHEMA = """
CREATE TABLE IF NOT EXISTS learner_records (
    user_id INTEGER NOT NULL,
    lo_instance_id TEXT NOT NULL,
    status TEXT NOT NULL,
    progress INTEGER NOT NULL DEFAULT 0,
    last_event_at TEXT,
    PRIMARY KEY (user_id, lo_instance_id)
);
CREATE TABLE IF NOT EXISTS catalogue_items (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    last_event_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class LearnerRecord:
    """What this listener knows of one learner on one learning object instance."""

    user_id: int
    lo_instance_id: str
    status: str
    progress: int
    last_event_at: datetime | None


class Store:
    """A small SQLite store, safe to share between the threads of one worker."""

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(SCHEMA)

    def learner(self, user_id: int, lo_instance_id: str) -> LearnerRecord | None:
        """The record of one learner on one instance, if any event created it."""
        with self._lock:
            row = self._conn.execute(
                "SELECT status, progress, last_event_at FROM learner_records"
                " WHERE user_id = ? AND lo_instance_id = ?",
                (user_id, lo_instance_id),
            ).fetchone()
        if row is None:
            return None
        last = datetime.fromisoformat(row[2]) if row[2] else None
        return LearnerRecord(user_id, lo_instance_id, row[0], row[1], last)

    def save_learner(
        self,
        user_id: int,
        lo_instance_id: str,
        *,
        status: str,
        progress: int,
        last_event_at: datetime | None,
    ) -> None:
        """Create or replace one learner record."""
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO learner_records VALUES (?, ?, ?, ?, ?)",
                (
                    user_id,
                    lo_instance_id,
                    status,
                    progress,
                    last_event_at.isoformat() if last_event_at else None,
                ),
            )

    def item_last_event_at(self, key: str) -> datetime | None:
        """When the last event about a learning object, instance or seat count happened."""
        with self._lock:
            row = self._conn.execute(
                "SELECT last_event_at FROM catalogue_items WHERE key = ?", (key,)
            ).fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    def item_state(self, key: str) -> str | None:
        """The state last saved for a learning object, instance or seat count."""
        with self._lock:
            row = self._conn.execute(
                "SELECT state FROM catalogue_items WHERE key = ?", (key,)
            ).fetchone()
        return str(row[0]) if row else None

    def save_item(self, key: str, *, state: str, last_event_at: datetime) -> None:
        """Create or replace what is known of one learning object, instance or seat count."""
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO catalogue_items VALUES (?, ?, ?)",
                (key, state, last_event_at.isoformat()),
            )

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()
