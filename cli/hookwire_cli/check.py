"""``hookwire check URL``: grade a live listener the way a sender needs it to behave.

The battery (:mod:`hookwire_cli._check_battery`) goes out one request at a time
through :mod:`hookwire_cli._check_probe`, its answers are graded by
:mod:`hookwire_cli._check_grading` and printed by :mod:`hookwire_cli._check_report`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Final

import click

from ._auth import basic_auth_option, secret_option, signature_file_option
from ._check_battery import Check, Credentials, build_battery
from ._check_grading import SENDER_READ_TIMEOUT
from ._check_probe import Answer, Unreachable, send_probes
from ._check_report import CheckResult, Report, heading, render_text
from ._common import URL, echo_json, json_option

__all__ = ["MAX_REQUESTS", "check"]

#: However the battery grows, one run never sends more requests than this.
MAX_REQUESTS: Final = 40


@click.command(short_help="Grade a live listener: auth, timing, events, limits.")
@click.argument("url", type=URL)
@secret_option("The listener's whsec_ secret (or the whsk_ key an ed25519 webhook signs with).")
@signature_file_option("The signature file the listener verifies with (JSON).")
@basic_auth_option("The basic-auth credentials the listener expects.")
@click.option(
    "--account",
    type=int,
    default=1010,
    show_default=True,
    help="The accountId of the envelopes sent.",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0.1, max=50),
    default=10.0,
    show_default=True,
    metavar="PER_SECOND",
    help="At most this many requests a second.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.5, max=60),
    default=6.0,
    show_default=True,
    metavar="SECONDS",
    help="Give each request this long to be answered.",
)
@json_option
def check(
    *,
    url: str,
    secret: str | None,
    signature_file: str | None,
    basic_auth: tuple[str, str] | None,
    account: int,
    rate: float,
    timeout: float,
    as_json: bool,
) -> None:
    """Send a short battery of requests to the listener at URL and grade its answers.

    With the listener's own credentials it checks what a sender needs: a valid
    request is accepted (202, well inside the sender's 5 s read timeout),
    requests tampered with are refused (4xx, never 2xx or 5xx), a repeated
    event, several events in one envelope, every catalogue event and an
    unknown event name are accepted, a body over 1 MiB gets 413 rather than a
    hang, and answers come fast (p50, p99). Every line says pass, warn or fail
    and what to change. The events' ids start with hookwire-check-. Exits 1
    when a check fails; warnings do not fail.

    \b
    Examples:
      hookwire check http://127.0.0.1:8000/webhooks --secret "$HOOKWIRE_SECRET"
      hookwire check https://hooks.example.com/webhooks --basic-auth hooks:s3cret --json
    """
    if secret is None and signature_file is None and basic_auth is None:
        raise click.UsageError(
            "give the listener's --secret, --signature-file or --basic-auth (or set "
            "HOOKWIRE_SECRET, HOOKWIRE_SIGNATURE_FILE or HOOKWIRE_BASIC_AUTH)"
        )
    credentials = Credentials.from_options(
        secret=secret, signature_file=signature_file, basic_auth=basic_auth
    )
    checks = build_battery(credentials, account_id=account)
    planned = min(MAX_REQUESTS, sum(len(c.probes) for c in checks))
    if not as_json:
        click.echo(
            heading(url, credentials.describe(), requests=planned, rate=rate, timeout=timeout)
        )
    started = time.perf_counter()
    probes = [probe for c in checks for probe in c.probes]
    try:
        answers = asyncio.run(
            send_probes(
                url,
                probes,
                rate=rate,
                per_request=timeout,
                cap=MAX_REQUESTS,
                late=SENDER_READ_TIMEOUT,
            )
        )
    except Unreachable as exc:
        raise click.ClickException(f"cannot check {url}: {exc}") from exc
    report = Report(
        url=url,
        credentials=credentials.describe(),
        results=_results(checks, answers),
        requests=sum(answer.sent for answer in answers),
        rate=rate,
        timeout=timeout,
        seconds=time.perf_counter() - started,
    )
    if as_json:
        echo_json(report.to_json())
    else:
        for line in render_text(report):
            click.echo(line)
    if report.failed:
        raise click.exceptions.Exit(1)


def _results(checks: list[Check], answers: list[Answer]) -> list[CheckResult]:
    """Each check with its own answers (taken in order) and its verdict."""
    results = []
    position = 0
    for item in checks:
        mine = answers[position : position + len(item.probes)]
        position += len(item.probes)
        measures = {"answers": [_answer_json(answer) for answer in mine]}
        if item.measure is not None:
            measures.update(item.measure(mine))
        results.append(CheckResult(item.key, item.title, item.grade(mine), len(mine), measures))
    return results


def _answer_json(answer: Answer) -> dict[str, object]:
    return {
        "label": answer.label,
        "status": answer.status,
        "elapsedMs": round(answer.elapsed * 1000, 1) if answer.sent else None,
        "error": answer.error,
    }
