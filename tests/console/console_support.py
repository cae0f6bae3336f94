"""Helpers for the console's tests: principals and an app mounting the console over a sender."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from _openapi_helpers import check_every_answer
from flask import Flask
from flask.testing import FlaskClient

from hookwire.console import Console, Principal
from hookwire.sender import Sender

SECRET_KEY = "console-test-secret-key-0123456789"


def admin(account_id: int, *, read_only: bool = False) -> Principal:
    """An account's admin through the host's login: reads, and manages unless read-only."""
    caps = frozenset({"read"} if read_only else {"read", "manage"})
    return Principal(
        name=f"host:admin-{account_id}", accounts=frozenset({account_id}), capabilities=caps
    )  # type: ignore[arg-type]


def operator(*, read_only: bool = False) -> Principal:
    """An operator who sees every account (and publishes unless read-only)."""
    caps = frozenset({"read"} if read_only else {"read", "manage", "publish"})
    return Principal(name="host:operator", accounts=None, capabilities=caps)  # type: ignore[arg-type]


@dataclass
class ConsoleHarness:
    """A Flask app with the console mounted, its test client and its sender."""

    app: Flask
    sender: Sender
    console: Console
    principal: list[Principal | None] = field(default_factory=lambda: [None])

    @property
    def client(self) -> FlaskClient:
        """A fresh test client (cookies of its own)."""
        return self.app.test_client()

    def as_(self, principal: Principal | None) -> FlaskClient:
        """A client whose requests the host's ``authorize`` hook answers as ``principal``."""
        self.principal[0] = principal
        return self.client


def build_harness(url: str, **sender_options: Any) -> ConsoleHarness:
    """The console over a new sender on ``url`` (private targets allowed, for 127.0.0.1)."""
    sender_options.setdefault("allow_private_targets", True)
    sender = Sender(url, **sender_options)
    app = Flask("console-test")
    app.config.update(TESTING=True, HOOKWIRE_CONSOLE_SECRET_KEY=SECRET_KEY)
    holder: list[Principal | None] = [None]
    console = Console(app, sender=sender, authorize=lambda _request: holder[0])
    # Every API answer of every console test is checked against the OpenAPI document.
    check_every_answer(app)
    return ConsoleHarness(app, sender, console, holder)
