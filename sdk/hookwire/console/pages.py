"""The console's pages: server-rendered HTML over the same library calls the API makes.

:func:`register_pages` adds every page declared in the ``pages_*`` modules to
the console's blueprint and gives each HTML answer a strict
Content-Security-Policy. This module holds the pages that are not about one
webhook or delivery: the start page, the operator's accounts, the event
catalogue and the audit log.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict
from datetime import UTC, datetime
from functools import cache
from typing import Any

from flask import Blueprint, Response, redirect, request, url_for
from flask.typing import ResponseReturnValue

from ..events import CATALOGUE
from ..samples import sample_data
from . import audit
from .pages_kit import PAGES, PageCall, page, secure_headers, wrapped
from .problems import ApiError

__all__ = ["register_pages"]

_AUDIT_PAGE = 100


def register_pages(bp: Blueprint) -> None:
    """Add the pages' views to the console's blueprint."""
    from . import pages_log, pages_webhooks  # noqa: F401  (declare their pages)

    for found in PAGES:
        bp.add_url_rule(
            found.rule,
            endpoint=f"page_{found.view.__name__}",
            view_func=wrapped(found),
            methods=list(found.methods),
        )
    bp.after_request(_headers)


def _headers(response: Response) -> Response:
    from .app import current_state

    return secure_headers(response, current_state().settings.frame_ancestors)


@page("/")
def home(call: PageCall) -> ResponseReturnValue:
    """The start page: an operator's accounts, else the webhooks of the caller's account."""
    accounts = call.principal.accounts
    if accounts is None:
        return redirect(url_for(".page_accounts"))
    if not accounts:
        raise ApiError(404, "your access covers no account")
    return redirect(url_for(".page_webhooks", account_id=min(accounts)))


@page("/accounts")
def accounts(call: PageCall) -> ResponseReturnValue:
    """The accounts the caller sees, each with its number of webhooks."""
    counts: dict[int, int] = {}
    for hook in call.sender.webhooks.list():
        if call.principal.sees(hook.account_id):
            counts[hook.account_id] = counts.get(hook.account_id, 0) + 1
    for account in call.principal.accounts or ():
        counts.setdefault(account, 0)
    return call.render("accounts.html", accounts=sorted(counts.items()), title="Accounts")


@page("/accounts/switch")
def switch_account(call: PageCall) -> ResponseReturnValue:
    """Go to the account chosen in the switcher (a GET form: nothing changes)."""
    raw = request.args.get("account", "").strip()
    if not raw.isdigit():
        raise ApiError(422, "account: give an account number, such as 1010")
    account_id = int(raw)
    if not call.principal.sees(account_id):
        raise ApiError(404, f"no account {account_id}")
    return redirect(url_for(".page_webhooks", account_id=account_id))


@page("/catalogue")
def catalogue(call: PageCall) -> ResponseReturnValue:
    """Every event the platform sends: when it is sent, its data fields and an example."""
    return call.render("catalogue.html", entries=_catalogue_entries(), title="Event catalogue")


@cache
def _catalogue_entries() -> list[dict[str, Any]]:
    """The catalogue as the page shows it; fixed for a release, so built once."""
    rng = random.Random(7)
    moment = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    entries = []
    for name, spec in CATALOGUE.items():
        schema = spec.data_model.model_json_schema(by_alias=True)
        entries.append(
            {
                "name": name,
                "realtime": spec.realtime,
                "when": spec.description,
                "fields": _fields(schema),
                "example": json.dumps(sample_data(name, rng, now=moment), indent=2),
            }
        )
    return entries


def _fields(schema: dict[str, Any]) -> list[dict[str, str]]:
    """Each top-level property of a JSON schema: name, type and whether it is required."""
    required = set(schema.get("required", ()))
    fields = []
    for name, prop in schema.get("properties", {}).items():
        fields.append(
            {"name": name, "type": _type_of(prop), "required": "yes" if name in required else "no"}
        )
    return fields


def _type_of(prop: dict[str, Any]) -> str:
    if "anyOf" in prop:
        kinds = [_type_of(option) for option in prop["anyOf"]]
        return " or ".join(kind for kind in kinds if kind != "null") or "null"
    if "$ref" in prop:
        return "object"
    kind = str(prop.get("type", "any"))
    fmt = prop.get("format")
    return f"{kind} ({fmt})" if fmt else kind


@page("/accounts/<int:account_id>/audit")
def audit_log(call: PageCall, account_id: int) -> ResponseReturnValue:
    """The account's changes made through the console, newest first: who, what, when."""
    cursor = request.args.get("cursor") or None
    with call.state.reading() as conn:
        found = audit.page(conn, account_id=account_id, cursor=cursor, limit=_AUDIT_PAGE)
    rows = [
        {**asdict(entry), "detail": ", ".join(f"{k}: {v}" for k, v in sorted(entry.detail.items()))}
        for entry in found.items
    ]
    following = found.next_cursor
    return call.render(
        "audit.html",
        rows=rows,
        title="Audit log",
        next_url=url_for(".page_audit_log", account_id=account_id, cursor=following)
        if following
        else None,
        first_url=url_for(".page_audit_log", account_id=account_id) if cursor else None,
    )
