"""Without opentelemetry-api hookwire works untraced, and importing hookwire never loads it.

Each test runs a fresh interpreter; a missing package is simulated by a meta-path
finder that refuses to import it, as an install without the ``otel`` extra would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_REFUSE_OTEL = """\
import sys
class _Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "opentelemetry":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _Refuse())
"""

_ROUND_TRIP = """\
import asyncio, json, sqlite3, sys
from aiohttp import web
from hookwire import Receiver
from hookwire.listening import ListeningCore
from hookwire.sender import Sender

received = []

async def main():
    async def hook(request):
        received.append(dict(request.headers))
        answer = core.handle("POST", request.headers, await request.read())
        return web.Response(status=answer.status, body=answer.content)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    sender = Sender("sqlite:///{db}", allow_private_targets=True)
    webhook = sender.webhooks.create(
        name="t", target_url=f"http://127.0.0.1:{{port}}/hook", events=["COURSE_COMPLETED"],
        account_id=1, auth="signature",
    )
    global core
    core = ListeningCore(
        Receiver(signature_file=sender.webhooks.signature_file(webhook.id)), logger=None
    )
    data = {{"userId": 7, "loId": "course:1", "loInstanceId": "course:1_1", "hasPassed": True}}
    sender.publish("COURSE_COMPLETED", data=data, account_id=1)
    await sender.drain()
    sender.close()
    await runner.cleanup()

asyncio.run(main())
stored = sqlite3.connect("{db}").execute("SELECT trace_context FROM hookwire_events").fetchall()
print(json.dumps({{
    "headers": sorted(h.lower() for r in received for h in r),
    "stored": stored,
    "loaded": sorted(m for m in sys.modules if m.startswith("opentelemetry")),
}}))
"""


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    )


def test_importing_hookwire_and_its_parts_does_not_load_opentelemetry() -> None:
    code = (
        "import sys, hookwire, hookwire.listening, hookwire.flask, hookwire.sender\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    result = run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"


def test_without_opentelemetry_a_delivery_goes_through_untraced(tmp_path: Path) -> None:
    db = tmp_path / "hookwire.db"
    result = run(_REFUSE_OTEL + _ROUND_TRIP.format(db=db))
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["loaded"] == []
    assert "webhook-signature" in found["headers"]
    assert [h for h in found["headers"] if h.startswith("trace")] == []
    assert found["stored"] == [[None]]


def test_with_opentelemetry_but_no_sdk_nothing_is_stored_or_sent(tmp_path: Path) -> None:
    result = run(_ROUND_TRIP.format(db=tmp_path / "hookwire.db"))
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert "opentelemetry.trace" in found["loaded"]
    assert [h for h in found["headers"] if h.startswith("trace")] == []
    assert found["stored"] == [[None]]
