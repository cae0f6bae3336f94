"""The webhook pages: the account's list, the add/edit form, a webhook's detail and its actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, redirect, request, url_for
from flask.typing import ResponseReturnValue

from ..errors import WebhookError
from ..sender import Sender, Webhook, WebhookStats
from .pages_forms import WebhookForm, event_groups
from .pages_kit import PageCall, page
from .problems import ApiError
from .routing import run_coroutine

__all__ = ["GRACE_CHOICES", "health"]

_BASE = "/accounts/<int:account_id>/webhooks"
_HOOK = _BASE + "/<webhook_id>"
_RECENT = 10
GRACE_CHOICES = {"0": "none", "3600": "1 hour", "86400": "24 hours", "604800": "7 days"}
"""How long a rotated secret keeps signing beside the new one: seconds -> label."""
_DONE = {"retire": "retired", "activate": "activated"}
_ACTIONS = {
    "retire": "Retire",
    "activate": "Activate",
    "delete": "Delete",
}


def _limit(sender: Sender) -> int:
    """The most webhooks an account may have (the sender's ``max_webhooks_per_account``)."""
    return sender.webhooks.limit


def health(sender: Sender, hook: Webhook) -> WebhookStats:
    """A webhook's success rate (last 24 hours), last attempt and failure run."""
    return sender.deliveries.stats(hook.id)


def _hook(call: PageCall, webhook_id: str) -> Webhook:
    found = call.sender.webhooks.get(webhook_id)
    if found.account_id != call.account_id:
        raise ApiError(404, f"no webhook {webhook_id!r} in account {call.account_id}")
    return found


@page(_BASE)
def webhooks(call: PageCall, account_id: int) -> ResponseReturnValue:
    """The account's webhooks with their status and health; "Add webhook" up to the limit."""
    hooks = call.sender.webhooks.list(account_id)
    rows = [(hook, health(call.sender, hook)) for hook in hooks]
    limit = _limit(call.sender)
    return call.render(
        "webhooks.html", rows=rows, limit=limit, at_limit=len(hooks) >= limit, title="Webhooks"
    )


@page(_BASE + "/new", capability="manage", methods=("GET", "POST"))
def add_webhook(call: PageCall, account_id: int) -> ResponseReturnValue:
    """The add form; a valid post registers the webhook and shows its secret once."""
    if request.method == "GET":
        return _form(call, WebhookForm(), None)
    form = WebhookForm.read(request.form)
    auth = form.auth_argument(editing=False)
    if not form.errors:
        try:
            hook = call.sender.webhooks.create(
                name=form.name,
                description=form.description,
                target_url=form.target_url,
                events=form.events,
                auth=auth,
                active=form.active,
                account_id=account_id,
            )
        except WebhookError as exc:
            form.place(exc)
        else:
            call.audit("webhook.created", webhook_id=hook.id, name=hook.name, auth=hook.auth)
            return _saved(call, hook, "Webhook added")
    return _form(call, form, None, status=422)


@page(_HOOK + "/edit", capability="manage", methods=("GET", "POST"))
def edit_webhook(call: PageCall, account_id: int, webhook_id: str) -> ResponseReturnValue:
    """The edit form; Basic keeps its password when the field is left empty."""
    hook = _hook(call, webhook_id)
    if request.method == "GET":
        return _form(call, WebhookForm.of(hook), hook)
    form = WebhookForm.read(request.form)
    auth = form.auth_argument(editing=hook.auth == "basic")
    if not form.errors:
        changes: dict[str, Any] = {
            "name": form.name,
            "description": form.description,
            "target_url": form.target_url,
            "events": form.events,
            "active": form.active,
        }
        stored = "signature" if hook.auth.startswith("signature") else hook.auth
        kept = form.auth == stored and (auth is None or form.auth != "basic")
        if not kept:
            changes["auth"] = auth
        try:
            saved = call.sender.webhooks.update(hook.id, **changes)
        except WebhookError as exc:
            form.place(exc)
        else:
            call.audit("webhook.updated", webhook_id=hook.id, fields=sorted(changes))
            if "auth" in changes and saved.auth == "signature":
                return _saved(call, saved, "Webhook saved with a new signature secret")
            return redirect(url_for(".page_webhook", account_id=account_id, webhook_id=hook.id))
    return _form(call, form, hook, status=422)


def _form(call: PageCall, form: WebhookForm, hook: Webhook | None, status: int = 200) -> Response:
    return call.render(
        "webhook_form.html",
        status=status,
        form=form,
        hook=hook,
        groups=event_groups(),
        title=f"Edit {hook.name}" if hook else "Add webhook",
    )


def _saved(call: PageCall, hook: Webhook, headline: str) -> Response:
    """The page after saving: the signature secret, shown this once, and its download."""
    secret = None
    if hook.auth.startswith("signature"):
        secret = call.sender.webhooks.signature_file(hook.id).secret
    return _detail(call, hook, headline=headline, secret=secret, status=201)


@page(_HOOK)
def webhook(call: PageCall, account_id: int, webhook_id: str) -> ResponseReturnValue:
    """A webhook's settings, health, recent deliveries and attempts, and its actions."""
    return _detail(call, _hook(call, webhook_id))


def _detail(call: PageCall, hook: Webhook, status: int = 200, **extra: Any) -> Response:
    deliveries = call.sender.deliveries.list(webhook_id=hook.id, limit=_RECENT)
    attempts = [
        (delivery, attempt)
        for delivery in deliveries[:5]
        for attempt in call.sender.deliveries.get(delivery.id).attempts
    ]
    attempts.sort(key=lambda pair: pair[1].started_at, reverse=True)
    return call.render(
        "webhook.html",
        status=status,
        hook=hook,
        health=health(call.sender, hook),
        deliveries=deliveries,
        attempts=attempts[:_RECENT],
        grace_choices=GRACE_CHOICES,
        title=hook.name,
        **extra,
    )


@page(_HOOK + "/test", capability="manage", methods=("POST",))
def test_webhook(call: PageCall, account_id: int, webhook_id: str) -> ResponseReturnValue:
    """Send a signed test delivery now and show its result inline on the detail page."""
    hook = _hook(call, webhook_id)
    attempt = run_coroutine(lambda: call.sender.webhooks.test(hook.id))
    call.audit(
        "webhook.tested",
        webhook_id=hook.id,
        statusCode=attempt.status_code,
        succeeded=attempt.succeeded,
    )
    return _detail(call, hook, test=attempt)


@page(_HOOK + "/signature.json", capability="manage")
def download_signature(call: PageCall, account_id: int, webhook_id: str) -> ResponseReturnValue:
    """The signature file (JSON) a listener verifies with, as a download."""
    hook = _hook(call, webhook_id)
    text = call.sender.webhooks.signature_file(hook.id).to_json()
    call.audit("webhook.signature_file_downloaded", webhook_id=hook.id)
    response = Response(text, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="signature-{hook.id}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@page(_HOOK + "/rotate", capability="manage", methods=("POST",))
def rotate_secret(call: PageCall, account_id: int, webhook_id: str) -> ResponseReturnValue:
    """Make a new secret; the old one keeps signing for the chosen grace period."""
    hook = _hook(call, webhook_id)
    seconds = request.form.get("grace", "86400")
    if seconds not in GRACE_CHOICES:
        raise ApiError(422, f"grace: choose one of {', '.join(GRACE_CHOICES.values())}")
    rotated = call.sender.webhooks.rotate_secret(hook.id, timedelta(seconds=int(seconds)))
    call.audit("webhook.secret_rotated", webhook_id=hook.id, graceSeconds=int(seconds))
    headline = f"Secret rotated; the old one keeps working for {GRACE_CHOICES[seconds]}"
    return _saved(call, rotated, headline)


@page(_HOOK + "/confirm/<action>", capability="manage")
def confirm(call: PageCall, account_id: int, webhook_id: str, action: str) -> ResponseReturnValue:
    """The second step of retire, activate and delete: say what happens, then a button."""
    hook = _hook(call, webhook_id)
    if action not in _ACTIONS:
        raise ApiError(404, f"no action {action!r}; use retire, activate or delete")
    return call.render(
        "confirm.html", hook=hook, action=action, label=_ACTIONS[action], title=_ACTIONS[action]
    )


@page(_HOOK + "/<action>", capability="manage", methods=("POST",))
def act(call: PageCall, account_id: int, webhook_id: str, action: str) -> ResponseReturnValue:
    """Retire, activate or delete the webhook (after the confirmation page)."""
    hook = _hook(call, webhook_id)
    if action == "retire":
        call.sender.webhooks.retire(hook.id)
    elif action == "activate":
        call.sender.webhooks.activate(hook.id)
    elif action == "delete":
        call.sender.webhooks.delete(hook.id)
        call.audit("webhook.deleted", webhook_id=hook.id, name=hook.name)
        return redirect(url_for(".page_webhooks", account_id=account_id), 303)
    else:
        raise ApiError(404, f"no action {action!r}; use retire, activate or delete")
    call.audit(f"webhook.{_DONE[action]}", webhook_id=hook.id)
    return redirect(url_for(".page_webhook", account_id=account_id, webhook_id=hook.id), 303)
