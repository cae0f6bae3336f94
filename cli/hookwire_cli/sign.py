"""``hookwire sign``: the ``webhook-*`` headers for a body, or a ready curl command."""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Mapping
from typing import BinaryIO, Final

import click

from ._auth import build_request_auth, secret_option, signature_file_option
from ._common import URL, USER_AGENT, InputFile, echo_json, header_lines, json_option

#: The option each header's value comes from, to name when it is refused.
_HEADER_OPTIONS: Final = {"webhook-id": "--id"}


@click.command(short_help="Print the webhook-* headers (or a curl command) for a body.")
@click.argument("body", type=InputFile("rb"), default="-")
@secret_option("The whsec_ secret (or whsk_ signing key) to sign with.")
@signature_file_option("A signature file holding the secret to sign with.")
@click.option("--id", "msg_id", metavar="MSG_ID", help="The webhook-id (default: a fresh msg_ id).")
@click.option(
    "--timestamp",
    type=click.IntRange(min=0),
    help="The webhook-timestamp in Unix seconds (default: now).",
)
@click.option("--curl", "curl_url", type=URL, metavar="URL", help="Print a curl command instead.")
@json_option
def sign(
    *,
    body: BinaryIO,
    secret: str | None,
    signature_file: str | None,
    msg_id: str | None,
    timestamp: int | None,
    curl_url: str | None,
    as_json: bool,
) -> None:
    """Sign BODY (a file, or stdin when left out) and print its webhook-* headers.

    The headers come out as "name: value" lines, which `hookwire verify
    --headers` reads back, or as JSON, or inside a ready curl command.

    \b
    Examples:
      hookwire sign event.json --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
      echo '{"accountId": 1, "events": []}' | hookwire sign --json
      hookwire sign event.json --curl http://127.0.0.1:8000/webhooks | sh
    """
    if secret is None and signature_file is None:
        raise click.UsageError("give --secret or --signature-file (or set HOOKWIRE_SECRET)")
    raw = body.read()
    auth = build_request_auth(secret=secret, signature_file=signature_file, basic_auth=None)
    headers = auth.headers(raw, msg_id=msg_id, timestamp=timestamp)
    _check_header_values(headers)
    if curl_url is not None:
        click.echo(_curl_command(curl_url, headers, raw, getattr(body, "name", "-")))
    elif as_json:
        echo_json(headers)
    else:
        click.echo(header_lines(headers))


def _check_header_values(headers: Mapping[str, str]) -> None:
    """Refuse a header value with a character that is not printable: CR, LF, NUL, tab...

    Such a value would start a forged header line in the printed lines or in the
    request curl sends. The value itself is never shown: it may be a signature.
    """
    for name, value in headers.items():
        if not value.isprintable():
            given = _HEADER_OPTIONS.get(name, f"the {name} header")
            raise click.UsageError(
                f"{given} may hold only printable characters (no CR, LF, NUL or other "
                "control characters)"
            )


def _curl_command(url: str, headers: dict[str, str], raw: bytes, source: str) -> str:
    parts = ["curl", "-sS", "-i", "-X", "POST", shlex.quote(url)]
    all_headers = {"content-type": "application/json", "user-agent": USER_AGENT, **headers}
    for name, value in all_headers.items():
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    # A named file is sent as is; a body from stdin is inlined so the command stands alone.
    if source not in {"-", "<stdin>"}:
        return " ".join([*parts, "--data-binary", shlex.quote("@" + source)])
    # printf '%s' writes its argument byte for byte (no escapes, no added newline) and
    # curl reads it from stdin (@-), so whatever the body starts with is sent literally.
    return f"printf '%s' {shlex.quote(_inline_body(raw))} | " + " ".join(
        [*parts, "--data-binary", "@-"]
    )


def _inline_body(raw: bytes) -> str:
    """The body as text a shell word can hold (UTF-8, no NUL byte); else a usage error."""
    if b"\0" not in raw:
        with contextlib.suppress(UnicodeDecodeError):
            return raw.decode("utf-8")
    raise click.UsageError(
        "the body is not UTF-8 text without NUL bytes; pass it as a file so curl can send it as is"
    )
