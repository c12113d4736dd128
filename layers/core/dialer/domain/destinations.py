"""Where an event webhook may be sent (SSRF guard): checked when an endpoint is saved and again,
on the resolved addresses, right before every delivery.

A URL names a host; what matters is the address it resolves to *now*. So the deliverer resolves
the host itself, refuses the delivery when **any** address is not a public unicast one (a
round-robin name with one private address could be picked by the connection), and connects to the
address it checked (no second lookup a DNS-rebinding server could answer differently). Every
spelling of an address ends up here as an :mod:`ipaddress` object after resolution: decimal
(``2130706433``), octal (``0177.0.0.1``), hex, short forms (``127.1``), IPv6-mapped IPv4
(``::ffff:127.0.0.1``), 6to4/Teredo wrappers, NAT64 (reserved) and names that resolve to 127.0.0.1.

Only a local stack may deliver to loopback, over plain http, and only through its explicit
setting (``WEBHOOK_ALLOW_LOOPBACK``, refused outside ``STAGE=local``).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from dialer.errors import InvalidInput

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
#: ``(host, port) → addresses`` (the deliverer's DNS lookup; tests pass their own).
Resolver = Callable[[str, int], Sequence[str]]

MAX_URL_LENGTH = 2048


class UnsafeDestination(InvalidInput):
    """The URL or an address it resolves to may not receive webhooks (422 at save time; a failed
    attempt with this reason at delivery time)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, [{"loc": ["body", "url"], "msg": message, "type": "unsafe_url"}])


@dataclass(frozen=True)
class Destination:
    """A checked URL: its scheme, host (as written, for Host and TLS SNI), port and target."""

    scheme: str
    host: str
    port: int
    target: str  # path and query


def check_url(url: str, *, allow_loopback: bool = False) -> Destination:
    """The URL's parts when its form is acceptable: https (http only with ``allow_loopback``, the
    local stack's setting), a host, no credentials, no fragment. The host's addresses are checked
    by :func:`resolve_checked`; a literal address is checked here too, so a plainly private URL
    is refused when it is saved."""
    if len(url) > MAX_URL_LENGTH or any(c.isspace() or ord(c) < 0x20 for c in url):
        raise UnsafeDestination("the URL is too long or holds whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeDestination(f"the URL is not valid: {exc}") from None
    allowed = ("https", "http") if allow_loopback else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeDestination("the URL must be https")
    if parts.username is not None or parts.password is not None:
        raise UnsafeDestination("the URL may not carry credentials")
    if parts.fragment:
        raise UnsafeDestination("the URL may not carry a fragment")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeDestination("the URL has no host")
    literal = _literal(host)
    if literal is not None:
        check_address(literal, allow_loopback=allow_loopback)
    elif host.endswith((".localhost", ".internal", ".local")) or (host == "localhost" and not allow_loopback):
        raise UnsafeDestination(f"{host} is not a public host")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), target)


def check_address(address: Address, *, allow_loopback: bool = False) -> None:
    """Refuse every address that is not public unicast (UnsafeDestination)."""
    inner = _unwrapped(address)
    if allow_loopback and inner.is_loopback:
        return
    if not inner.is_global or inner.is_multicast or inner.is_reserved or inner.is_unspecified:
        raise UnsafeDestination(f"{address} is not a public address")


def resolve_checked(
    destination: Destination, resolver: Resolver | None = None, *, allow_loopback: bool = False
) -> Address:
    """The address to connect to: every address the host resolves to, checked; the first one.
    UnsafeDestination when any is not public or the name does not resolve."""
    found = (resolver or system_resolver)(destination.host, destination.port)
    if not found:
        raise UnsafeDestination(f"{destination.host} does not resolve")
    addresses = []
    for text in found:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        check_address(address, allow_loopback=allow_loopback)
        addresses.append(address)
    return addresses[0]


def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses by the system's resolver (which also reads 0177.0.0.1 and 2130706433)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise UnsafeDestination(f"{host} does not resolve ({exc})") from None
    return [str(info[4][0]) for info in infos]


def _literal(host: str) -> Address | None:
    """The address a host written as one stands for, in any of the forms resolvers accept."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        # inet_aton reads the legacy forms: 2130706433, 0177.0.0.1, 0x7f.1, 127.1.
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _unwrapped(address: Address) -> Address:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo), else itself. NAT64
    (``64:ff9b::/96``) needs no unwrapping: it lies in ``::/8``, which ``is_reserved`` refuses."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return address
