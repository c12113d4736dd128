"""Sends one event webhook over HTTP(S) to an address checked after DNS resolution (issue 24).

Standard library only (``http.client``): the connection goes to the very address
:func:`~dialer.domain.destinations.resolve_checked` approved (no second lookup a rebinding DNS
server could answer differently), while TLS still verifies the certificate against the URL's host
name (SNI and ``Host`` as written). Redirects are not followed: a 3xx is a failed attempt, so a
receiver cannot bounce us to an internal address.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any

from dialer.domain.destinations import Resolver, UnsafeDestination, check_url, resolve_checked
from dialer.domain.event_webhooks import DELIVERY_TIMEOUT_SECONDS, RESPONSE_EXCERPT_CHARS, excerpt


@dataclass(frozen=True)
class SendResult:
    """What one attempt came to: the status (None when no answer), latency, an excerpt or error."""

    status: int | None
    latency_ms: int
    excerpt: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return self.status is not None and 200 <= self.status < 300


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a fixed address, verifying the certificate for the URL's host."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class _PinnedHTTP(http.client.HTTPConnection):
    """Plain HTTP to a fixed address (the local stack's loopback receivers only)."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class HttpSender:
    """POSTs an event to an endpoint URL, within the SSRF rules and the 10 s timeout."""

    def __init__(
        self,
        *,
        allow_loopback: bool = False,
        resolver: Resolver | None = None,
        timeout: float = DELIVERY_TIMEOUT_SECONDS,
    ) -> None:
        self.allow_loopback = allow_loopback
        self.resolver = resolver
        self.timeout = timeout

    def send(self, url: str, headers: dict[str, str], body: bytes) -> SendResult:
        """One POST; never raises for what the receiver or the network does."""
        started = time.monotonic()
        try:
            destination = check_url(url, allow_loopback=self.allow_loopback)
            address = resolve_checked(destination, self.resolver, allow_loopback=self.allow_loopback)
        except UnsafeDestination as exc:
            return SendResult(None, 0, error=f"refused: {exc}")
        kind = _PinnedHTTPS if destination.scheme == "https" else _PinnedHTTP
        connection: Any = kind(destination.host, destination.port, str(address), self.timeout)
        try:
            connection.request("POST", destination.target, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read(RESPONSE_EXCERPT_CHARS * 4)
            return SendResult(response.status, _ms(started), excerpt(answer))
        except (OSError, http.client.HTTPException) as exc:
            return SendResult(
                None, _ms(started), error=f"{type(exc).__name__}: {exc}"[:RESPONSE_EXCERPT_CHARS]
            )
        finally:
            connection.close()


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
