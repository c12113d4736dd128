"""Typed domain exceptions. Core code raises these; each handler maps them to HTTP once."""

from __future__ import annotations


class DialerError(Exception):
    """Base class of every domain error."""


class Unauthorized(DialerError):
    """The caller could not be authenticated (bad signature, unknown tenant, bad key)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class BadRequest(DialerError):
    """The input is malformed; nothing was changed."""


class PayloadTooLarge(DialerError):
    """The body is over the size this route accepts."""


class TemporarilyUnavailable(DialerError):
    """A dependency failed; the caller should retry (webhooks: Telnyx retries on 5xx)."""


class ConcurrentUpdate(DialerError):
    """Optimistic concurrency lost too many times in a row; the message is retried later."""
