"""``sender.webhooks``: register, change, retire and test webhooks.

The per-field checks (``check_name`` and the rest, with the ``MAX_*`` lengths) are
public here; they live in ``webhook_fields``.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from ..errors import (
    NotFoundError,
    QueryError,
    RegistryError,
    WebhookLimitError,
)
from ..hints import Hint
from ..signature_file import SCHEME_ED25519, SCHEME_HMAC, SignatureFile
from ..signing import generate_keypair, generate_secret, public_key_of
from .guard import check_resolved_target, validate_target_url
from .models import (
    Attempt,
    AuthKind,
    BasicAuth,
    Webhook,
    check_account_id,
    check_duration,
    is_possible_id,
    shown_id,
)
from .operator_webhook import operator_auth, put_operator_webhook
from .rows import new_id
from .store import Store
from .webhook_fields import (
    MAX_CREDENTIAL,
    MAX_DESCRIPTION,
    MAX_NAME,
    check_basic_password,
    check_basic_username,
    check_description,
    check_event_names,
    check_name,
)

__all__ = [
    "KEEP",
    "MAX_CREDENTIAL",
    "MAX_DESCRIPTION",
    "MAX_NAME",
    "Webhooks",
    "check_basic_password",
    "check_basic_username",
    "check_description",
    "check_event_names",
    "check_name",
]

log = logging.getLogger("hookwire.sender")

Auth = str | BasicAuth | None


class _Keep(enum.Enum):
    """The type of :data:`KEEP`."""

    KEEP = "keep"

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = _Keep.KEEP
"""``Webhooks.update``'s default for ``auth`` (where None means no auth): keep the credentials."""


def _auth_values(auth: Auth) -> tuple[AuthKind, str | None, str | None, str | None]:
    """(kind, new secret, basic username, basic password) for an ``auth`` argument."""
    if auth is None or auth == "none":
        return "none", None, None, None
    if auth == "signature":
        return "signature", generate_secret(), None, None
    if auth == "signature-ed25519":
        return "signature-ed25519", generate_keypair()[0], None, None
    if isinstance(auth, BasicAuth):
        username = check_basic_username(auth.username)
        password = check_basic_password(auth.password)
        return "basic", None, username, password
    raise RegistryError(
        f"unknown auth {type(auth).__name__ if not isinstance(auth, str) else repr(auth)}; use "
        "None, 'signature', 'signature-ed25519' or BasicAuth(username, password)"
    )


def _active(active: object) -> bool:
    if not isinstance(active, bool):
        raise RegistryError(f"active must be True or False, not {type(active).__name__}")
    return active


def _not_found(webhook_id: object) -> NotFoundError:
    return NotFoundError(f"no webhook {shown_id(webhook_id)}", hint=Hint.LIST_WEBHOOKS)


class Webhooks:
    """The webhook registry of a :class:`~hookwire.sender.Sender` (``sender.webhooks``).

    Example::

        hook = sender.webhooks.create(
            name="LMS sync", target_url="https://example.com/hooks",
            events=["COURSE_COMPLETED"], auth="signature", account_id=1010,
        )
        sender.webhooks.signature_file(hook.id).write("signature.json")

    A person switches a webhook off with :meth:`retire` and on with
    :meth:`activate`; the sender disables one itself (a 410 answer, or
    failing for ``max_age``) and says why in ``Webhook.disabled_reason``,
    which is None for a webhook a person retired.
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime],
        max_per_account: int,
        allow_private_targets: bool,
        rotation_grace: timedelta,
        send_test: Callable[[Webhook], Awaitable[Attempt]],
        wake: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        # Called after a change that can make queued work due (a webhook switched on).
        self._wake = wake
        self._clock = clock
        self._max = max_per_account
        self._allow_private = allow_private_targets
        self._grace = rotation_grace
        self._send_test = send_test

    @property
    def limit(self) -> int:
        """The most webhooks one account may have (``max_webhooks_per_account``)."""
        return self._max

    def _target(self, url: str) -> str:
        if self._allow_private:
            validate_target_url(url)
        else:
            check_resolved_target(url)
        return url

    def create(
        self,
        *,
        name: str,
        target_url: str,
        events: Iterable[str],
        account_id: int,
        auth: Auth = None,
        description: str = "",
        active: bool = True,
    ) -> Webhook:
        """Register a webhook; a :class:`~hookwire.errors.RegistryError` says what to fix."""
        check_account_id(account_id, RegistryError)
        values: dict[str, Any] = {
            "name": check_name(name),
            "target_url": self._target(target_url),
            "events": json.dumps(check_event_names(events)),
        }
        kind, secret, username, password = _auth_values(auth)
        now = self._clock()
        values.update(
            id=new_id("wh"),
            account_id=account_id,
            description=check_description(description),
            auth=kind,
            basic_username=username,
            basic_password=password,
            active=_active(active),
            created_at=now,
            updated_at=now,
        )
        webhook = self._store.insert_webhook(values, secret=secret, limit=self._max)
        if webhook is None:
            raise WebhookLimitError(
                f"account {account_id} already has {self._max} webhooks; delete or reuse one",
                account_id=account_id,
                limit=self._max,
            )
        log.info("webhook %s created for account %s (%s auth)", webhook.id, account_id, kind)
        return webhook

    def get(self, webhook_id: str) -> Webhook:
        """The webhook with this id; :class:`~hookwire.errors.NotFoundError` if none."""
        webhook = self._store.get_webhook(webhook_id) if is_possible_id(webhook_id) else None
        if webhook is None:
            raise _not_found(webhook_id)
        return webhook

    def list(self, account_id: int | None = None) -> list[Webhook]:
        """Every webhook, or the account's, oldest first; :class:`~hookwire.errors.QueryError`
        for an ``account_id`` that is not one."""
        if account_id is not None:
            check_account_id(account_id, QueryError)
        return self._store.list_webhooks(account_id)

    def update(
        self,
        webhook_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        target_url: str | None = None,
        events: Iterable[str] | None = None,
        auth: Auth | Literal[_Keep.KEEP] = KEEP,
        active: bool | None = None,
    ) -> Webhook:
        """Change what is given; a :class:`~hookwire.errors.RegistryError` says what to fix.

        Each argument left out (None, or :data:`KEEP` for ``auth``, where
        None means no auth) keeps its value; ``description=""`` clears the
        description. A new ``auth`` replaces the old credentials at once (a
        new secret is generated for the signature kinds; use
        :meth:`rotate_secret` to keep the old one valid for a while).
        ``active=False`` retires the webhook and ``active=True`` activates it,
        as :meth:`retire` and :meth:`activate` do.

        Example::

            sender.webhooks.update(hook.id, target_url="https://example.com/v2/hooks")
        """
        self.get(webhook_id)
        values: dict[str, Any] = {"updated_at": self._clock()}
        changed: list[str] = []
        if name is not None:
            values["name"] = check_name(name)
            changed.append("name")
        if description is not None:
            values["description"] = check_description(description)
            changed.append("description")
        if target_url is not None:
            values["target_url"] = self._target(target_url)
            changed.append("target_url")
        if events is not None:
            values["events"] = json.dumps(check_event_names(events))
            changed.append("events")
        if active is not None:
            values.update(_activation(_active(active)))
            changed.append("active")
        secrets: tuple[str | None] | None = None
        if auth is not KEEP:
            kind, secret, username, password = _auth_values(auth)
            values.update(auth=kind, basic_username=username, basic_password=password)
            secrets = (secret,)
            changed.append("auth")
        webhook = self._store.update_webhook(webhook_id, values, secrets=secrets)
        if webhook is None:
            raise _not_found(webhook_id)
        log.info("webhook %s changed: %s", webhook_id, ", ".join(sorted(changed)))
        if webhook.active and self._wake is not None:
            # Its deliveries may wait (a webhook switched on again): dispatchers look now.
            self._wake()
        return webhook

    def delete(self, webhook_id: str) -> None:
        """Delete a webhook with its deliveries and attempt log."""
        if not is_possible_id(webhook_id) or not self._store.delete_webhook(webhook_id):
            raise _not_found(webhook_id)
        log.info("webhook %s deleted", webhook_id)

    def retire(self, webhook_id: str) -> Webhook:
        """Switch a webhook off: nothing is queued for it or sent to it until activated.

        A person's act: ``active`` becomes False and ``disabled_reason`` None
        (also for a webhook the sender had disabled).
        """
        return self.update(webhook_id, active=False)

    def activate(self, webhook_id: str) -> Webhook:
        """Switch a webhook on again, also one the sender disabled (its reason is cleared)."""
        return self.update(webhook_id, active=True)

    def rotate_secret(self, webhook_id: str, grace: timedelta | None = None) -> Webhook:
        """Make a new secret; the old ones keep signing beside it for ``grace`` (default 24 h)."""
        webhook = self.get(webhook_id)
        if webhook.auth not in ("signature", "signature-ed25519"):
            raise RegistryError(f"webhook {webhook_id} uses {webhook.auth} auth; it has no secret")
        secret = generate_secret() if webhook.auth == "signature" else generate_keypair()[0]
        now = self._clock()
        period = self._grace if grace is None else check_duration(grace, "grace", RegistryError)
        self._store.rotate_secret(webhook_id, secret, now=now, expires=now + period)
        log.info("webhook %s secret rotated (old one valid for %s)", webhook_id, period)
        return self._store.update_webhook(webhook_id, {"updated_at": now}) or webhook

    def signature_file(self, webhook_id: str) -> SignatureFile:
        """The signature file a listener verifies with: give it to ``hookwire.Receiver``.

        ``.to_json()`` is the downloadable JSON and ``.write(path)`` saves it
        owner-only. During a rotation an HMAC file lists every valid secret,
        newest first.
        """
        webhook = self.get(webhook_id)
        if webhook.auth not in ("signature", "signature-ed25519"):
            raise RegistryError(
                f"webhook {webhook_id} uses {webhook.auth} auth; only signature webhooks have a "
                "signature file"
            )
        now = self._clock()
        keys = self._store.valid_secrets([webhook_id], now=now).get(webhook_id, [])
        created = self._store.secrets_created_at(webhook_id) or webhook.created_at
        if webhook.auth == "signature-ed25519":
            return SignatureFile(webhook_id, SCHEME_ED25519, (public_key_of(keys[0]),), created)
        return SignatureFile(webhook_id, SCHEME_HMAC, tuple(keys), created)

    async def test(self, webhook_id: str) -> Attempt:
        """Send a signed test delivery now (even to a retired webhook) and return its attempt."""
        return await self._send_test(self.get(webhook_id))

    def set_operator(self, target_url: str, *, secret: str) -> Webhook:
        """Send operator events to ``target_url``, signed with ``secret`` (``whsec_`` or
        ``whsk_``): create or update the reserved operator webhook, active.

        ``Sender(operator_url=..., operator_secret=...)`` calls this. The webhook
        (:data:`~hookwire.sender.operator.OPERATOR_WEBHOOK_ID`) is stored in the
        registry, so every dispatcher on this store delivers to it; it is reached by
        id (``get``, ``retire``, ``test``, ``delete``) but never listed or counted
        against an account. Nothing is written when it is set up so already.
        """
        operator_auth(secret)  # the secret is refused before the target is resolved
        return put_operator_webhook(
            self._store, self._target(target_url), secret, now=self._clock()
        )


def _activation(active: bool) -> dict[str, Any]:
    """The columns a person's switch sets: activating clears the sender's reason and
    failure run; retiring leaves no reason, since the sender did not switch it off."""
    if active:
        return {"active": True, "disabled_reason": None, "failing_since": None}
    return {"active": False, "disabled_reason": None}
