"""``/accounts/<id>/webhooks``: register, change, switch, test and re-key an account's webhooks.

Every route finds the webhook with :meth:`Call.webhook`, so another account's
webhook answers 404 as a missing one. Every change is written to the audit
log, naming the fields that changed and never a secret. A secret is shown in
the answer of the call that makes it (create, an update to a signature kind,
rotate-secret) and afterwards only by downloading the signature file, which
needs the ``manage`` capability.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from pydantic.alias_generators import to_camel

from ...errors import InvalidTargetError, TargetBlockedError
from ...sender.models import AuthKind, Webhook
from ...signature_file import SignatureFile
from ..problems import ApiError
from ..routing import Call, route, run_coroutine
from .webhook_models import (
    RotateSecretInput,
    SignatureFileModel,
    WebhookCreate,
    WebhookList,
    WebhookModel,
    WebhookTestResult,
    WebhookUpdate,
    WebhookWithSecret,
)

__all__ = ["VERIFIED_BY"]

_ALL = "/accounts/<int:account_id>/webhooks"
_ONE = _ALL + "/<webhook_id>"
_TAG = "webhooks"
_EXCERPT = 500
_SIGNED: tuple[AuthKind, ...] = ("signature", "signature-ed25519")

VERIFIED_BY: dict[AuthKind, str] = {
    "signature": (
        "signature: the listener checks the webhook-signature header (HMAC-SHA256 of the "
        "webhook-id and webhook-timestamp headers and the body) with the signature file's secret"
    ),
    "signature-ed25519": (
        "signature: the listener checks the webhook-signature header (ed25519 over the "
        "webhook-id and webhook-timestamp headers and the body) with the signature file's "
        "public key"
    ),
    "basic": "basic auth: the listener checks the Authorization header's username and password",
    "none": "none: the request carries no credentials, so the listener cannot tell who sent it",
}
"""What a listener must check to trust a request, by the webhook's kind of auth."""


@contextmanager
def _target_refusals() -> Iterator[None]:
    """Turn the registry's refusal of a target URL into a 422 naming ``targetUrl``.

    The body's validation checks the URL's form; only the registry knows
    whether the sender allows private targets, and resolves the host to check.
    """
    try:
        yield
    except (InvalidTargetError, TargetBlockedError) as exc:
        raise _field_error("targetUrl", exc.message) from None


def _field_error(field: str, message: str) -> ApiError:
    return ApiError(422, f"{field}: {message}", errors=[{"field": field, "message": message}])


def _new_file(call: Call, webhook: Webhook) -> SignatureFile | None:
    """The signature file of a webhook whose secret this call made; None without one."""
    return call.sender.webhooks.signature_file(webhook.id) if webhook.auth in _SIGNED else None


@route(
    "GET",
    _ALL,
    capability="read",
    summary="List the account's webhooks",
    response=WebhookList,
    tag=_TAG,
)
def list_webhooks(call: Call) -> WebhookList:
    """The account's webhooks, oldest first (no secrets)."""
    found = call.sender.webhooks.list(call.account_id)
    return WebhookList(items=[WebhookModel.of(webhook) for webhook in found])


@route(
    "POST",
    _ALL,
    capability="manage",
    summary="Register a webhook (a signature webhook's answer shows its signature file once)",
    body=WebhookCreate,
    response=WebhookWithSecret,
    status=201,
    tag=_TAG,
)
def create_webhook(call: Call) -> WebhookWithSecret:
    """Register a webhook; past the account's limit the answer is 409 with ``limit``."""
    body: WebhookCreate = call.body
    with _target_refusals():
        webhook = call.sender.webhooks.create(
            name=body.name,
            description=body.description,
            target_url=body.target_url,
            events=body.events,
            auth=body.auth.library_auth(),
            active=body.active,
            account_id=call.account_id,
        )
    call.audit("webhook.created", webhook_id=webhook.id, name=webhook.name, auth=webhook.auth)
    return WebhookWithSecret.with_file(webhook, _new_file(call, webhook))


@route(
    "GET",
    _ONE,
    capability="read",
    summary="Show one webhook (no secrets)",
    response=WebhookModel,
    tag=_TAG,
)
def get_webhook(call: Call) -> WebhookModel:
    """One webhook of the account."""
    return WebhookModel.of(call.webhook(call.params["webhook_id"]))


@route(
    "PATCH",
    _ONE,
    capability="manage",
    summary="Change the given fields of a webhook (a new signature auth shows its file once)",
    body=WebhookUpdate,
    response=WebhookWithSecret,
    tag=_TAG,
)
def update_webhook(call: Call) -> WebhookWithSecret:
    """Change only the fields the body gives; the others keep their values."""
    body: WebhookUpdate = call.body
    webhook_id = call.webhook(call.params["webhook_id"]).id
    given = sorted(body.model_fields_set)
    if not given:
        raise _field_error("body", "give at least one field to change")
    changes: dict[str, Any] = {name: getattr(body, name) for name in given}
    if body.auth is not None:
        changes["auth"] = body.auth.library_auth()
    with _target_refusals():
        webhook = call.sender.webhooks.update(webhook_id, **changes)
    call.audit("webhook.updated", webhook_id=webhook_id, fields=[to_camel(n) for n in given])
    made_secret = body.auth is not None
    return WebhookWithSecret.with_file(webhook, _new_file(call, webhook) if made_secret else None)


@route(
    "DELETE",
    _ONE,
    capability="manage",
    summary="Delete a webhook with its deliveries and attempt log",
    status=204,
    tag=_TAG,
)
def delete_webhook(call: Call) -> None:
    """Delete the webhook; the answer is 204 with no body."""
    webhook = call.webhook(call.params["webhook_id"])
    call.sender.webhooks.delete(webhook.id)
    call.audit("webhook.deleted", webhook_id=webhook.id, name=webhook.name)


@route(
    "POST",
    _ONE + "/activate",
    capability="manage",
    summary="Switch a webhook on again (also one the sender disabled)",
    response=WebhookModel,
    tag=_TAG,
)
def activate_webhook(call: Call) -> WebhookModel:
    """Activate the webhook; the sender's reason for disabling it is cleared."""
    webhook_id = call.webhook(call.params["webhook_id"]).id
    webhook = call.sender.webhooks.activate(webhook_id)
    call.audit("webhook.activated", webhook_id=webhook_id)
    return WebhookModel.of(webhook)


@route(
    "POST",
    _ONE + "/retire",
    capability="manage",
    summary="Switch a webhook off: nothing is queued for it or sent to it until activated",
    response=WebhookModel,
    tag=_TAG,
)
def retire_webhook(call: Call) -> WebhookModel:
    """Retire the webhook."""
    webhook_id = call.webhook(call.params["webhook_id"]).id
    webhook = call.sender.webhooks.retire(webhook_id)
    call.audit("webhook.retired", webhook_id=webhook_id)
    return WebhookModel.of(webhook)


@route(
    "POST",
    _ONE + "/test",
    capability="manage",
    summary="Send a signed test delivery now and show what the target answered",
    response=WebhookTestResult,
    tag=_TAG,
)
def test_webhook(call: Call) -> WebhookTestResult:
    """Send one test event to the target (also a retired webhook's) and wait for its answer."""
    webhook = call.webhook(call.params["webhook_id"])
    attempt = run_coroutine(lambda: call.sender.webhooks.test(webhook.id))
    call.audit(
        "webhook.tested",
        webhook_id=webhook.id,
        statusCode=attempt.status_code,
        succeeded=attempt.succeeded,
    )
    return WebhookTestResult(
        succeeded=attempt.succeeded,
        status_code=attempt.status_code,
        latency_ms=attempt.latency_ms,
        response_excerpt=attempt.response_body[:_EXCERPT],
        error=attempt.error,
        request_id=attempt.request_id,
        auth=webhook.auth,
        verified_by=VERIFIED_BY[webhook.auth],
    )


@route(
    "POST",
    _ONE + "/rotate-secret",
    capability="manage",
    summary="Make a new secret (shown once); the old one keeps signing for graceSeconds",
    body=RotateSecretInput,
    response=WebhookWithSecret,
    tag=_TAG,
)
def rotate_webhook_secret(call: Call) -> WebhookWithSecret:
    """Rotate a signature webhook's secret; the answer holds the new signature file."""
    body: RotateSecretInput = call.body
    webhook_id = call.webhook(call.params["webhook_id"]).id
    grace = None if body.grace_seconds is None else timedelta(seconds=body.grace_seconds)
    webhook = call.sender.webhooks.rotate_secret(webhook_id, grace)
    call.audit("webhook.secret_rotated", webhook_id=webhook_id, graceSeconds=body.grace_seconds)
    return WebhookWithSecret.with_file(webhook, _new_file(call, webhook))


def _signature_file_name(call: Call) -> str:
    return f"signature-{call.params['webhook_id']}.json"


@route(
    "GET",
    _ONE + "/signature-file",
    capability="manage",
    summary="Download the webhook's signature file (it holds the secret)",
    response=SignatureFileModel,
    tag=_TAG,
    download_name=_signature_file_name,
)
def download_signature_file(call: Call) -> SignatureFileModel:
    """The signature file a listener verifies with, as an attachment."""
    webhook_id = call.webhook(call.params["webhook_id"]).id
    file = call.sender.webhooks.signature_file(webhook_id)
    call.audit("webhook.signature_file_downloaded", webhook_id=webhook_id)
    return SignatureFileModel.of(file)
