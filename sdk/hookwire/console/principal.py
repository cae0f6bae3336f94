"""Who is asking, and what they may do: the one object every access check reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CAPABILITIES", "Capability", "Principal"]

Capability = Literal["read", "manage", "publish"]
"""``read`` sees an account's webhooks, events, deliveries and audit log; ``manage``
changes webhooks and resends deliveries; ``publish`` lists and publishes events of any
account it sees (an operator's capability)."""

CAPABILITIES: tuple[Capability, ...] = ("read", "manage", "publish")


@dataclass(frozen=True)
class Principal:
    """The caller of a console request.

    ``accounts`` is None for an operator who sees every account, else the
    accounts this caller sees; a route of any other account answers 404, as
    if it did not exist. ``name`` is what the audit log records as the actor
    (never a secret). ``via`` says how the caller proved who they are:
    ``key`` (an API key), ``session`` (a cookie from an access link) or
    ``host`` (the embedding application's ``authorize`` hook). ``session_id``
    ties a session's CSRF token to it.

    Example (a platform's own login, through ``Console(authorize=...)``)::

        def authorize(request):
            user = current_user()
            if user is None:
                return None
            return Principal(name=f"user:{user.id}", accounts=frozenset({user.account_id}),
                             capabilities=frozenset({"read", "manage"}))
    """

    name: str
    accounts: frozenset[int] | None
    capabilities: frozenset[Capability]
    via: Literal["key", "session", "host"] = "host"
    session_id: str | None = None

    def sees(self, account_id: int) -> bool:
        """Whether this caller may see anything of ``account_id``."""
        return self.accounts is None or account_id in self.accounts

    def can(self, capability: Capability) -> bool:
        """Whether this caller holds ``capability``."""
        return capability in self.capabilities

    @property
    def is_operator(self) -> bool:
        """Whether this caller sees every account."""
        return self.accounts is None
