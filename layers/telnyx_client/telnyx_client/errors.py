"""One exception hierarchy for everything the Telnyx REST API (or the network) can do to a call.

Telnyx answers errors in two body shapes (WIRE §2.1), and both are parsed here:

* most of v2 (Call Control, TeXML, numbers): ``{"errors": [{"code", "title", "detail", "source", "meta"}]}``,
  where ``code`` is a *string* such as ``"90018"``;
* the AI endpoints (``/ai/*``): FastAPI's ``{"detail": [{"loc", "msg", "type"}]}``, or ``{"detail": "text"}``.

Anything else (an RFC 7807 problem document from a proxy, HTML from a load balancer, an empty body)
still becomes a :class:`TelnyxError` with the status and a bounded excerpt of the text.

Stdlib only: callers import this module for their ``except`` clauses, so it must cost nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Telnyx error codes the backend branches on (WIRE §2.2).
CODE_CALL_ALREADY_ENDED = "90018"
CODE_DIALS_PER_SECOND = "90103"
CODE_TOO_MANY_REQUESTS = "10011"
CODE_AI_ASSISTANT_ALREADY_ACTIVE = "90061"
CODE_CALL_NOT_ANSWERED = "90034"

# How much of a non-JSON body we keep: enough to diagnose a proxy page, never a whole HTML document.
_MAX_TEXT_EXCERPT = 500


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """One entry of an error body, normalised across the two shapes.

    For the ``errors[]`` shape ``code``/``title``/``detail``/``source``/``meta`` are copied as sent.
    For FastAPI's ``detail[]`` shape ``loc`` and ``type`` are kept, ``title``/``detail`` carry ``msg``
    and ``source`` gets a JSON pointer built from ``loc`` so callers can treat both alike.
    """

    code: str | None = None
    title: str | None = None
    detail: str | None = None
    source: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    loc: tuple[str | int, ...] = ()
    type: str | None = None


class TelnyxError(Exception):
    """Base class: a Telnyx request failed.

    ``status`` is the HTTP status (``None`` for transport failures); ``code``/``title``/``detail`` come
    from the first error entry; ``errors`` holds every entry; ``request_id`` is Telnyx's request id
    header when present (quote it to Telnyx support); ``retry_after`` is the server's wait hint in
    seconds (``Retry-After`` / ``x-ratelimit-reset``) on retryable statuses, else ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        errors: tuple[ErrorDetail, ...] = (),
        request_id: str | None = None,
        method: str | None = None,
        url: str | None = None,
        body_excerpt: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status
        self.errors = errors
        self.request_id = request_id
        self.method = method
        self.url = url
        self.body_excerpt = body_excerpt

    @property
    def code(self) -> str | None:
        """The first error's Telnyx code (a string, e.g. ``"90018"``), if any."""
        return self.errors[0].code if self.errors else None

    @property
    def title(self) -> str | None:
        """The first error's title, if any."""
        return self.errors[0].title if self.errors else None

    @property
    def detail(self) -> str | None:
        """The first error's detail, if any."""
        return self.errors[0].detail if self.errors else None

    @property
    def codes(self) -> tuple[str, ...]:
        """Every Telnyx code in the body (Telnyx can return several errors at once)."""
        return tuple(e.code for e in self.errors if e.code)

    def has_code(self, code: str) -> bool:
        """True when any error entry carries ``code``."""
        return code in self.codes

    @property
    def retryable(self) -> bool:
        """True for failures a retry may cure: 408, 429, 5xx and transport errors."""
        return self.status is None or self.status in (408, 429) or self.status >= 500


class TelnyxValidationError(TelnyxError):
    """400 or 422: Telnyx refused the request (bad field, call already ended, invalid id …)."""


class TelnyxAuthError(TelnyxError):
    """401 or 403: the API key is wrong, revoked, or lacks permission."""


class TelnyxNotFound(TelnyxError):
    """404: the resource does not exist (or is not visible to this key)."""


class TelnyxServerError(TelnyxError):
    """5xx: Telnyx failed; the request may or may not have taken effect."""


class TelnyxRateLimited(TelnyxError):
    """429. ``code`` tells the limits apart: ``90103`` dials per second, ``10011`` the generic API limit.

    ``retry_after`` is the server's hint in seconds (from ``Retry-After`` or ``x-ratelimit-reset``),
    or ``None`` when it sent none.
    """

    @property
    def is_dial_rate_limit(self) -> bool:
        """True when the dials-per-second limit (90103) was hit, as opposed to the generic API limit."""
        return self.has_code(CODE_DIALS_PER_SECOND)


class TelnyxTransportError(TelnyxError):
    """No HTTP response: the request may or may not have reached Telnyx."""


class TelnyxTimeout(TelnyxTransportError):
    """The request (or the caller's deadline) timed out."""


class TelnyxConnectionError(TelnyxTransportError):
    """The connection failed (DNS, refused, reset, TLS)."""


def parse_error_body(
    body: bytes, content_type: str | None = None
) -> tuple[tuple[ErrorDetail, ...], str | None]:
    """Parse an error response body into error entries (both Telnyx shapes) and a text excerpt.

    Never raises: an unparseable body gives no entries and an excerpt of its text.
    """
    text = body.decode("utf-8", errors="replace") if body else ""
    excerpt = text[:_MAX_TEXT_EXCERPT] if text else None
    if not text.strip():
        return (), None
    try:
        doc = json.loads(text)
    except ValueError:
        return (), excerpt
    if not isinstance(doc, dict):
        return (), excerpt
    entries: list[ErrorDetail] = []
    errors = doc.get("errors")
    if isinstance(errors, list):
        entries.extend(_from_errors_entry(item) for item in errors if isinstance(item, Mapping))
    detail = doc.get("detail")
    if isinstance(detail, list):
        entries.extend(_from_fastapi_entry(item) for item in detail if isinstance(item, Mapping))
    elif isinstance(detail, str) and not entries:
        # FastAPI's HTTPException body, or an RFC 7807 problem document (Prism's 401 uses one).
        title = doc.get("title")
        entries.append(ErrorDetail(title=str(title) if title is not None else detail, detail=detail))
    elif not entries and isinstance(doc.get("title"), str):
        entries.append(ErrorDetail(title=doc["title"]))
    return tuple(entries), excerpt


def _from_errors_entry(item: Mapping[str, Any]) -> ErrorDetail:
    code = item.get("code")
    source = item.get("source")
    meta = item.get("meta")
    return ErrorDetail(
        # The spec types code as a string, but be lenient with an integer from an older gateway.
        code=str(code) if code is not None else None,
        title=_opt_str(item.get("title")),
        detail=_opt_str(item.get("detail")),
        source=dict(source) if isinstance(source, Mapping) else {},
        meta=dict(meta) if isinstance(meta, Mapping) else {},
    )


def _from_fastapi_entry(item: Mapping[str, Any]) -> ErrorDetail:
    raw_loc = item.get("loc")
    loc = tuple(x for x in raw_loc if isinstance(x, str | int)) if isinstance(raw_loc, list) else ()
    msg = _opt_str(item.get("msg"))
    pointer = "/" + "/".join(str(x) for x in loc if x != "body") if loc else None
    return ErrorDetail(
        title=msg,
        detail=msg,
        source={"pointer": pointer} if pointer else {},
        loc=loc,
        type=_opt_str(item.get("type")),
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def error_class_for_status(status: int) -> type[TelnyxError]:
    """The exception class for an HTTP status (transport errors have their own classes)."""
    if status == 429:
        return TelnyxRateLimited
    if status in (400, 422):
        return TelnyxValidationError
    if status in (401, 403):
        return TelnyxAuthError
    if status == 404:
        return TelnyxNotFound
    if status >= 500:
        return TelnyxServerError
    return TelnyxError


def build_error(
    status: int,
    body: bytes,
    *,
    content_type: str | None = None,
    request_id: str | None = None,
    retry_after: float | None = None,
    method: str | None = None,
    url: str | None = None,
) -> TelnyxError:
    """Build the right :class:`TelnyxError` subclass for an HTTP error response."""
    errors, excerpt = parse_error_body(body, content_type)
    first = errors[0] if errors else None
    summary = (first.title or first.detail) if first else None
    code = f" [{first.code}]" if first and first.code else ""
    message = f"Telnyx {method or ''} {url or ''} -> HTTP {status}{code}: {summary or excerpt or 'no body'}"
    kwargs: dict[str, Any] = {
        "status": status,
        "errors": errors,
        "request_id": request_id,
        "method": method,
        "url": url,
        "body_excerpt": excerpt,
        "retry_after": retry_after,
    }
    return error_class_for_status(status)(message, **kwargs)
