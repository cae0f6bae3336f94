"""The console's pages in a real browser: the main path from an access link to retiring a
webhook, access (read-only, expired link, CSRF), the limit, the keyboard, and accessibility."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from conftest import Site
from flask import Flask

from hookwire.console import Principal
from hookwire.flask import WebhookListener
from hookwire.samples import sample_data

Check = Callable[[Any, str], None]


def publish(site: Site, account: int, count: int) -> None:
    rng = random.Random(11)
    for _ in range(count):
        data = sample_data("COURSE_COMPLETED", rng)
        site.sender.publish("COURSE_COMPLETED", data=data, account_id=account)


def listener_app(signature_file: Path, received: list[str]) -> Flask:
    """A real listener verifying with the downloaded signature file."""
    listener = WebhookListener()

    @listener.on_any
    def record(event: Any) -> None:
        received.append(event.event_name)

    app = Flask("listener")
    app.config["HOOKWIRE_SIGNATURE_FILE"] = str(signature_file)
    listener.init_app(app)
    return app


def open_link(page: Any, link: str) -> None:
    """Open an access link as a person does: the link's page, then its button."""
    page.goto(link)
    page.get_by_role("button", name="Open the console").click()


def test_main_path_from_access_link_to_retiring_a_webhook(
    page: Any, site: Site, check: Check, tmp_path: Path
) -> None:
    account = 1010
    open_link(page, site.console.access_link(account, base_url=site.url))
    assert page.url == f"{site.url}/accounts/{account}/webhooks"
    check(page, "webhooks-empty")

    page.get_by_role("link", name="Add webhook").click()
    check(page, "webhook-form")
    page.get_by_label("Name", exact=True).fill("LMS sync")
    page.get_by_label("Target URL", exact=True).fill(site.listener_url)
    page.get_by_label("Signature (generated secret)").check()
    page.get_by_label("COURSE_COMPLETED", exact=True).check()
    page.get_by_role("button", name="Save").click()
    assert page.get_by_text("Webhook added.").is_visible()
    assert page.get_by_label("Secret", exact=True).input_value().startswith("whsec_")
    check(page, "webhook-saved")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download signature (JSON)").click()
    signature = tmp_path / "signature.json"
    download.value.save_as(signature)
    site.listener.inner = listener_app(signature, site.listener.received)

    page.get_by_role("button", name="Test webhook").click()
    assert page.get_by_role("heading", name="Test result: succeeded").is_visible()
    check(page, "webhook-tested")

    publish(site, account, 3)
    site.drain()
    assert site.listener.received.count("COURSE_COMPLETED") == 3
    page.get_by_role("link", name="Delivery log").click()
    assert page.locator("td .status.succeeded").count() == 3
    check(page, "delivery-log")

    site.listener.failing = True
    publish(site, account, 1)
    site.drain()
    page.reload()
    page.locator("tr", has=page.locator(".status.failed")).get_by_role("link").click()
    assert page.get_by_role("heading", name=re.compile(r": 500 in \d+ ms")).count() == 1
    assert page.get_by_text("[redacted]").first.is_visible()
    check(page, "delivery")

    site.listener.failing = False
    page.get_by_role("button", name="Redeliver").click()
    assert page.get_by_text("Queued again").is_visible()
    site.drain()
    page.reload()
    assert page.locator(".timeline > li").count() == 2
    assert page.locator("dd .status.succeeded").count() == 1

    page.get_by_role("link", name="LMS sync").click()
    check(page, "webhook")
    page.get_by_role("link", name="Retire").click()
    check(page, "confirm-retire")
    page.get_by_role("button", name="Retire").click()
    assert page.locator("dd .status.off").inner_text() == "retired"


def test_a_read_only_link_shows_no_write_controls(page: Any, site: Site, check: Check) -> None:
    account = 3030
    site.sender.webhooks.create(
        name="Read me",
        target_url=site.listener_url,
        events=["COURSE_COMPLETED"],
        account_id=account,
        auth="signature",
    )
    open_link(page, site.console.access_link(account, read_only=True, base_url=site.url))
    assert page.get_by_text("read-only").is_visible()
    assert page.get_by_role("link", name="Add webhook").count() == 0
    page.get_by_role("link", name="Read me").click()
    assert page.locator("form[method=post]").count() == 0
    assert page.get_by_role("button").count() == 0
    page.get_by_role("link", name="Audit log").click()
    check(page, "audit-log")
    page.get_by_role("link", name="Event catalogue").click()
    check(page, "catalogue")


def test_an_expired_link_opens_nothing(page: Any, site: Site) -> None:
    link = site.console.access_link(1010, ttl=timedelta(milliseconds=1), base_url=site.url)
    page.wait_for_timeout(20)
    response = page.goto(link)
    assert response.status == 401
    assert "expired" in page.content()
    page.on("console", lambda _m: None)
    page.problems.clear()  # the browser logs the 401 itself; that is the expected answer


def test_a_form_posted_without_its_csrf_token_is_refused(page: Any, site: Site) -> None:
    open_link(page, site.console.access_link(4040, base_url=site.url))
    page.get_by_role("link", name="Add webhook").click()
    page.evaluate("document.querySelector('input[name=csrf_token]').remove()")
    page.get_by_label("Name", exact=True).fill("No token")
    page.get_by_label("Target URL", exact=True).fill(site.listener_url)
    page.get_by_label("COURSE_COMPLETED", exact=True).check()
    with page.expect_response(re.compile(r"/webhooks/new$")) as answer:
        page.get_by_role("button", name="Save").click()
    assert answer.value.status == 403
    assert "CSRF" in page.content()
    assert site.sender.webhooks.list(4040) == []
    page.problems.clear()  # the browser logs the 403 itself; that is the expected answer


def test_at_the_limit_add_webhook_is_disabled_with_the_reason(
    page: Any, site: Site, check: Check
) -> None:
    account = 5050
    for number in range(5):
        site.sender.webhooks.create(
            name=f"Hook {number}",
            target_url=site.listener_url,
            events=["COURSE_COMPLETED"],
            account_id=account,
        )
    open_link(page, site.console.access_link(account, base_url=site.url))
    assert page.get_by_role("button", name="Add webhook").is_disabled()
    assert page.get_by_text("at most 5 webhooks").is_visible()
    check(page, "webhooks-at-limit")


def test_the_keyboard_reaches_every_field_of_the_add_form_and_save(page: Any, site: Site) -> None:
    open_link(page, site.console.access_link(6060, base_url=site.url))
    page.get_by_role("link", name="Add webhook").click()
    reached: list[str] = []
    for _ in range(80):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e.id || (e.tagName + ':' + e.textContent.trim()); }"
        )
        reached.append(focused)
        if focused == "BUTTON:Save":
            break
    for wanted in (
        "name",
        "description",
        "target_url",
        "auth-signature",
        "event-COURSE_COMPLETED",
        "event-LEARNER_PROGRESS",
        "active",
        "BUTTON:Save",
    ):
        assert wanted in reached, f"Tab never reaches {wanted}: {reached}"
    order = [reached.index(name) for name in ("name", "description", "target_url", "active")]
    assert order == sorted(order)
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"


def test_an_operator_sees_the_accounts_and_switches(page: Any, site: Site, check: Check) -> None:
    site.sender.webhooks.create(
        name="Other", target_url=site.listener_url, events=["COURSE_COMPLETED"], account_id=7070
    )
    site.principal[0] = Principal(
        name="host:operator", accounts=None, capabilities=frozenset({"read", "manage"})
    )
    page.goto(site.url + "/")
    assert page.get_by_role("link", name="Account 7070").is_visible()
    check(page, "accounts")
    page.get_by_label("Account", exact=True).fill("7070")
    page.get_by_role("button", name="Switch").click()
    assert page.url.endswith("/accounts/7070/webhooks")
    check(page, "webhooks")
