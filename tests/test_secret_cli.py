"""``hookwire secret new``: fresh secrets and signature files that the Receiver accepts."""

from __future__ import annotations

import json

from click.testing import CliRunner

from hookwire import Receiver, sign_headers
from hookwire.signing import parse_key
from hookwire_cli.main import main


def run(*args: str) -> str:
    result = CliRunner().invoke(main, ["secret", "new", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_new_secret_is_a_whsec_secret_on_one_line() -> None:
    output = run()
    assert output.startswith("whsec_")
    assert output.count("\n") == 1


def test_new_secret_is_usable_for_signing_and_verifying() -> None:
    secret = run().strip()
    body = b'{"accountId": 1, "events": []}'
    assert Receiver(secret=secret).verify(body, sign_headers(secret, body)).account_id == 1


def test_two_new_secrets_differ() -> None:
    assert run() != run()


def test_json_prints_a_signature_file_the_receiver_reads() -> None:
    document = json.loads(run("--json", "--webhook-id", "42"))
    assert document["scheme"] == "standard-webhooks-v1"
    assert document["webhookId"] == "42"
    body = b'{"accountId": 1, "events": []}'
    receiver = Receiver(signature_file=document)
    assert receiver.verify(body, sign_headers(document["secret"], body)).account_id == 1


def test_ed25519_json_holds_a_matching_key_pair() -> None:
    document = json.loads(run("--ed25519", "--json"))
    body = b'{"accountId": 1, "events": []}'
    headers = sign_headers(document["signingKey"], body)
    assert Receiver(signature_file=document).verify(body, headers).account_id == 1
    assert parse_key(document["signingKey"]).scheme == "v1a-private"
