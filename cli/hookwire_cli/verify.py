"""``hookwire verify``: is this request authentic, and what events does it carry?"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

import click

from hookwire import PayloadError, VerificationError
from hookwire.recording import REDACTED, read_recording_line

from ._auth import auth_options, build_receiver, tolerance_option
from ._common import InputFile, echo_json, json_option, read_stdin

if TYPE_CHECKING:
    from hookwire import Receiver


def read_headers(text: str) -> dict[str, str]:
    """Read headers from a JSON object or from ``name: value`` lines (the form ``sign`` prints).

    Raises :class:`click.ClickException` naming the first line that is neither.
    """
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except (ValueError, RecursionError) as exc:
            raise click.ClickException(f"the headers file is not valid JSON: {exc}") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise click.ClickException("the headers JSON must be an object of strings")
        return {str(k).lower(): v for k, v in data.items()}
    headers: dict[str, str] = {}
    for line_no, line in enumerate(stripped.splitlines(), start=1):
        if line.strip():
            headers.update(_header_flag(line, f"line {line_no} of the headers"))
    return headers


def _header_flag(text: str, where: str) -> dict[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise click.ClickException(f"{where} is not 'name: value'")
    return {name.strip().lower(): value.strip()}


@click.command(short_help="Check a request's signature and print its events.")
@click.argument("body", type=InputFile("rb"), required=False)
@click.option(
    "--headers",
    "headers_file",
    type=InputFile("r"),
    metavar="FILE",
    help="A file of 'name: value' lines (as `hookwire sign` prints) or a JSON object.",
)
@click.option(
    "-H",
    "--header",
    "header_flags",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="One header; repeat for each.",
)
@click.option(
    "--recording",
    type=click.Path(dir_okay=False),
    help="Take body and headers from a recording (hookwire listen --record).",
)
@click.option(
    "--line",
    type=click.IntRange(min=1),
    metavar="N",
    default=1,
    show_default=True,
    help="Which line of the recording.",
)
@auth_options
@tolerance_option
@click.option(
    "--now",
    type=float,
    metavar="UNIX_SECONDS",
    help="The clock in Unix seconds (default: now; with --recording, when it was received).",
)
@json_option
def verify(
    *,
    body: BinaryIO | None,
    headers_file: TextIO | None,
    header_flags: tuple[str, ...],
    recording: str | None,
    line: int,
    secret: str | None,
    signature_file: str | None,
    basic_auth: tuple[str, str] | None,
    tolerance: float,
    now: float | None,
    as_json: bool,
) -> None:
    """Check a request's signature (or basic auth) and print its events.

    BODY is a file (stdin when left out); headers come from --headers and -H,
    or body and headers both come from one line of a recording. Exits 1 when
    the request is not authentic or its body is not a valid envelope, or when
    the recording's line is not a POST (so not a webhook delivery).

    \b
    Examples:
      hookwire sign event.json --secret "$S" > headers.txt
      hookwire verify event.json --headers headers.txt --secret "$S"
      hookwire verify --recording requests.jsonl --line 3 --signature-file signature.json
      hookwire verify event.json -H 'webhook-id: msg_1' -H 'webhook-timestamp: 1764349200' \\
          -H 'webhook-signature: v1,...' --secret "$S" --json
    """
    raw, headers, now = _read_request(
        body=body,
        headers_file=headers_file,
        header_flags=header_flags,
        recording=recording,
        line=line,
        now=now,
    )
    receiver = build_receiver(
        secret=secret, signature_file=signature_file, basic_auth=basic_auth, tolerance=tolerance
    )
    report = _check(receiver, raw, headers, now)
    if as_json:
        echo_json(report)
    else:
        _print_report(report)
    if not report["valid"]:
        raise click.exceptions.Exit(1)


def _read_request(
    *,
    body: BinaryIO | None,
    headers_file: TextIO | None,
    header_flags: tuple[str, ...],
    recording: str | None,
    line: int,
    now: float | None,
) -> tuple[bytes, dict[str, str], float | None]:
    """The body, headers and clock to check: from a recording line, or from BODY and headers.

    With a recording and no ``now``, the clock is when the request was received.
    """
    if recording is not None:
        if body is not None or headers_file is not None or header_flags:
            raise click.UsageError(
                "--recording gives body and headers; leave out BODY, --headers, -H"
            )
        recorded = read_recording_line(recording, line)
        method = recorded.method
        if method.upper() != "POST":
            # The file is input: a method that is no plain word is shown quoted and cut short.
            shown = method if method.isascii() and method.isalpha() else repr(method[:32])
            raise click.ClickException(
                f"line {line} of {recording} is a {shown} request, not a webhook "
                "delivery (deliveries are POSTs): there is no signature to verify"
            )
        raw, headers = recorded.body, dict(recorded.headers)
        if now is None:
            now = recorded.received_at.timestamp()
    else:
        raw = body.read() if body is not None else read_stdin()
        headers = read_headers(_read_text(headers_file)) if headers_file is not None else {}
        for flag in header_flags:
            headers.update(_header_flag(flag, f"-H {flag.partition(':')[0]!r}"))
    return raw, headers, now


def _check(
    receiver: Receiver, raw: bytes, headers: dict[str, str], now: float | None
) -> dict[str, Any]:
    """Verify the request and say how it went, as ``verify --json`` prints it."""
    report: dict[str, Any] = {
        "verified": False,
        "valid": False,
        "error": None,
        "webhookId": headers.get("webhook-id"),
    }
    try:
        envelope = receiver.verify(raw, headers, now=now)
    except VerificationError as exc:
        reason = str(exc)
        if receiver.uses_basic_auth and headers.get("authorization") == REDACTED:
            reason += (
                "; recordings redact the Authorization header, so basic auth cannot be checked"
            )
        report["error"] = reason
    except PayloadError as exc:
        report.update(verified=True, error=f"the body is not a valid envelope: {exc}")
    else:
        wire = envelope.to_wire()
        report.update(verified=True, valid=True, accountId=wire["accountId"], events=wire["events"])
    return report


def _read_text(headers_file: TextIO) -> str:
    try:
        return headers_file.read()
    except UnicodeDecodeError:
        raise click.BadParameter("the file is not UTF-8 text", param_hint="'--headers'") from None


def _print_report(report: dict[str, Any]) -> None:
    if not report["verified"]:
        click.echo(f"not verified: {report['error']}")
        return
    click.echo(f"verified (webhook-id {report['webhookId'] or '-'})")
    if not report["valid"]:
        click.echo(f"but {report['error']}")
        return
    events = report["events"]
    noun = "event" if len(events) == 1 else "events"
    click.echo(f"account {report['accountId']}: {len(events)} {noun}")
    for event in events:
        click.echo(f"  {event['eventName']:<42} {event['eventId']}  {event['timestamp']}")
