"""``hookwire check``'s battery and grading, without a network: what is sent, how it is graded."""

from __future__ import annotations

import inspect
import json

import pytest

from hookwire import CATALOGUE, generate_secret
from hookwire.listening import DEFAULT_MAX_BODY
from hookwire.sender import Sender
from hookwire.testing import TAMPERINGS
from hookwire_cli._check_battery import (
    LATENCY_REQUESTS,
    OVERSIZED_BYTES,
    TAMPERING_LINES,
    Credentials,
    build_battery,
)
from hookwire_cli._check_grading import (
    SENDER_READ_TIMEOUT,
    grade_accepted,
    grade_latency,
    grade_oversized,
    grade_refused,
    percentile,
)
from hookwire_cli._check_probe import NOT_SENT, Answer
from hookwire_cli._check_report import CheckResult, Grade, Report, Verdict, render_text
from hookwire_cli.check import MAX_REQUESTS

ADVICE = "the check's own advice"


def answer(status: int | None, seconds: float = 0.01, **kwargs: object) -> Answer:
    return Answer(status, seconds, **kwargs)  # type: ignore[arg-type]


# --- the battery matches the sender and the listener --------------------------------------


def test_sender_read_timeout_is_the_senders_default() -> None:
    default = inspect.signature(Sender).parameters["read_timeout"].default
    assert default == SENDER_READ_TIMEOUT


def test_oversized_body_is_over_the_listener_limit_and_the_senders_largest_batch() -> None:
    largest_batch = inspect.signature(Sender).parameters["max_batch_bytes"].default
    assert OVERSIZED_BYTES > DEFAULT_MAX_BODY > largest_batch


def test_every_tampering_has_a_title_and_advice() -> None:
    assert set(TAMPERINGS) <= set(TAMPERING_LINES)


def test_the_largest_battery_stays_under_the_request_cap() -> None:
    credentials = Credentials(secret=generate_secret(), basic_auth=("u", "p"))
    checks = build_battery(credentials, account_id=1010, run="t")
    assert len(credentials.tamperings()) == len(TAMPERINGS)
    assert sum(len(check.probes) for check in checks) <= MAX_REQUESTS


def test_credentials_keep_their_secrets_out_of_the_repr() -> None:
    secret = generate_secret()
    shown = repr(Credentials(secret=secret, basic_auth=("hooks", "s3cret-pw")))
    assert secret not in shown
    assert "s3cret-pw" not in shown


def test_basic_auth_alone_gets_only_the_tamperings_it_can_show() -> None:
    checks = build_battery(Credentials(basic_auth=("u", "p")), account_id=1010, run="t")
    keys = [check.key for check in checks]
    assert "unsigned" in keys
    assert "wrong-password" in keys
    assert "stale" not in keys


def test_the_catalogue_goes_out_once_each_in_a_few_envelopes() -> None:
    checks = build_battery(Credentials(secret=generate_secret()), account_id=7, run="t")
    catalogue = next(check for check in checks if check.key == "catalogue")
    names = [
        event["eventName"]
        for probe in catalogue.probes
        for event in json.loads(probe.build().body)["events"]
    ]
    assert sorted(names) == sorted(CATALOGUE)
    assert len(catalogue.probes) < len(CATALOGUE) / 4


def test_every_event_and_webhook_id_names_the_check_run() -> None:
    checks = build_battery(Credentials(secret=generate_secret()), account_id=7, run="r1")
    requests = [probe.build() for check in checks for probe in check.probes]
    msg_ids = [r.headers["webhook-id"] for r in requests if "webhook-id" in r.headers]
    assert len(msg_ids) == len(requests) - 1  # the missing-webhook-id tampering has none
    assert all(msg_id.startswith("msg_hookwire-check-r1-") for msg_id in msg_ids)
    event_ids = [e["eventId"] for r in requests for e in json.loads(r.body)["events"]]
    assert all(event_id.startswith("hookwire-check-r1-") for event_id in event_ids)


def test_the_repeated_event_is_a_retry_of_the_first_request() -> None:
    checks = build_battery(Credentials(secret=generate_secret()), account_id=7, run="t")
    first = next(c for c in checks if c.key == "valid").probes[0].build()
    again = next(c for c in checks if c.key == "repeated-event").probes[0].build()
    assert again.body == first.body
    assert again.headers["webhook-id"] == first.headers["webhook-id"]


def test_the_oversized_body_has_the_planned_size() -> None:
    checks = build_battery(Credentials(secret=generate_secret()), account_id=7, run="t")
    oversized = next(c for c in checks if c.key == "oversized").probes[0].build()
    assert len(oversized.body) == OVERSIZED_BYTES


# --- grading ------------------------------------------------------------------------------


def test_percentile_is_nearest_rank() -> None:
    values = [0.4, 0.1, 0.3, 0.2]
    assert percentile(values, 0.5) == 0.2
    assert percentile(values, 0.99) == 0.4
    assert percentile([], 0.5) == 0.0


def test_a_202_fast_is_a_pass_and_a_200_a_warning_only_where_202_is_asked_for() -> None:
    assert grade_accepted([answer(202)], payload_advice=ADVICE, prefer_202=True).grade is Grade.PASS
    warned = grade_accepted([answer(200)], payload_advice=ADVICE, prefer_202=True)
    assert warned.grade is Grade.WARN
    assert warned.advice.startswith("answer 202 Accepted")
    assert grade_accepted([answer(200)], payload_advice=ADVICE).grade is Grade.PASS


@pytest.mark.parametrize(
    ("seconds", "grade"), [(0.5, Grade.PASS), (1.5, Grade.WARN), (5.5, Grade.FAIL)]
)
def test_an_accepted_request_is_graded_by_how_long_it_took(seconds: float, grade: Grade) -> None:
    verdict = grade_accepted([answer(202, seconds)], payload_advice=ADVICE)
    assert verdict.grade is grade
    if grade is not Grade.PASS:
        assert verdict.advice.startswith("answer 202 at once and do slow work after the answer")


@pytest.mark.parametrize(
    ("status", "advice"),
    [
        (302, "the sender never follows redirects"),
        (401, "the listener refused a request with the right credentials"),
        (404, "nothing takes POST at this URL"),
        (410, "410 Gone disables the webhook at the sender"),
        (400, ADVICE),
        (500, ADVICE),
    ],
)
def test_a_refused_valid_request_fails_with_advice_for_its_status(status: int, advice: str) -> None:
    verdict = grade_accepted([answer(status)], payload_advice=ADVICE)
    assert verdict.grade is Grade.FAIL
    assert verdict.advice.startswith(advice)


def test_a_failed_envelope_is_named_in_the_detail() -> None:
    answers = [answer(202, label="A, B"), answer(500, label="C, D")]
    verdict = grade_accepted(answers, payload_advice=ADVICE)
    assert verdict.detail.startswith("1 of 2 not accepted (C, D: 500 in ")


def test_checks_the_battery_never_reached_are_skipped() -> None:
    assert grade_accepted([NOT_SENT], payload_advice=ADVICE).grade is Grade.SKIP
    assert grade_refused([NOT_SENT], accepted_advice=ADVICE).grade is Grade.SKIP
    assert grade_oversized([NOT_SENT], limit=1).grade is Grade.SKIP
    assert grade_latency([NOT_SENT]).grade is Grade.SKIP


@pytest.mark.parametrize(
    ("status", "grade"),
    [(401, Grade.PASS), (400, Grade.PASS), (202, Grade.FAIL), (500, Grade.FAIL), (302, Grade.FAIL)],
)
def test_a_tampered_request_must_get_a_4xx(status: int, grade: Grade) -> None:
    verdict = grade_refused([answer(status)], accepted_advice=ADVICE)
    assert verdict.grade is grade
    if status == 202:
        assert verdict.advice == ADVICE
        assert verdict.detail.startswith("accepted: 202 in ")


def test_a_tampered_request_left_unanswered_fails() -> None:
    verdict = grade_refused(
        [answer(None, 6, error="no answer within 6 s", timed_out=True)], accepted_advice=ADVICE
    )
    assert verdict.grade is Grade.FAIL
    assert verdict.detail == "no answer within 6 s"


@pytest.mark.parametrize(
    ("got", "grade"),
    [
        (answer(413), Grade.PASS),
        (answer(202), Grade.PASS),
        (answer(400), Grade.WARN),
        (answer(None, error="the server closed the connection without answering"), Grade.WARN),
        (answer(None, 6, error="no answer within 6 s", timed_out=True), Grade.FAIL),
    ],
)
def test_an_oversized_body_must_be_answered_not_hang(got: Answer, grade: Grade) -> None:
    assert grade_oversized([got], limit=DEFAULT_MAX_BODY).grade is grade


def test_latency_gives_p50_and_p99_and_warns_when_slow() -> None:
    fast = [answer(202, n / 1000) for n in range(1, LATENCY_REQUESTS + 1)]
    verdict = grade_latency(fast)
    assert verdict == Verdict(Grade.PASS, "p50 4 ms, p99 8 ms over 8 requests")
    assert grade_latency([*fast[:-1], answer(202, 1.2)]).grade is Grade.WARN
    assert grade_latency([*fast[:-1], answer(500)]).grade is Grade.FAIL


def test_latency_of_fast_refusals_does_not_advise_answering_faster() -> None:
    verdict = grade_latency([answer(501, 0.004)] * 8)
    assert verdict.grade is Grade.FAIL
    assert "answer them 2xx" in verdict.advice
    assert "at once" not in verdict.advice


# --- the report ---------------------------------------------------------------------------


def test_warnings_do_not_fail_the_report_but_a_failure_does() -> None:
    warned = CheckResult("a", "a", Verdict(Grade.WARN, "200", "answer 202"))
    failed = CheckResult("b", "b", Verdict(Grade.FAIL, "500", "fix it"))
    report = Report(
        url="http://x/", credentials="signature", results=[warned], requests=1, rate=10, timeout=6
    )
    assert not report.failed
    assert Report(
        url="http://x/",
        credentials="signature",
        results=[warned, failed],
        requests=2,
        rate=10,
        timeout=6,
    ).failed


def test_the_text_report_puts_the_advice_under_its_line() -> None:
    result = CheckResult("a", "a title", Verdict(Grade.WARN, "200 in 3 ms", "answer 202"))
    report = Report(
        url="http://x/",
        credentials="signature",
        results=[result],
        requests=1,
        rate=10,
        timeout=6,
        seconds=0.25,
    )
    assert list(render_text(report)) == [
        f"WARN  {'a title':<52}  200 in 3 ms",
        "      -> answer 202",
        "Result: 0 failed, 1 warned, 0 passed (1 request in 0.2 s)",
    ]
