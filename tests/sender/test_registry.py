"""sender.webhooks: registration rules, changes, secrets and signature files."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta

import pytest
from sender_support import FakeClock

from hookwire import Receiver
from hookwire.errors import (
    InvalidTargetError,
    NotFoundError,
    RegistryError,
    UnknownEventError,
    WebhookLimitError,
)
from hookwire.sender import BasicAuth, Sender
from hookwire.signing import sign_headers

TARGET = "http://127.0.0.1:9/hook"


def _create(sender: Sender, **options: object) -> str:
    values: dict[str, object] = {
        "name": "sync",
        "target_url": TARGET,
        "events": ["COURSE_COMPLETED"],
        "account_id": 1010,
    }
    values.update(options)
    return sender.webhooks.create(**values).id  # type: ignore[arg-type]


@pytest.fixture
def registry_sender(make_sender: Callable[..., Sender], store_url: str) -> Sender:
    return make_sender(store_url)


def test_created_webhook_reads_back(registry_sender: Sender) -> None:
    hook_id = _create(registry_sender, description="LMS", events=["COURSE_COMPLETED", "CI_STATS"])
    hook = registry_sender.webhooks.get(hook_id)
    assert (hook.name, hook.description, hook.target_url) == ("sync", "LMS", TARGET)
    assert hook.events == ("COURSE_COMPLETED", "CI_STATS")
    assert hook.active
    assert hook.auth == "none"


def test_list_filters_by_account(registry_sender: Sender) -> None:
    first = _create(registry_sender, account_id=1)
    _create(registry_sender, account_id=2)
    assert [h.id for h in registry_sender.webhooks.list(account_id=1)] == [first]
    assert len(registry_sender.webhooks.list()) == 2


def test_sixth_webhook_of_an_account_is_refused(registry_sender: Sender) -> None:
    for _ in range(5):
        _create(registry_sender)
    with pytest.raises(WebhookLimitError, match="already has 5 webhooks") as caught:
        _create(registry_sender)
    assert caught.value.limit == 5
    assert len(registry_sender.webhooks.list(account_id=1010)) == 5


def test_webhook_limit_is_configurable(make_sender: Callable[..., Sender]) -> None:
    sender = make_sender(max_webhooks_per_account=1)
    _create(sender)
    with pytest.raises(WebhookLimitError):
        _create(sender)


def test_unknown_event_name_is_refused_as_a_registry_error(registry_sender: Sender) -> None:
    with pytest.raises(UnknownEventError, match="COURSE_FINISHED") as caught:
        _create(registry_sender, events=["COURSE_FINISHED"])
    assert isinstance(caught.value, RegistryError)
    assert caught.value.event_name == "COURSE_FINISHED"


def test_empty_event_list_is_refused(registry_sender: Sender) -> None:
    with pytest.raises(RegistryError, match="at least one event"):
        _create(registry_sender, events=[])


def test_relative_target_is_refused(registry_sender: Sender) -> None:
    with pytest.raises(InvalidTargetError, match="absolute"):
        _create(registry_sender, target_url="/hooks")


def test_unknown_auth_is_refused(registry_sender: Sender) -> None:
    with pytest.raises(RegistryError, match="signature-ed25519"):
        _create(registry_sender, auth="hmac")


def test_missing_webhook_is_not_found(registry_sender: Sender) -> None:
    with pytest.raises(NotFoundError, match="wh_missing"):
        registry_sender.webhooks.get("wh_missing")


def test_update_changes_only_the_given_fields(registry_sender: Sender) -> None:
    hook_id = _create(registry_sender)
    hook = registry_sender.webhooks.update(hook_id, name="renamed", events=["CI_STATS"])
    assert (hook.name, hook.events, hook.target_url) == ("renamed", ("CI_STATS",), TARGET)


def test_update_refuses_unknown_fields(registry_sender: Sender) -> None:
    hook_id = _create(registry_sender)
    with pytest.raises(TypeError, match="account_id"):
        registry_sender.webhooks.update(hook_id, account_id=5)  # type: ignore[call-arg]


def test_update_keeps_every_field_left_out_or_none(registry_sender: Sender) -> None:
    hook_id = _create(registry_sender, auth="signature", description="the sync")
    before = registry_sender.webhooks.signature_file(hook_id)
    hook = registry_sender.webhooks.update(
        hook_id, name=None, description=None, target_url=None, events=None, active=None
    )
    assert (hook.name, hook.description, hook.target_url, hook.events, hook.auth, hook.active) == (
        "sync",
        "the sync",
        TARGET,
        ("COURSE_COMPLETED",),
        "signature",
        True,
    )
    assert registry_sender.webhooks.signature_file(hook_id) == before


def test_update_clears_the_description_with_an_empty_string(registry_sender: Sender) -> None:
    hook_id = _create(registry_sender, description="the sync")
    assert registry_sender.webhooks.update(hook_id, description="").description == ""


def test_update_with_auth_none_switches_authentication_off(registry_sender: Sender) -> None:
    hook_id = _create(registry_sender, auth="signature")
    assert registry_sender.webhooks.update(hook_id, auth=None).auth == "none"
    with pytest.raises(RegistryError, match="no secret"):
        registry_sender.webhooks.rotate_secret(hook_id)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"name": " "}, "the webhook name is empty"),
        ({"events": []}, "at least one event name"),
        ({"active": 1}, "active must be True or False"),
        ({"auth": "hmac"}, "signature-ed25519"),
        ({"description": 5}, "the description must be a string"),
    ],
    ids=["blank-name", "no-events", "active-not-bool", "unknown-auth", "description-not-str"],
)
def test_update_refuses_bad_values_as_create_does(
    registry_sender: Sender, changes: dict[str, object], words: str
) -> None:
    hook_id = _create(registry_sender)
    with pytest.raises(RegistryError, match=words):
        registry_sender.webhooks.update(hook_id, **changes)  # type: ignore[arg-type]


def test_retire_and_activate_switch_the_webhook(registry_sender: Sender) -> None:
    hook_id = _create(registry_sender)
    retired = registry_sender.webhooks.retire(hook_id)
    assert (retired.active, retired.disabled_reason) == (False, None)
    assert registry_sender.webhooks.activate(hook_id).active


def test_update_active_false_retires_as_retire_does(registry_sender: Sender) -> None:
    hook_id = _create(registry_sender)
    hook = registry_sender.webhooks.update(hook_id, active=False)
    assert (hook.active, hook.disabled_reason) == (False, None)
    assert registry_sender.webhooks.update(hook_id, active=True).active


def test_delete_removes_the_webhook(registry_sender: Sender) -> None:
    hook_id = _create(registry_sender)
    registry_sender.webhooks.delete(hook_id)
    with pytest.raises(NotFoundError):
        registry_sender.webhooks.get(hook_id)


def test_signature_file_verifies_a_signed_request(registry_sender: Sender) -> None:
    hook_id = _create(registry_sender, auth="signature")
    file = registry_sender.webhooks.signature_file(hook_id)
    assert file.webhook_id == hook_id
    assert file.scheme == "standard-webhooks-v1"
    assert file.secret is not None
    body = b'{"accountId":1,"events":[]}'
    Receiver(signature_file=file).verify(body, sign_headers(file.secret, body))
    Receiver(signature_file=file.to_dict()).verify(body, sign_headers(file.secret, body))


def test_ed25519_signature_file_holds_only_the_public_key(registry_sender: Sender) -> None:
    hook_id = _create(registry_sender, auth="signature-ed25519")
    file = registry_sender.webhooks.signature_file(hook_id)
    assert file.scheme == "standard-webhooks-v1a"
    assert file.public_key is not None
    assert file.public_key.startswith("whpk_")
    assert file.secret is None
    assert "secret" not in json.loads(file.to_json())


def test_basic_auth_webhook_has_no_signature_file(registry_sender: Sender) -> None:
    hook_id = _create(registry_sender, auth=BasicAuth("hooks", "pw-123"))
    with pytest.raises(RegistryError, match="basic auth"):
        registry_sender.webhooks.signature_file(hook_id)


def test_rotation_keeps_the_old_secret_valid_during_the_grace(
    registry_sender: Sender, clock: FakeClock
) -> None:
    hook_id = _create(registry_sender, auth="signature")
    old = registry_sender.webhooks.signature_file(hook_id).secret
    registry_sender.webhooks.rotate_secret(hook_id, grace=timedelta(hours=1))
    during = registry_sender.webhooks.signature_file(hook_id)
    assert during.keys[1] == old
    assert during.secret != old
    assert json.loads(during.to_json())["secrets"] == list(during.keys)
    clock.advance(3601)
    after = registry_sender.webhooks.signature_file(hook_id)
    assert after.keys == (during.secret,)
    assert "secrets" not in json.loads(after.to_json())


def test_rotating_a_webhook_without_signature_is_refused(registry_sender: Sender) -> None:
    hook_id = _create(registry_sender)
    with pytest.raises(RegistryError, match="no secret"):
        registry_sender.webhooks.rotate_secret(hook_id)


def test_secrets_never_appear_in_reprs_or_logs(
    registry_sender: Sender, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    signed = _create(registry_sender, auth="signature")
    basic = _create(registry_sender, auth=BasicAuth("hooks", "pw-very-secret"))
    secret = registry_sender.webhooks.signature_file(signed).secret
    registry_sender.webhooks.rotate_secret(signed)
    shown = " ".join(
        [
            repr(registry_sender.webhooks.get(signed)),
            repr(registry_sender.webhooks.get(basic)),
            repr(BasicAuth("hooks", "pw-very-secret")),
            repr(registry_sender),
            caplog.text,
        ]
    )
    assert secret not in shown
    assert secret.removeprefix("whsec_") not in shown
    assert "pw-very-secret" not in shown
    assert caplog.records
