"""Operator API keys: ``Authorization: Bearer hwk_...`` for scripts and other services.

A key is shown once, when it is made; the database keeps only its SHA-256
digest, so a copy of the database holds no usable key. A key sees every
account or the accounts it was made for, and reads, manages and publishes
unless it is read-only. Revoking a key stops it at once.

Example::

    info, token = create_key(sender.engine, name="ci", accounts=[1010], read_only=True)
    print(token)            # hwk_...: give it to the script; it is never shown again
    revoke_key(sender.engine, info.id)
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, and_, bindparam, insert, or_, select, update

from ..errors import ConfigurationError, NotFoundError
from ..sender.models import check_account_id
from ..sender.rows import new_id
from . import tables
from .principal import Capability, Principal

if TYPE_CHECKING:
    from .state import ConsoleState

__all__ = [
    "KEY_PREFIX",
    "KeyInfo",
    "create_key",
    "key_digest",
    "list_keys",
    "principal_for_key",
    "revoke_key",
]

KEY_PREFIX = "hwk_"
"""How every API key starts, so a leaked one is easy to recognise (and to scan for)."""

# 32 random bytes in URL-safe base64 without padding: 43 characters.
_KEY_SHAPE = re.compile(r"^hwk_[A-Za-z0-9_-]{43}$")
_NAME_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:-]{0,99}$")
# A key used again within this long keeps its recorded last use: no write per request.
_LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class KeyInfo:
    """What is known of an API key: never the key itself, only who it is and what it sees.

    ``accounts`` is None for a key that sees every account. ``last_used_at``
    is recorded at most once a minute.
    """

    id: str
    name: str
    accounts: frozenset[int] | None
    read_only: bool
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Whether the key still works (it has not been revoked)."""
        return self.revoked_at is None

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What the key may do: read, and manage and publish unless it is read-only."""
        if self.read_only:
            return frozenset({"read"})
        return frozenset({"read", "manage", "publish"})


def key_digest(token: str) -> str:
    """The SHA-256 hex digest under which a key is stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(
    engine: Engine, *, name: str, accounts: Iterable[int] | None, read_only: bool
) -> tuple[KeyInfo, str]:
    """Make a key: its info, and the key itself (``hwk_...``), which is not kept anywhere.

    ``name`` (letters, digits and ``._@:-``, up to 100 characters) is what the
    audit log records as ``key:<name>``; no two active keys share one.
    ``accounts`` None makes a key that sees every account. A bad name or
    account, or a name in use, raises :class:`~hookwire.ConfigurationError`.
    The console's tables are created first when missing.
    """
    if not _NAME_SHAPE.match(name):
        raise ConfigurationError(
            "a key's name is 1 to 100 letters, digits or ._@:- characters, starting with a "
            "letter or digit"
        )
    scope = _check_accounts(accounts)
    token = KEY_PREFIX + secrets.token_urlsafe(32)
    info = KeyInfo(
        id=new_id("key"),
        name=name,
        accounts=scope,
        read_only=read_only,
        created_at=datetime.now(UTC),
        last_used_at=None,
        revoked_at=None,
    )
    tables.ensure_schema(engine)
    keys = tables.api_keys
    with engine.begin() as conn:
        active = and_(keys.c.name == name, keys.c.revoked_at.is_(None))
        if conn.execute(select(keys.c.id).where(active)).first() is not None:
            raise ConfigurationError(
                f"an active key is already named {name!r}; revoke it or choose another name"
            )
        conn.execute(
            insert(keys).values(
                id=info.id,
                name=name,
                digest=key_digest(token),
                accounts=None if scope is None else json.dumps(sorted(scope)),
                read_only=read_only,
                created_at=info.created_at,
            )
        )
    return info, token


def _check_accounts(accounts: Iterable[int] | None) -> frozenset[int] | None:
    if accounts is None:
        return None
    scope = frozenset(check_account_id(a, ConfigurationError) for a in accounts)
    if not scope:
        raise ConfigurationError(
            "a key for no account sees nothing: name its accounts, or leave them out for all"
        )
    return scope


def list_keys(engine: Engine) -> list[KeyInfo]:
    """Every key, revoked ones too, oldest first (the console's tables made when missing)."""
    tables.ensure_schema(engine)
    keys = tables.api_keys
    with engine.connect() as conn:
        rows = conn.execute(select(keys).order_by(keys.c.created_at, keys.c.id)).mappings()
        return [_info(row) for row in rows]


def revoke_key(engine: Engine, key_id: str) -> KeyInfo:
    """Revoke a key now (a revoked key stays revoked); an unknown id raises NotFoundError."""
    tables.ensure_schema(engine)
    keys = tables.api_keys
    with engine.begin() as conn:
        conn.execute(
            update(keys)
            .where(keys.c.id == key_id, keys.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
        row = conn.execute(select(keys).where(keys.c.id == key_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no API key {key_id!r}")
    return _info(row)


# Built once: every request with a key looks it up.
_BY_DIGEST = select(tables.api_keys).where(tables.api_keys.c.digest == bindparam("digest"))


def principal_for_key(state: ConsoleState, token: str) -> Principal | None:
    """The caller a key proves, or None for a key that is malformed, unknown or revoked.

    The key is looked up by its digest, so the lookup's timing says nothing
    about how much of a guess was right.
    """
    if not _KEY_SHAPE.match(token):
        return None
    with state.reading() as conn:
        row = conn.execute(_BY_DIGEST, {"digest": key_digest(token)}).mappings().first()
    if row is None or row["revoked_at"] is not None:
        return None
    info = _info(row)
    _note_use(state.engine, info)
    return Principal(
        name=f"key:{info.name}",
        accounts=info.accounts,
        capabilities=info.capabilities,
        via="key",
    )


def _note_use(engine: Engine, info: KeyInfo) -> None:
    """Record the key's use unless it was recorded within the last minute."""
    now = datetime.now(UTC)
    stale = now - _LAST_USED_EVERY
    if info.last_used_at is not None and info.last_used_at > stale:
        return
    keys = tables.api_keys
    with engine.begin() as conn:
        conn.execute(
            update(keys)
            .where(
                keys.c.id == info.id,
                or_(keys.c.last_used_at.is_(None), keys.c.last_used_at <= stale),
            )
            .values(last_used_at=now)
        )


def _info(row: Any) -> KeyInfo:
    accounts = row["accounts"]
    return KeyInfo(
        id=row["id"],
        name=row["name"],
        accounts=None if accounts is None else frozenset(int(a) for a in json.loads(accounts)),
        read_only=bool(row["read_only"]),
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )
