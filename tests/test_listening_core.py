"""The sans-IO listening core: one request in, one answer out, with no web framework."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hookwire import ConfigurationError, Event, Receiver, sign_headers
from hookwire.dedupe import MemoryDedupe
from hookwire.listening import Answer, Handlers, ListeningCore
from hookwire.recording import Recorder, read_recording
from hookwire.signing import basic_auth_header

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# The tables below are signed when the module is collected, which may be minutes before
# their tests run in a long suite; the listener allows that, since these tests are not
# about timestamps (those have tests of their own).
TABLE_TOLERANCE = 3600
BASIC = ("hooks", "s3cret-pass")
LIMIT = 4096


def envelope(*event_ids: str) -> bytes:
    events = [
        {
            "eventId": event_id,
            "eventName": "COURSE_ENROLLMENT",
            "timestamp": 1764349200,
            "data": {"userId": 7, "loId": "course:1", "loInstanceId": "course:1_1"},
        }
        for event_id in event_ids
    ]
    return json.dumps({"accountId": 1010, "events": events}).encode()


GOOD = envelope("e1")
BAD_FIELD = GOOD.replace(b'"userId": 7', b'"userId": "x"')


def signed(body: bytes, **extra: str) -> dict[str, str]:
    return {"content-type": "application/json", **sign_headers(SECRET, body), **extra}


@pytest.fixture
def core() -> ListeningCore:
    return ListeningCore(Receiver(secret=SECRET, tolerance=TABLE_TOLERANCE), max_body=LIMIT)


def assert_consistent(answer: Answer) -> None:
    """The encoded content is the JSON body; an error answer says what went wrong."""
    assert json.loads(answer.content) == answer.body
    if answer.status != 202:
        assert answer.body["error"] == answer.error


# (id, method, headers, body, status, body keys beyond "error")
TABLE: list[tuple[str, str, dict[str, str], bytes, int, set[str]]] = [
    ("get", "GET", signed(b""), b"", 405, set()),
    ("text content type", "POST", signed(GOOD, **{"content-type": "text/plain"}), GOOD, 415, set()),
    ("no content type", "POST", {"content-length": str(len(GOOD))}, GOOD, 415, set()),
    ("bad content length", "POST", signed(GOOD, **{"content-length": "-5"}), GOOD, 400, set()),
    (
        "declared too large",
        "POST",
        signed(GOOD, **{"content-length": "5000"}),
        GOOD,
        413,
        {"limit"},
    ),
    ("too large", "POST", signed(b" " * 5000), b" " * 5000, 413, {"limit"}),
    ("unsigned", "POST", {"content-type": "application/json"}, GOOD, 401, set()),
    ("not json", "POST", signed(b"{nope"), b"{nope", 400, {"location"}),
    ("bad field", "POST", signed(BAD_FIELD), BAD_FIELD, 400, {"location"}),
]


@pytest.mark.parametrize(
    ("method", "headers", "body", "status", "keys"),
    [case[1:] for case in TABLE],
    ids=[case[0] for case in TABLE],
)
def test_refused_request_gets_its_status_and_json_error(
    core: ListeningCore,
    method: str,
    headers: dict[str, str],
    body: bytes,
    status: int,
    keys: set[str],
) -> None:
    answer = core.handle(method, headers, body)
    assert answer.status == status
    assert set(answer.body) == {"error", *keys}
    assert_consistent(answer)
    assert answer.headers == ({"Allow": "POST"} if status == 405 else {})
    assert answer.close_connection is (status == 413)


def test_good_request_is_accepted_with_counts_and_what_was_read(core: ListeningCore) -> None:
    answer = core.handle("POST", signed(GOOD), GOOD)
    assert (answer.status, answer.body, answer.headers) == (
        202,
        {"accepted": 1, "duplicates": 0},
        {},
    )
    assert answer.content == b'{"accepted":1,"duplicates":0}'
    assert (answer.verified, answer.request_body, answer.error) == (True, GOOD, None)
    assert answer.envelope is not None
    assert answer.envelope.events[0].event_id == "e1"
    assert answer.status_line == "202 Accepted"


def test_bad_field_names_its_location(core: ListeningCore) -> None:
    answer = core.handle("POST", signed(BAD_FIELD), BAD_FIELD)
    assert answer.body["location"] == "events.0.data.userId"
    assert answer.verified is True


def test_redelivered_event_is_a_duplicate(core: ListeningCore) -> None:
    core.handle("POST", signed(GOOD), GOOD)
    body = envelope("e1", "e2")
    assert core.handle("POST", signed(body), body).body == {"accepted": 1, "duplicates": 1}


def test_headers_may_come_in_any_case_from_a_plain_dict(core: ListeningCore) -> None:
    headers = {name.title(): value for name, value in signed(GOOD).items()}
    assert core.handle("POST", headers, GOOD).status == 202


def test_vendor_json_content_type_is_accepted(core: ListeningCore) -> None:
    headers = signed(GOOD, **{"content-type": "application/vnd.x+json; charset=utf-8"})
    assert core.handle("POST", headers, GOOD).status == 202


def test_basic_auth_failure_names_the_realm() -> None:
    core = ListeningCore(Receiver(basic_auth=BASIC), realm="payroll")
    wrong = {"content-type": "application/json", "authorization": basic_auth_header("a", "b")}
    answer = core.handle("POST", wrong, GOOD)
    assert answer.status == 401
    assert answer.headers == {"WWW-Authenticate": 'Basic realm="payroll", charset="UTF-8"'}
    right = {**wrong, "authorization": basic_auth_header(*BASIC)}
    assert core.handle("POST", right, GOOD).status == 202


def test_signature_failure_has_no_challenge(core: ListeningCore) -> None:
    answer = core.handle("POST", {"content-type": "application/json"}, GOOD)
    assert (answer.status, answer.headers, answer.verified) == (401, {}, False)


def test_reader_is_called_only_after_the_head_passes(core: ListeningCore) -> None:
    calls: list[tuple[int, int | None]] = []

    def reader(limit: int, declared: int | None) -> bytes:
        calls.append((limit, declared))
        return GOOD

    core.handle("GET", signed(GOOD), reader)
    core.handle("POST", {"content-type": "text/plain"}, reader)
    core.handle("POST", signed(GOOD, **{"content-length": "99999"}), reader)
    assert calls == []
    core.handle("POST", signed(GOOD, **{"content-length": str(len(GOOD))}), reader)
    core.handle("POST", signed(GOOD), reader)
    assert calls == [(LIMIT, len(GOOD)), (LIMIT, None)]


def test_reader_that_passes_the_cap_is_413(core: ListeningCore) -> None:
    answer = core.handle("POST", signed(GOOD), lambda limit, _: b"x" * (limit + 1))
    assert (answer.status, answer.body["limit"]) == (413, LIMIT)


@pytest.mark.parametrize("error", [OSError("connection reset"), ValueError("bad chunk")])
def test_body_that_cannot_be_read_is_400(core: ListeningCore, error: Exception) -> None:
    def broken(_limit: int, _declared: int | None) -> bytes:
        raise error

    answer = core.handle("POST", signed(GOOD), broken)
    assert answer.status == 400
    assert answer.error == f"the body could not be read: {error}"


def test_reads_body_says_whether_the_core_would_read(core: ListeningCore) -> None:
    assert core.reads_body("POST", signed(GOOD))
    assert not core.reads_body("GET", signed(GOOD))
    assert not core.reads_body("POST", {"content-type": "text/plain"})
    assert not core.reads_body("POST", signed(GOOD, **{"content-length": "99999"}))


def test_without_a_receiver_nothing_is_checked() -> None:
    core = ListeningCore(None)
    answer = core.handle("POST", {"content-type": "application/json"}, GOOD)
    assert (answer.status, answer.verified) == (202, None)
    answer = core.handle("POST", {"content-type": "application/json"}, b"[]")
    assert (answer.status, answer.verified) == (400, None)


def test_handlers_run_in_order_from_a_shared_registry() -> None:
    handlers = Handlers()
    calls: list[str] = []
    first = ListeningCore(Receiver(secret=SECRET), handlers=handlers)
    second = ListeningCore(Receiver(secret=SECRET), handlers=handlers)
    first.on_any(lambda event, envelope: calls.append(f"any:{event.event_id}"))
    second.on("COURSE_ENROLLMENT")(lambda event: calls.append(f"named:{event.event_id}"))
    body = envelope("e1", "e2")
    first.handle("POST", signed(body), body)
    assert calls == ["named:e1", "any:e1", "named:e2", "any:e2"]
    assert len(handlers.handlers_for("COURSE_ENROLLMENT")) == 2
    assert len(handlers.handlers_for("SOMETHING_ELSE")) == 1


def test_handler_failure_is_500_and_the_retry_resumes(
    core: ListeningCore, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []
    reported: list[str] = []
    failures = iter([True])

    @core.on_any
    def flaky(event: Event) -> None:
        calls.append(event.event_id)
        if event.event_id == "e2" and next(failures, False):
            raise RuntimeError("database down")

    core.on_error(lambda exc, event: reported.append(f"{event.event_id}: {exc}"))
    body = envelope("e1", "e2", "e3")
    first = core.handle("POST", signed(body), body)
    assert (first.status, first.body["accepted"], first.body["duplicates"]) == (500, 1, 0)
    assert_consistent(first)
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert caplog.records[0].exc_info is not None
    assert core.handle("POST", signed(body), body).body == {"accepted": 2, "duplicates": 1}
    assert calls == ["e1", "e2", "e2", "e3"]
    assert reported == ["e2: database down"]


def test_failing_error_handler_is_logged_and_ignored(
    core: ListeningCore, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_reporter(exc: Exception, event: Event) -> None:
        raise RuntimeError("the error tracker is down")

    core.on_any(lambda event: 1 / 0)
    core.on_error(broken_reporter)
    assert core.handle("POST", signed(GOOD), GOOD).status == 500
    assert "error handler" in caplog.text


def test_event_claimed_elsewhere_is_503_with_retry_after() -> None:
    store = MemoryDedupe()
    store.claim("e1")
    core = ListeningCore(Receiver(secret=SECRET), dedupe=store)
    answer = core.handle("POST", signed(GOOD), GOOD)
    assert (answer.status, answer.headers) == (503, {"Retry-After": "5"})
    assert answer.body == {
        "error": "event e1 is being handled by another worker",
        "accepted": 0,
        "duplicates": 0,
    }


def test_refusal_is_one_warning_line_on_the_given_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    ListeningCore(Receiver(secret=SECRET)).handle("PUT", {}, b"")
    ListeningCore(Receiver(secret=SECRET), logger=logging.getLogger("app.hooks")).handle(
        "POST", {"content-type": "application/json"}, b"{\n}"
    )
    assert [(r.name, r.levelname) for r in caplog.records] == [
        ("hookwire.listening", "WARNING"),
        ("app.hooks", "WARNING"),
    ]
    assert all("\n" not in r.getMessage() for r in caplog.records)


def test_no_logger_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    core = ListeningCore(Receiver(secret=SECRET), logger=None)
    core.on_any(lambda event: 1 / 0)
    core.handle("PUT", {}, b"")
    assert core.handle("POST", signed(GOOD), GOOD).status == 500
    assert caplog.records == []


def test_every_request_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    core = ListeningCore(Receiver(secret=SECRET), recorder=Recorder(path))
    core.handle("POST", signed(GOOD), GOOD, path="/hooks", query="a=1")
    core.handle("GET", {}, b"", path="/hooks")
    first, second = read_recording(path)
    assert (first.path, first.query, first.body, first.status, first.verified) == (
        "/hooks",
        "a=1",
        GOOD,
        202,
        True,
    )
    assert (second.method, second.status, second.error) == (
        "GET",
        405,
        "webhooks are delivered with POST",
    )


def test_recording_failure_keeps_the_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    core = ListeningCore(Receiver(secret=SECRET), recorder=Recorder(tmp_path))
    assert core.handle("POST", signed(GOOD), GOOD).status == 202
    assert "could not record the request" in caplog.text


@pytest.mark.parametrize("max_body", [0, -1, True, 1.5])
def test_max_body_must_be_a_positive_whole_number(max_body: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_body"):
        ListeningCore(Receiver(secret=SECRET), max_body=max_body)


def test_receiver_must_be_a_receiver() -> None:
    with pytest.raises(ConfigurationError, match="Receiver"):
        ListeningCore(SECRET)  # type: ignore[arg-type]


header_values = st.text(max_size=40) | st.sampled_from(["application/json", "12", "-1", ""])


@settings(max_examples=200, deadline=None)
@given(
    method=st.sampled_from(["POST", "GET", "post", "PUT", ""]),
    headers=st.dictionaries(
        st.sampled_from(["content-type", "Content-Length", "webhook-id", "X-Other"]),
        header_values,
    ),
    body=st.binary(max_size=200),
)
def test_any_request_is_answered_from_the_table_never_raising(
    method: str, headers: dict[str, str], body: bytes
) -> None:
    core = ListeningCore(Receiver(secret=SECRET), max_body=100, logger=None)
    answer = core.handle(method, headers, body)
    assert answer.status in {202, 400, 401, 405, 413, 415}
    assert_consistent(answer)


# --- Receiver.from_settings: the one constructor the Flask config and the CLI share ---------


def test_settings_take_several_secrets_and_text_forms() -> None:
    old, new = SECRET, "whsec_" + "A" * 32
    receiver = Receiver.from_settings(secret=f"{old} {new}", basic_auth="u:p:w", tolerance="60")
    headers = {**sign_headers(new, GOOD), "authorization": basic_auth_header("u", "p:w")}
    receiver.authenticate(GOOD, headers)
    assert receiver.uses_basic_auth


def test_settings_without_credentials_name_what_to_set() -> None:
    with pytest.raises(ConfigurationError, match="HOOKWIRE_SECRET") as caught:
        Receiver.from_settings(secret="", signature_file="", basic_auth="")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"basic_auth": "nocolon"}, "HOOKWIRE_BASIC_AUTH"),
        ({"basic_auth": ":hunter2"}, "HOOKWIRE_BASIC_AUTH"),
        ({"secret": SECRET, "tolerance": "soon"}, "HOOKWIRE_TOLERANCE"),
        ({"secret": SECRET, "tolerance": "nan"}, "HOOKWIRE_TOLERANCE"),
    ],
)
def test_bad_setting_is_named_without_its_value(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named) as caught:
        Receiver.from_settings(**options)
    assert str(options.get("basic_auth")) not in str(caught.value)


# --- docs/listener.md: the core behind a plain WSGI app, served over real HTTP --------------

DOCS = Path(__file__).resolve().parent.parent / "docs" / "listener.md"


def docs_example() -> str:
    section = DOCS.read_text(encoding="utf-8").split("### Behind another framework", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_docs_wsgi_example_answers_over_http(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import http.client
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    monkeypatch.setenv("HOOKWIRE_SECRET", SECRET)
    namespace: dict[str, Any] = {}
    exec(compile(docs_example(), str(DOCS), "exec"), namespace)
    server = make_server("127.0.0.1", 0, namespace["app"], handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()

    def send(method: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        try:
            conn.request(method, "/", body=body, headers=headers)
            response = conn.getresponse()
            assert response.getheader("Content-Type") == "application/json"
            return response.status, json.loads(response.read())
        finally:
            conn.close()

    try:
        completed = envelope("e1").replace(b"COURSE_ENROLLMENT", b"COURSE_COMPLETED")
        completed = completed.replace(b'"course:1_1"}', b'"course:1_1", "hasPassed": true}')
        assert send("POST", completed, signed(completed)) == (
            202,
            {"accepted": 1, "duplicates": 0},
        )
        assert send("POST", completed, signed(completed)) == (
            202,
            {"accepted": 0, "duplicates": 1},
        )
        assert send("POST", GOOD, {"content-type": "application/json"})[0] == 401
        assert send("GET", b"", {})[0] == 405
        assert send("POST", b"{}", signed(b"{}", **{"content-type": "text/plain"}))[0] == 415
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert "e1" in capsys.readouterr().out


def test_the_core_imports_no_web_framework() -> None:
    import subprocess
    import sys

    code = (
        "import sys, json, hookwire.listening\n"
        "print(json.dumps([m for m in ('flask', 'werkzeug', 'aiohttp') if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == []
