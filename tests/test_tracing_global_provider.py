"""``tracing=True`` follows the global tracer provider: one set after the sender or listener is
built, or one the environment names; ``tracing=False`` makes no spans even with one set.

The global provider can be set once per process, so the test runs in a fresh one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

_SCRIPT = """\
import json, sqlite3
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from hookwire import Receiver, sign_headers
from hookwire.listening import ListeningCore
from hookwire.sender import Sender

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = b'{{"accountId":7,"events":[]}}'
DATA = {{"userId": 7, "loId": "course:1", "loInstanceId": "course:1_1", "hasPassed": True}}
core = ListeningCore(Receiver(secret=SECRET), logger=None)
headers = {{**sign_headers(SECRET, BODY), "content-type": "application/json"}}
sender = Sender("sqlite:///{db}")

before = sender.publish("COURSE_COMPLETED", data=DATA, account_id=1).event_id
core.handle("POST", headers, BODY)

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)

after = sender.publish("COURSE_COMPLETED", data=DATA, account_id=1).event_id
core.handle("POST", headers, BODY)
stored = dict(sqlite3.connect("{db}").execute("SELECT id, trace_context FROM hookwire_events"))
print(json.dumps({{
    "before": stored[before],
    "after": stored[after] is not None,
    "spans": [span.name for span in exporter.get_finished_spans()],
}}))
"""


def test_spans_start_when_the_application_sets_its_provider(tmp_path: Path) -> None:
    code = _SCRIPT.format(db=tmp_path / "hookwire.db")
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "before": None,
        "after": True,
        "spans": ["hookwire.publish", "hookwire.listener"],
    }


_LISTENER_SCRIPT = """\
import json
import os
from opentelemetry import trace
from hookwire import Receiver, sign_headers
from hookwire.listening import ListeningCore

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = (
    b'{"accountId":7,"events":[{"eventId":"e1","eventName":"COURSE_COMPLETED",'
    b'"timestamp":"2026-12-02T10:00:00Z","data":{"userId":7,"loId":"course:1",'
    b'"loInstanceId":"course:1_1"}}]}'
)
SETUP
recording = {}


def recorder(setting):
    def seen(event):
        recording[str(setting)] = trace.get_current_span().is_recording()
    return seen


for setting in (True, False):
    core = ListeningCore(Receiver(secret=SECRET), logger=None, tracing=setting)
    core.on_any(recorder(setting))
    headers = {**sign_headers(SECRET, BODY), "content-type": "application/json"}
    assert core.handle("POST", headers, BODY).status == 202
print(json.dumps(recording))
"""


def _run_listeners(setup: str, env: dict[str, str] | None = None) -> object:
    code = _LISTENER_SCRIPT.replace("SETUP", setup)
    result = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_tracing_false_keeps_the_listener_out_of_a_set_provider() -> None:
    setup = (
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "trace.set_tracer_provider(TracerProvider())\n"
    )
    assert _run_listeners(setup) == {"True": True, "False": False}


def test_a_provider_named_by_the_environment_is_followed() -> None:
    # opentelemetry-api loads this entry point of the SDK on its first provider lookup.
    env = {**os.environ, "OTEL_PYTHON_TRACER_PROVIDER": "sdk_tracer_provider"}
    assert _run_listeners("", env) == {"True": True, "False": False}


def test_without_a_provider_the_listener_makes_no_span() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OTEL_PYTHON_TRACER_PROVIDER"}
    assert _run_listeners("", env) == {"True": False, "False": False}
