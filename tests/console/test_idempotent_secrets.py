"""An Idempotency-Key never keeps a secret: a replay answers without the signature file."""

from __future__ import annotations

from _webhooks_helpers import WEBHOOKS, create_body, webhook_url
from console_support import ConsoleHarness, admin
from sqlalchemy import select

from hookwire.console import tables


def _kept_answers(console: ConsoleHarness) -> str:
    with console.sender.engine.connect() as conn:
        return " ".join(conn.execute(select(tables.idempotency.c.body)).scalars())


def test_a_replayed_create_answers_the_same_webhook_without_its_secret(
    console: ConsoleHarness,
) -> None:
    client = console.as_(admin(1010))
    headers = {"Idempotency-Key": "create-1"}
    first = client.post(WEBHOOKS, json=create_body(), headers=headers)
    again = client.post(WEBHOOKS, json=create_body(), headers=headers)

    assert first.status_code == again.status_code == 201
    secret = first.get_json()["signatureFile"]["secret"]
    assert secret.startswith("whsec_")
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["signatureFile"] is None
    assert len(console.sender.webhooks.list(1010)) == 1
    assert secret not in _kept_answers(console)


def test_a_rotation_with_a_key_keeps_no_new_secret(console: ConsoleHarness) -> None:
    client = console.as_(admin(1010))
    hook = client.post(WEBHOOKS, json=create_body()).get_json()
    rotated = client.post(
        webhook_url(hook["id"], "rotate-secret"), json={}, headers={"Idempotency-Key": "rot-1"}
    )

    assert rotated.status_code == 200, rotated.get_data(as_text=True)
    newest = rotated.get_json()["signatureFile"]["secret"]
    assert newest not in _kept_answers(console)


def test_an_optional_body_may_be_left_out_without_a_content_type(
    console: ConsoleHarness,
) -> None:
    client = console.as_(admin(1010))
    hook = client.post(WEBHOOKS, json=create_body()).get_json()

    rotated = client.post(webhook_url(hook["id"], "rotate-secret"))

    assert rotated.status_code == 200, rotated.get_data(as_text=True)
