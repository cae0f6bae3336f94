"""docs/api.md's curl examples work: each runs as a real ``curl`` against a real server.

Every ```sh block with ``curl`` lines is one scenario: a fresh store (account
1010 with a webhook, a signature webhook, an event and its delivery), the
console served by werkzeug on 127.0.0.1, an API key made with the library,
and the variables the examples use in the environment. Each ``curl`` must
answer 2xx, or the status a ``# answers NNN`` comment above it names. Every
route must have an example.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _openapi_helpers import ACCOUNT, build_world
from console_support import ConsoleHarness, build_harness
from werkzeug.serving import make_server

from hookwire.console import api as _api  # noqa: F401  (declares every route)
from hookwire.console.keys import create_key
from hookwire.console.routing import ROUTES, Route
from hookwire.samples import sample_data

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
DOC_BASE = "http://127.0.0.1:8000"
# The examples' listener host: resolved to 127.0.0.1 in these tests (no DNS needed).
EXAMPLE_HOST = "lms.example.com"

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl command")


@dataclass(frozen=True)
class Example:
    """One curl command of the doc and the status it should answer (None: any 2xx)."""

    command: str
    status: int | None


def _blocks() -> list[list[Example]]:
    """The doc's ```sh blocks that hold curl commands, each a list of examples in order."""
    blocks = []
    for block in re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL):
        examples, status = [], None
        for line in block.replace("\\\n", " ").splitlines():
            answers = re.match(r"#\s*answers (\d{3})", line.strip())
            if answers:
                status = int(answers.group(1))
            elif line.startswith("curl "):
                examples.append(Example(line, status))
                status = None
        if examples:
            blocks.append(examples)
    return blocks


BLOCKS = _blocks()


def _method(command: str) -> str:
    explicit = re.search(r"-X (\w+)", command)
    if explicit:
        return explicit.group(1)
    return "POST" if re.search(r"(^|\s)-d ", command) else "GET"


def _covers(found: Route, example: Example) -> bool:
    pattern = re.sub(r"<(?:\w+:)?\w+>", r"[^/\\s\"']+", re.escape(found.path).replace("\\<", "<"))
    url = re.search(r"http://127\.0\.0\.1:8000/api/v1(\S*)", example.command)
    return (
        url is not None
        and _method(example.command) == found.method
        and re.fullmatch(pattern, url.group(1).strip("\"'").split("?")[0]) is not None
    )


def test_the_doc_has_curl_examples() -> None:
    assert sum(len(block) for block in BLOCKS) >= 10


@pytest.mark.parametrize("found", ROUTES, ids=lambda found: f"{found.method} {found.path}")
def test_every_route_has_a_curl_example(found: Route) -> None:
    assert any(_covers(found, example) for block in BLOCKS for example in block), (
        f"docs/api.md has no curl example of {found.method} {found.path}"
    )


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, dict[str, str]]]:
    """The console on a real port, and the environment the examples expect."""
    _resolve_example_host(monkeypatch)
    harness = build_harness(f"sqlite:///{tmp_path / 'hookwire.db'}")
    server = make_server("127.0.0.1", 0, harness.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        yield base, _environment(harness, base)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        harness.sender.close()


def _resolve_example_host(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == EXAMPLE_HOST else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _environment(harness: ConsoleHarness, base: str) -> dict[str, str]:
    world = build_world(harness.sender)
    signed = harness.sender.webhooks.create(
        name="lms-signed", target_url=f"https://{EXAMPLE_HOST}/hookwire",
        events=["COURSE_COMPLETED"], account_id=ACCOUNT, auth="signature",
    )  # fmt: skip
    harness.sender.publish(
        "COURSE_COMPLETED",
        data=sample_data("COURSE_COMPLETED", random.Random(3)),
        account_id=ACCOUNT,
    )
    _, key = create_key(harness.sender.engine, name="docs", accounts=None, read_only=False)
    headers = {"Authorization": f"Bearer {key}"}
    page = harness.client.get(f"/api/v1/accounts/{ACCOUNT}/deliveries?limit=1", headers=headers)
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOOKWIRE_API_KEY": key,
        "WEBHOOK_ID": world.ids["webhook_id"],
        "SIGNED_WEBHOOK_ID": signed.id,
        "DELIVERY_ID": world.ids["delivery_id"],
        "EVENT_ID": world.ids["event_id"],
        "CURSOR": page.get_json()["nextCursor"],
        "LINK": harness.console.access_link(ACCOUNT, base_url=base),
    }


@pytest.mark.parametrize(
    "block", BLOCKS, ids=[f"{n}:{block[0].command[:60]}" for n, block in enumerate(BLOCKS)]
)
def test_each_curl_example_answers_as_the_doc_says(
    served: tuple[str, dict[str, str]], block: list[Example], tmp_path: Path
) -> None:
    base, env = served
    for example in block:
        command = example.command.replace(DOC_BASE, base).replace(
            "curl ", "curl -w '\\n%{http_code}' ", 1
        )
        result = subprocess.run(
            ["bash", "-c", command], env=env, cwd=tmp_path, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, (example.command, result.stderr)
        body, _, code = result.stdout.rpartition("\n")
        status = int(code)
        if example.status is None:
            assert 200 <= status < 300, (example.command, status, body)
        else:
            assert status == example.status, (example.command, status, body)
