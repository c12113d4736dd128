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


class UnreadableBody(BadRequest):
    """The request body cannot be read safely (see :mod:`dialer.request_body`); ``kind`` is the
    stable error type a 422 names (``json_invalid``, ``json_too_deep``, ``not_utf8`` ...)."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class StorageRejected(DialerError):
    """DynamoDB refused a request as invalid (a ``ValidationException``: an item or key too large,
    a value it cannot store). Retrying the same request cannot help, so unlike
    :class:`TemporarilyUnavailable` this is the caller's input, not "try again"."""


class PayloadTooLarge(DialerError):
    """The body is over the size this route accepts."""


class TemporarilyUnavailable(DialerError):
    """A dependency failed; the caller should retry (webhooks: Telnyx retries on 5xx)."""


class ConcurrentUpdate(DialerError):
    """Optimistic concurrency lost too many times in a row; the message is retried later."""


class NotFound(DialerError):
    """The resource does not exist for this tenant (also what another tenant's id looks like)."""


class Conflict(DialerError):
    """The request contradicts the current state (e.g. a number already assigned elsewhere)."""


class NotCallable(Conflict):
    """The lead may not be contacted (``reasons``: stable compliance reason codes, e.g. ``dnc``)."""

    def __init__(self, message: str, reasons: list[str]) -> None:
        super().__init__(message)
        self.reasons = reasons


class InvalidInput(DialerError):
    """Input that passed the schema failed a deeper check; ``errors`` name the fields (422).

    Each entry is ``{"loc": [...], "msg": "...", "type": "..."}``, the shape of every 422 we send.
    """

    def __init__(self, message: str, errors: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.errors = errors


class UpstreamRejected(DialerError):
    """Telnyx refused the tenant's API key (401/403 upstream): a 502, the tenant must fix it."""


class UpstreamRateLimited(DialerError):
    """Telnyx answered 429: a 503 with ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UpstreamTimeout(DialerError):
    """Telnyx did not answer in time (or the connection failed): a 504."""


class UpstreamFailed(DialerError):
    """Telnyx failed (5xx or an unexpected answer): a 502."""


class TenantNotConfigured(DialerError):
    """The tenant has no Telnyx API key stored yet (bootstrap ``set-secrets``): a 409."""


class IllegalTransition(Conflict):
    """A campaign lifecycle move that is not allowed from the current status (a 409)."""
