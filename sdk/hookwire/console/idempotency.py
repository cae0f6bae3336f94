"""``Idempotency-Key`` for the API's unsafe methods.

The first request with a key reserves it, runs, and keeps its answer; a repeat
of the same request (same method, path and body) gets that answer again
without running; the same key with another request is a 409, and so is a
repeat while the first is still running. Keys belong to the caller that sent
them (two callers may use the same key).

An answer is kept without the secrets it reveals (``signatureFile``, shown
once): a replay answers the same status and body with those fields null.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from . import tables
from .problems import ApiError

__all__ = ["HEADER", "SECRET_FIELDS", "check_key", "fingerprint", "run_once"]

HEADER = "Idempotency-Key"
_MAX_KEY = 255
_RUNNING = 0

SECRET_FIELDS = ("signatureFile",)
"""Top-level answer fields that hold a secret, never kept for a replay."""


def check_key(value: str) -> str:
    """The key, or a 400 naming the header when it is empty, too long or not printable ASCII."""
    if not 0 < len(value) <= _MAX_KEY or not all(" " < ch < "\x7f" for ch in value):
        raise ApiError(
            400,
            f"{HEADER} must be 1 to {_MAX_KEY} printable ASCII characters without spaces",
            errors=[{"field": f"header.{HEADER}", "message": "not a valid key"}],
        )
    return value


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests the same request: method, path and body bytes."""
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def run_once(
    engine: Engine, actor: str, key: str, print_: str, run: Callable[[], tuple[int, str]]
) -> tuple[int, str, bool]:
    """The answer ``(status, json, replayed)`` of the first request with ``key``, running
    ``run`` once; ``replayed`` is True when the answer is the kept one."""
    where = and_(tables.idempotency.c.actor == actor, tables.idempotency.c.key == key)
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(tables.idempotency).values(
                    actor=actor,
                    key=key,
                    fingerprint=print_,
                    status=_RUNNING,
                    body="",
                    created_at=datetime.now(UTC),
                )
            )
    except IntegrityError:
        status, body = _replay(engine, where, print_)
        return status, body, True
    try:
        status, body = run()
    except BaseException:
        # Nothing answered: the key is free for a retry.
        with engine.begin() as conn:
            conn.execute(delete(tables.idempotency).where(where))
        raise
    with engine.begin() as conn:
        conn.execute(
            update(tables.idempotency).where(where).values(status=status, body=_kept(body))
        )
    return status, body, False


def _kept(body: str) -> str:
    """The answer without its secret fields."""
    if not any(f'"{name}"' in body for name in SECRET_FIELDS):
        return body
    answer = json.loads(body)
    if isinstance(answer, dict):
        for name in SECRET_FIELDS:
            if name in answer:
                answer[name] = None
    return json.dumps(answer, separators=(",", ":"))


def _replay(engine: Engine, where: object, print_: str) -> tuple[int, str]:
    with engine.connect() as conn:
        row = conn.execute(
            select(
                tables.idempotency.c.fingerprint,
                tables.idempotency.c.status,
                tables.idempotency.c.body,
            ).where(where)  # type: ignore[arg-type]
        ).one()
    stored_print, status, body = row
    if stored_print != print_:
        raise ApiError(
            409,
            f"this {HEADER} was used for another request; use a new key for a new request",
        )
    if status == _RUNNING:
        raise ApiError(409, f"a request with this {HEADER} is still running; retry later")
    return int(status), str(body)
