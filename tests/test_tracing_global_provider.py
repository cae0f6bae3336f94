"""``tracing=True`` follows the global tracer provider, also one set after the sender is built.

The global provider can be set once per process, so the test runs in a fresh one.
"""

from __future__ import annotations

import json
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
