"""The target guard: URL checks, address classification, and refusal at connect time."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from sender_support import Sink, hook_for

from hookwire.errors import InvalidTargetError, TargetBlockedError
from hookwire.sender import Sender
from hookwire.sender.guard import (
    GuardedResolver,
    check_resolved_target,
    is_blocked_address,
    validate_target_url,
)

BLOCKED = [
    "10.0.0.1",
    "10.255.255.254",
    "172.16.0.1",
    "172.31.255.1",
    "192.168.1.1",
    "127.0.0.1",
    "127.8.9.10",
    "169.254.169.254",
    "100.64.0.1",
    "100.127.255.254",
    "0.0.0.0",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::7f00:1",
]


@pytest.mark.parametrize("address", BLOCKED)
def test_private_and_reserved_addresses_are_blocked(address: str) -> None:
    assert is_blocked_address(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert not is_blocked_address(address)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("", "empty"),
        ("ftp://example.com/x", "http:// or https://"),
        ("/relative/path", "http:// or https://"),
        ("example.com/hooks", "http:// or https://"),
        ("http:///nohost", "no host"),
        ("https://user:pw@example.com/", "credentials"),
        ("https://example.com:99999/", "port"),
        ("https://exa mple.com/", "spaces"),
    ],
)
def test_bad_target_urls_say_what_to_fix(url: str, fragment: str) -> None:
    with pytest.raises(InvalidTargetError, match=fragment):
        validate_target_url(url)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "[::1]", "[::ffff:192.168.0.1]"])
def test_registration_refuses_literal_private_targets(address: str) -> None:
    with pytest.raises(TargetBlockedError) as caught:
        check_resolved_target(f"http://{address}:8080/hooks")
    assert ipaddress.ip_address(caught.value.address) == ipaddress.ip_address(address.strip("[]"))


def test_registration_refuses_a_name_resolving_to_loopback() -> None:
    with pytest.raises(TargetBlockedError, match=r"127\.0\.0\.1"):
        check_resolved_target("http://localhost/hooks")


def test_registration_accepts_a_public_literal_without_connecting() -> None:
    check_resolved_target("https://93.184.215.14/hooks")


def test_sender_refuses_a_private_target_by_default(make_sender: Callable[..., Sender]) -> None:
    sender = make_sender(allow_private_targets=False)
    with pytest.raises(TargetBlockedError):
        sender.webhooks.create(
            name="x",
            target_url="http://127.0.0.1:9/hook",
            events=["COURSE_COMPLETED"],
            account_id=1,
        )
    assert sender.webhooks.list() == []


class _RebindingResolver(AbstractResolver):
    """Answers every name with one fixed address, like a DNS record changed after registration."""

    def __init__(self, address: str) -> None:
        self.address = address

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host, host=self.address, port=port, family=family, proto=0, flags=0
            )
        ]

    async def close(self) -> None:
        return None


async def test_resolver_refuses_a_private_answer() -> None:
    resolver = GuardedResolver(_RebindingResolver("10.0.0.7"))
    with pytest.raises(OSError, match=r"10\.0\.0\.7"):
        await resolver.resolve("hooks.example.com", 443)


async def test_resolver_passes_a_public_answer() -> None:
    resolver = GuardedResolver(_RebindingResolver("93.184.215.14"))
    results = await resolver.resolve("hooks.example.com", 443)
    assert results[0]["host"] == "93.184.215.14"


async def test_connect_time_guard_refuses_a_name_that_now_resolves_to_loopback(
    make_sender: Callable[..., Sender], sink: Sink
) -> None:
    # Registered while allowed (think: public at the time), delivered by a guarded dispatcher.
    open_sender = make_sender()
    hook = open_sender.webhooks.create(
        name="rebind",
        target_url=sink.url.replace("127.0.0.1", "localhost"),
        events=["COURSE_COMPLETED"],
        account_id=1,
    )
    guarded = make_sender(allow_private_targets=False)
    guarded.publish(
        "COURSE_COMPLETED", data={"userId": 1, "loId": "c:1", "loInstanceId": "c:1_1"}, account_id=1
    )
    await guarded.drain()
    assert sink.received == []
    attempt = guarded.deliveries.get(guarded.deliveries.list(webhook_id=hook.id)[0].id).attempts[0]
    assert attempt.status_code is None
    assert attempt.error is not None
    assert attempt.error.startswith("blocked")


async def test_connect_time_guard_refuses_a_literal_private_target(
    make_sender: Callable[..., Sender], sink: Sink
) -> None:
    hook_id = hook_for(make_sender(), sink)
    guarded = make_sender(allow_private_targets=False)
    guarded.publish(
        "COURSE_COMPLETED", data={"userId": 1, "loId": "c:1", "loInstanceId": "c:1_1"}, account_id=1
    )
    await guarded.drain()
    assert sink.received == []
    delivery = guarded.deliveries.list(webhook_id=hook_id)[0]
    assert guarded.deliveries.get(delivery.id).attempts[0].error == (
        "blocked: the target resolves to 127.0.0.1, a private or reserved address; point the "
        "webhook at a public host (or create the Sender with allow_private_targets=True for "
        "local tests)"
    )
