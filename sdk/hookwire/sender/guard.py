"""The target guard: webhooks may not point the sender at private networks (SSRF).

A target is checked at registration and again at every send. At registration
its URL must be an absolute http(s) URL without credentials, and every address
its host resolves to must be public. Both times the host is judged as the HTTP
client itself reads it, through yarl (IDNA, with Unicode digits and dots folded,
so ``１２７.０.０.１`` is ``127.0.0.1``): :func:`target_host` at registration, and
the very ``URL`` the dispatcher hands aiohttp at send time. At send time three
checks run:

- :func:`check_literal_host` refuses a private IP literal before anything else;
- :class:`GuardedResolver` refuses a name that resolves to a private address,
  so a DNS answer that changed after registration (rebinding) is refused;
- :func:`guarded_socket`, the connector's socket factory, refuses to open a
  socket to a private address, whatever path produced it. This is the check
  that holds for every spelling: no byte is sent before the address the socket
  connects to has passed it.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import SplitResult, urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from ..errors import InvalidTargetError, TargetBlockedError
from ..hints import Hint

__all__ = [
    "GuardedResolver",
    "check_literal_host",
    "check_resolved_target",
    "guarded_socket",
    "is_blocked_address",
    "target_host",
    "validate_target_url",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_MAX_URL_LENGTH = 2048


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, NAT64 or 6to4), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def is_blocked_address(address: str | IPAddress) -> bool:
    """True for private, loopback, link-local, multicast, reserved or unspecified addresses.

    IPv4 addresses carried inside IPv6 ones (``::ffff:127.0.0.1``, NAT64,
    6to4) are judged by the IPv4 address they carry.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return is_blocked_address(inner)
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED)
    )


def _blocked(address: str) -> TargetBlockedError:
    return TargetBlockedError(
        f"the target resolves to {address}, a private or reserved address; point the webhook "
        "at a public host",
        address=address,
        hint=Hint.ALLOW_PRIVATE,
    )


def validate_target_url(url: str) -> SplitResult:
    """Check that ``url`` is an absolute http(s) URL with a host and no credentials.

    Raises :class:`InvalidTargetError` saying what to fix.
    """
    if not isinstance(url, str) or not url.strip():
        raise InvalidTargetError("the target URL is empty; give an absolute http(s) URL")
    if len(url) > _MAX_URL_LENGTH:
        raise InvalidTargetError(f"the target URL is longer than {_MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise InvalidTargetError("the target URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidTargetError(f"the target URL cannot be parsed: {exc}") from None
    if parts.scheme not in ("http", "https"):
        shown = parts.scheme or "no scheme"
        raise InvalidTargetError(
            f"the target URL must start with http:// or https:// (it has {shown}); "
            "give an absolute URL such as https://example.com/webhooks"
        )
    if not parts.hostname:
        raise InvalidTargetError("the target URL has no host; give e.g. https://example.com/hooks")
    if parts.username is not None or parts.password is not None:
        raise InvalidTargetError(
            "the target URL contains credentials; remove them and use "
            "auth=BasicAuth(user, password)"
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidTargetError(f"the target URL has an invalid port: {exc}") from None
    if port == 0:
        raise InvalidTargetError("the target URL has port 0; give a port from 1 to 65535")
    if parts.fragment or url.endswith("#"):
        raise InvalidTargetError(
            "the target URL has a #fragment, which is never sent to the server; remove it"
        )
    _check_host_name(parts.hostname)
    return parts


def _check_host_name(host: str) -> None:
    """Refuse a host that is neither an IP literal nor a name DNS can carry (IDN allowed)."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    else:
        return
    try:
        host.encode("idna")
    except UnicodeError:
        raise InvalidTargetError(
            f"the target host {host[:80]!r} is not a valid host name; check its spelling"
        ) from None


def target_host(url: str) -> str:
    """The host of ``url`` as the HTTP client connects to it.

    aiohttp reads URLs with yarl, which folds a host through IDNA (UTS 46):
    full-width and mathematical digits become ASCII digits and ideographic or
    full-width dots become dots. Checking the host as written would let
    ``http://１２７.０.０.１/`` pass as a name while the client connects to
    ``127.0.0.1``.
    """
    try:
        host = URL(url).host
    except (ValueError, UnicodeError):
        host = None
    return host if host is not None else (urlsplit(url).hostname or "")


def check_literal_host(host: str) -> None:
    """Raise :class:`TargetBlockedError` if ``host`` is an IP literal that is blocked."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return
    if is_blocked_address(ip):
        raise _blocked(str(ip))


def check_resolved_target(url: str) -> None:
    """Resolve the URL's host now and refuse it if any address is blocked.

    Used at registration; raises :class:`InvalidTargetError` when the host does
    not resolve and :class:`TargetBlockedError` when it is private.
    """
    parts = validate_target_url(url)
    host = target_host(url)
    check_literal_host(host)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise InvalidTargetError(
            f"the target host {host!r} does not resolve; check its spelling"
        ) from exc
    for info in infos:
        address = str(info[4][0])
        if is_blocked_address(address):
            raise _blocked(address)


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that refuses hosts resolving to blocked addresses.

    It wraps another resolver (a :class:`~aiohttp.resolver.ThreadedResolver`
    by default) and fails the connection with :class:`TargetBlockedError` (an
    ``OSError`` cause inside aiohttp's connection error) if any answer is private.
    """

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner if inner is not None else ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve through the wrapped resolver, then refuse any blocked answer."""
        results = await self._inner.resolve(host, port, family)
        for result in results:
            if is_blocked_address(result["host"]):
                raise BlockedAddressOSError(result["host"])
        return results

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self._inner.close()


def guarded_socket(addr_info: tuple[Any, ...]) -> socket.socket:
    """A socket for ``addr_info`` (aiohttp's ``socket_factory``), refused for a blocked address.

    The connector calls this with the very address it is about to connect to,
    after every resolution and normalisation, so an address that slipped past
    the earlier checks still gets no connection.
    """
    family, kind, proto, _, address = addr_info
    if is_blocked_address(str(address[0])):
        raise BlockedAddressOSError(str(address[0]))
    return socket.socket(family=family, type=kind, proto=proto)


class BlockedAddressOSError(OSError):
    """Raised inside aiohttp's connector when a resolved address is blocked."""

    def __init__(self, address: str, *args: Any) -> None:
        super().__init__(f"the target resolved to the blocked address {address}")
        self.address = address
