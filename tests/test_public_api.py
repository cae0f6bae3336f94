"""The public face: every exported name imports, and importing stays light."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import hookwire
from hookwire import errors

HEAVY = ("aiohttp", "sqlalchemy", "flask")


def test_design_contract_names_are_exported() -> None:
    contract = {
        "Receiver",
        "Envelope",
        "Event",
        "WebhookError",
        "VerificationError",
        "PayloadError",
        "sign_headers",
        "generate_secret",
        "parse_unverified",
        "CATALOGUE",
    }
    assert contract <= set(dir(hookwire))


def test_every_error_is_exported() -> None:
    for name in errors.__all__:
        assert getattr(hookwire, name) is getattr(errors, name), name


def test_every_error_derives_from_webhook_error() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.WebhookError), name


def test_error_tree_draws_every_error_once_under_its_base() -> None:
    drawn: list[str] = []
    parents: dict[str, str] = {}
    stack: list[str] = []
    for line in (errors.__doc__ or "").splitlines():
        match = re.match(r"^    ((?:[│ ]   )*)(?:├|└)── (\w+)", line)
        if line.strip() == "WebhookError":
            drawn.append("WebhookError")
            stack = ["WebhookError"]
        elif match is not None:
            depth = len(match.group(1)) // 4 + 1
            name = match.group(2)
            drawn.append(name)
            del stack[depth:]
            parents[name] = stack[-1]
            stack.append(name)
    assert sorted(drawn) == sorted(errors.__all__)
    for name, parent in parents.items():
        bases = [base.__name__ for base in getattr(errors, name).__bases__]
        assert parent in bases, (name, parent, bases)


def test_version_is_a_string() -> None:
    assert isinstance(hookwire.__version__, str)
    assert hookwire.__version__


def test_import_stays_light() -> None:
    code = (
        "import sys, json, hookwire\n"
        "r = hookwire.Receiver(secret=hookwire.generate_secret())\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == []


def test_sender_exports_its_operator_events() -> None:
    from hookwire import sender

    event_names = {
        "WEBHOOK_FAILING",
        "WEBHOOK_STILL_FAILING",
        "WEBHOOK_RECOVERED",
        "DELIVERY_DEAD",
        "DELIVERIES_EXPIRED",
        "WEBHOOK_DISABLED",
    }
    others = {"OperatorEvent", "OPERATOR_EVENT_NAMES", "OPERATOR_WEBHOOK_ID", "OPERATOR_ACCOUNT_ID"}
    assert event_names | others <= set(sender.__all__)
    assert {getattr(sender, n) for n in event_names} == set(sender.OPERATOR_EVENT_NAMES)
