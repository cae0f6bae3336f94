"""Opening an access link shows a page and uses nothing; only its button (a same-site POST)
exchanges the link, so link previews cannot use it up and other sites cannot post one."""

from __future__ import annotations

from _access_helpers import ACCOUNT, link_token
from console_support import ConsoleHarness

from hookwire.console import sessions

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_opening_a_link_shows_its_button_and_leaves_it_unused(console: ConsoleHarness) -> None:
    link = console.console.access_link(ACCOUNT, read_only=True)

    first = console.client.get(link, headers=BROWSER)
    second = console.client.get(link, headers=BROWSER)

    assert first.status_code == second.status_code == 200
    page = first.get_data(as_text=True)
    assert "account 1010" in page
    assert "read-only" in page
    assert '<form method="post" action="/access">' in page
    assert f'name="token" value="{link_token(link)}"' in page
    assert sessions.COOKIE_NAME not in first.headers.get("Set-Cookie", "")
    assert console.client.post(link).status_code == 303


def test_the_buttons_post_opens_the_console_and_keeps_next(console: ConsoleHarness) -> None:
    token = link_token(console.console.access_link(ACCOUNT))
    client = console.client

    answer = client.post(
        "/access", data={"token": token, "next": "/accounts/1010/deliveries"}, headers=BROWSER
    )

    assert answer.status_code == 303
    assert answer.headers["Location"] == "/accounts/1010/deliveries"
    assert client.get_cookie(sessions.COOKIE_NAME) is not None


def test_a_used_link_is_refused_when_opened_again(console: ConsoleHarness) -> None:
    link = console.console.access_link(ACCOUNT)
    assert console.client.post(link).status_code == 303

    again = console.client.get(link, headers=BROWSER)

    assert again.status_code == 401
    assert "has been used already" in again.get_data(as_text=True)


def test_another_sites_post_cannot_exchange_a_link(console: ConsoleHarness) -> None:
    link = console.console.access_link(ACCOUNT)

    by_origin = console.client.post(link, headers={"Origin": "https://evil.example"})
    by_fetch = console.client.post(link, headers={"Sec-Fetch-Site": "cross-site"})

    assert by_origin.status_code == by_fetch.status_code == 403
    assert console.client.post(link, headers={"Origin": "http://localhost"}).status_code == 303
