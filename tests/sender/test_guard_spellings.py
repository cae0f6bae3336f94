"""The send-time guard holds for every spelling of a private address.

A target stored while private targets were allowed (or by a path that skips
the registration check) is delivered by a guarded dispatcher. aiohttp folds
Unicode digits and dots in a host to ASCII (``１２７.０.０.１`` connects to
``127.0.0.1``), so the guard must judge the host as the client spells it, and
the address each socket connects to.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from sender_support import COMPLETED, Sink, hook_for

from hookwire.sender import Sender
from hookwire.sender import http as sender_http
from hookwire.sender.guard import (
    BlockedAddressOSError,
    check_resolved_target,
    guarded_socket,
    target_host,
)

SPELLINGS = [
    "１２７.０.０.１",  # full-width digits
    "127。0。0。1",  # ideographic full stops
    "127．0．0．1",  # full-width full stops
    "𝟏𝟐𝟕.𝟎.𝟎.𝟏",  # mathematical bold digits
    "ＬＯＣＡＬＨＯＳＴ",  # full-width letters
    "2130706433",  # 127.0.0.1 as one number: getaddrinfo reads it, aiohttp refuses it
]


def _blocked_reason(sender: Sender, hook_id: str) -> str:
    """The error of the webhook's first attempt, which must be the guard's refusal."""
    delivery = sender.deliveries.list(webhook_id=hook_id)[0]
    error = sender.deliveries.get(delivery.id).attempts[0].error
    assert error is not None
    assert error.startswith("blocked:")
    return error


@pytest.mark.parametrize("host", SPELLINGS[:4])
def test_target_host_folds_unicode_digits_and_dots_as_the_client_does(host: str) -> None:
    assert target_host(f"http://{host}:8080/hook") == "127.0.0.1"


@pytest.mark.parametrize("host", SPELLINGS)
def test_registration_refuses_every_spelling_of_loopback(host: str) -> None:
    with pytest.raises(Exception, match=r"127\.0\.0\.1|private"):
        check_resolved_target(f"http://{host}:8080/hook")


@pytest.mark.parametrize("host", SPELLINGS[:5])
async def test_a_stored_unicode_spelling_of_loopback_is_not_delivered_by_a_guarded_dispatcher(
    make_sender: Callable[..., Sender], sink: Sink, host: str
) -> None:
    hook_id = hook_for(make_sender(), sink)
    port = sink.url.rsplit(":", 1)[1]
    open_sender = make_sender()
    open_sender.webhooks.update(hook_id, target_url=f"http://{host}:{port}")
    guarded = make_sender(allow_private_targets=False)
    guarded.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    await guarded.drain()
    assert sink.received == []
    assert "127.0.0.1" in _blocked_reason(guarded, hook_id)


async def test_a_stored_numeric_spelling_of_loopback_is_not_delivered(
    make_sender: Callable[..., Sender], sink: Sink
) -> None:
    hook_id = hook_for(make_sender(), sink)
    port = sink.url.rsplit(":", 1)[1]
    make_sender().webhooks.update(hook_id, target_url=f"http://2130706433:{port}/hook")
    guarded = make_sender(allow_private_targets=False)
    guarded.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    await guarded.drain()
    assert sink.received == []


async def test_the_socket_factory_refuses_loopback_when_every_earlier_check_is_skipped(
    make_sender: Callable[..., Sender], sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The last line of defence alone: no literal check, and the address comes from
    # the connector itself (an IP literal never reaches the resolver).
    monkeypatch.setattr(sender_http, "check_literal_host", lambda host: None)
    hook_id = hook_for(make_sender(), sink)
    guarded = make_sender(allow_private_targets=False)
    guarded.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    await guarded.drain()
    assert sink.received == []
    _blocked_reason(guarded, hook_id)


def test_guarded_socket_refuses_private_addresses_and_opens_public_ones() -> None:
    with pytest.raises(BlockedAddressOSError, match=r"10\.1\.2\.3"):
        guarded_socket((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 80)))
    with pytest.raises(BlockedAddressOSError):
        guarded_socket((socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::ffff:127.0.0.1", 80, 0, 0)))
    opened = guarded_socket((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 80)))
    try:
        assert opened.family == socket.AF_INET
        assert opened.type == socket.SOCK_STREAM
    finally:
        opened.close()
