"""Helpers of the delivery log, events and audit API tests: a real target, hooks, publishing.

The target is pytest-httpserver's server on 127.0.0.1: ``/ok`` answers 202,
``/fail`` 500 (the delivery is retried later: ``failed``), ``/gone`` 413 (a
lone event the target refuses as too large: ``dead``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from console_support import ConsoleHarness
from flask.testing import FlaskClient
from pytest_httpserver import HTTPServer

COMPLETED = {"userId": 7, "loId": "course:1", "loInstanceId": "course:1_1", "hasPassed": True}
"""A valid COURSE_COMPLETED data object."""

CI_STATS = {
    "loInstanceId": "course:1_1",
    "waitlistCount": 0,
    "enrollmentCount": 18,
    "seatLimit": 25,
}
"""A valid CI_STATS data object."""


def serve(server: HTTPServer) -> None:
    """Make ``server`` answer ``/ok`` with 202, ``/fail`` with 500 and ``/too-large`` with 413."""
    server.expect_request("/ok", method="POST").respond_with_data("thanks", status=202)
    server.expect_request("/fail", method="POST").respond_with_data("broken", status=500)
    server.expect_request("/too-large", method="POST").respond_with_data("no", status=413)


def hook(
    console: ConsoleHarness, server: HTTPServer, account_id: int, path: str = "/ok", **options: Any
) -> str:
    """Register a webhook of ``account_id`` for COURSE_COMPLETED and CI_STATS at ``path``."""
    options.setdefault("name", f"hook {path}")
    options.setdefault("events", ["COURSE_COMPLETED", "CI_STATS"])
    options.setdefault("auth", "signature")
    return console.sender.webhooks.create(
        target_url=server.url_for(path), account_id=account_id, **options
    ).id


def publish(
    console: ConsoleHarness, account_id: int, count: int = 1, name: str = "COURSE_COMPLETED"
) -> list[str]:
    """Publish ``count`` events of ``name`` to ``account_id``; their ids, oldest first."""
    data = COMPLETED if name == "COURSE_COMPLETED" else CI_STATS
    return [
        console.sender.publish(name, data=data, account_id=account_id).event_id
        for _ in range(count)
    ]


def deliver(console: ConsoleHarness) -> None:
    """Send everything due now to the real target."""
    asyncio.run(console.sender.drain())


def walk(client: FlaskClient, url: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a cursor-paged list, following ``nextCursor`` to the end."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        answer = client.get(url, query_string=query)
        assert answer.status_code == 200, answer.get_json()
        body = answer.get_json()
        items.extend(body["items"])
        cursor = body["nextCursor"]
        if cursor is None:
            return items


def fields(answer: Any) -> list[str]:
    """The fields a problem document names."""
    return [error["field"] for error in answer.get_json().get("errors", [])]
