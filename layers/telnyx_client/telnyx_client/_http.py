"""The HTTP core shared by every sub-API: one ``httpx.Client``, error mapping, bounded retries.

Imported when a :class:`~telnyx_client.client.TelnyxClient` is constructed, not when
``telnyx_client.client`` is imported, so a Lambda that only imports the module pays nothing.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import httpx

from telnyx_client.errors import (
    TelnyxConnectionError,
    TelnyxError,
    TelnyxTimeout,
    build_error,
)
from telnyx_client.retry import (
    NO_RETRY,
    Clock,
    Deadline,
    RetryPolicy,
    Sleep,
    is_retryable_status,
    parse_retry_after,
)

logger = logging.getLogger("telnyx_client")

_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-telnyx-request-id")

QueryParams = Mapping[str, str | int | float | bool | None]


def _request_id(headers: httpx.Headers) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None


def _chain(error: TelnyxError, cause: BaseException) -> TelnyxError:
    """Attach ``cause`` as if raised ``from`` it (we raise later, outside the except block)."""
    error.__cause__ = cause
    error.__suppress_context__ = True
    return error


class HttpCore:
    """Sends requests for the sub-APIs. Not public: use :class:`telnyx_client.client.TelnyxClient`."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        timeout: float,
        connect_timeout: float,
        transport: httpx.BaseTransport | None,
        retry_policy: RetryPolicy,
        clock: Clock,
        sleep: Sleep,
        wall_clock: Clock,
        headers: Mapping[str, str] | None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None,
    ) -> None:
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retry_policy = retry_policy
        self.clock = clock
        self.sleep = sleep
        self.wall_clock = wall_clock
        default_headers = {
            "Authorization": f"Bearer {api_key}",
            "Accept": "application/json",
            "User-Agent": "telnyx-ai-dialer-client/0.1",
        }
        default_headers.update(headers or {})
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=default_headers,
            timeout=httpx.Timeout(timeout, connect=min(connect_timeout, timeout)),
            transport=transport,
            verify=tls_context(),
            event_hooks=dict(event_hooks) if event_hooks else None,
            # Connection reuse across warm Lambda invocations is the point of one shared client.
            limits=httpx.Limits(max_keepalive_connections=10, keepalive_expiry=60.0),
        )

    def close(self) -> None:
        """Close pooled connections."""
        self.http.close()

    def request_json(
        self,
        method: str,
        path: str,
        *,
        retry_safe: bool,
        json_body: Any = None,
        params: QueryParams | None = None,
        timeout: float | None = None,
        deadline: float | Deadline | None = None,
    ) -> Any:
        """Send a request and return its parsed JSON body (``None`` for an empty 2xx body)."""
        response = self.request(
            method,
            path,
            retry_safe=retry_safe,
            json_body=json_body,
            params=params,
            timeout=timeout,
            deadline=deadline,
        )
        if not response.content or not response.content.strip():
            return None
        try:
            return json.loads(response.content)
        except ValueError as exc:
            raise TelnyxError(
                f"Telnyx {method} {path} -> HTTP {response.status_code}: body is not JSON",
                status=response.status_code,
                request_id=_request_id(response.headers),
                method=method,
                url=path,
                body_excerpt=response.text[:500],
            ) from exc

    def request(
        self,
        method: str,
        path: str,
        *,
        retry_safe: bool,
        json_body: Any = None,
        params: QueryParams | None = None,
        timeout: float | None = None,
        deadline: float | Deadline | None = None,
    ) -> httpx.Response:
        """Send a request; retry only when ``retry_safe``; raise a :class:`TelnyxError` on failure.

        ``timeout`` bounds each attempt; ``deadline`` (monotonic seconds on the client's clock, or a
        :class:`Deadline`) bounds the attempts *and* the sleeps between them.
        """
        policy = self.retry_policy if retry_safe else NO_RETRY
        until = deadline.at if isinstance(deadline, Deadline) else deadline
        per_attempt = self.timeout if timeout is None else timeout
        clean_params = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        retry_number = 0
        last_error: TelnyxError | None = None
        while True:
            attempt_timeout = per_attempt
            if until is not None:
                remaining = until - self.clock()
                if remaining < policy.min_attempt_seconds:
                    if last_error is not None:
                        raise last_error
                    raise TelnyxTimeout(
                        f"Telnyx {method} {path}: deadline passed before the request was sent",
                        method=method,
                        url=path,
                    )
                attempt_timeout = min(attempt_timeout, remaining)
            error = self._attempt(method, path, json_body, clean_params, attempt_timeout)
            if isinstance(error, httpx.Response):
                return error
            last_error = error
            if retry_number >= policy.max_retries or not error.retryable:
                raise error
            retry_number += 1
            delay = policy.backoff(retry_number, error.retry_after)
            if until is not None and self.clock() + delay + policy.min_attempt_seconds > until:
                # Sleeping would overrun the caller's budget: hand back the real failure now.
                raise error
            logger.info(
                "retrying Telnyx request",
                extra={
                    "method": method,
                    "path": path,
                    "status": error.status,
                    "code": error.code,
                    "retry": retry_number,
                    "delay_s": round(delay, 3),
                },
            )
            self.sleep(delay)

    def _attempt(
        self,
        method: str,
        path: str,
        json_body: Any,
        params: dict[str, str],
        timeout: float,
    ) -> httpx.Response | TelnyxError:
        """One HTTP exchange: the 2xx response, or the error it amounts to (not raised)."""
        try:
            response = self.http.request(
                method,
                path,
                json=json_body,
                params=params or None,
                timeout=httpx.Timeout(timeout, connect=min(self.connect_timeout, timeout)),
            )
        except httpx.TimeoutException as exc:
            return _chain(TelnyxTimeout(f"Telnyx {method} {path}: timed out", method=method, url=path), exc)
        except httpx.TransportError as exc:
            return _chain(
                TelnyxConnectionError(
                    f"Telnyx {method} {path}: {type(exc).__name__}", method=method, url=path
                ),
                exc,
            )
        if response.is_success:
            return response
        retry_after = (
            parse_retry_after(response.headers, now_wall=self.wall_clock())
            if response.status_code == 429 or is_retryable_status(response.status_code)
            else None
        )
        return build_error(
            response.status_code,
            response.content,
            content_type=response.headers.get("content-type"),
            request_id=_request_id(response.headers),
            retry_after=retry_after,
            method=method,
            url=path,
        )


def _param(value: str | int | float | bool) -> str:
    """Query values as Telnyx expects them (booleans lower-case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@cache
def tls_context() -> ssl.SSLContext:
    """The TLS context every client of the process shares: the one httpx would build for each
    client (certifi's CA bundle, ``SSL_CERT_FILE``/``SSL_CERT_DIR`` honoured), loaded once. Loading
    the bundle costs ~15 ms of CPU, which each tenant's first client paid on its first call.
    An ``SSLContext`` is safe to share between connections and threads."""
    return httpx.create_ssl_context()
