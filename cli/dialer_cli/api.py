"""The management API over HTTP, with its errors turned into :class:`CliError` exit codes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from dialer_cli.config import Config
from dialer_cli.errors import CliError, ExitCode

USER_AGENT = "telnyx-ai-dialer-cli"


def _code_for(status: int) -> ExitCode:
    if status in (401, 403):
        return ExitCode.AUTH
    if status == 404:
        return ExitCode.NOT_FOUND
    if status in (400, 413, 415, 422):
        return ExitCode.USAGE
    return ExitCode.API_ERROR


def error_lines(body: Any) -> list[str]:
    """The per-field messages of an error body (``errors`` of our API, ``detail`` of validation)."""
    lines: list[str] = []
    if not isinstance(body, dict):
        return lines
    for item in body.get("errors") or body.get("detail") or []:
        if isinstance(item, dict):
            where = item.get("field") or ".".join(str(p) for p in item.get("loc", []) if p != "body")
            text = item.get("message") or item.get("msg") or str(item)
            lines.append(f"{where}: {text}" if where else str(text))
    return lines


def no_such_route(response: httpx.Response) -> bool:
    """API Gateway's answer to a path it has no route for (a stack older than the CLI): 403
    "Missing Authentication Token", whatever the key."""
    if response.status_code != 403:
        return False
    try:
        return bool(response.json().get("message") == "Missing Authentication Token")
    except (ValueError, AttributeError):
        return False


class Api:
    """A tenant's view of the management API (``Authorization: Bearer <key>``)."""

    def __init__(self, config: Config, timeout: float = 30.0, transport: httpx.BaseTransport | None = None):
        headers = {"User-Agent": USER_AGENT}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        self.config = config
        self.http = httpx.Client(
            base_url=config.api_url, headers=headers, timeout=timeout, transport=transport
        )
        self.transport = transport  # presigned downloads go the same way, without the key

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- requests -------------------------------------------------------------------------------
    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The raw response (any status); unreachable API → :class:`CliError`."""
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise CliError(
                f"{method} {path}: the API did not answer in time ({exc})", ExitCode.UNREACHABLE
            ) from exc
        except httpx.TransportError as exc:
            raise CliError(
                f"cannot reach the API at {self.config.api_url}: {exc}", ExitCode.UNREACHABLE
            ) from exc

    def download(self, url: str) -> str:
        """The text at a presigned URL (no API key sent); a failure → :class:`CliError`."""
        try:
            with httpx.Client(timeout=self.http.timeout, transport=self.transport) as plain:
                response = plain.get(url)
        except httpx.HTTPError as exc:
            raise CliError(f"could not download {url.split('?')[0]}: {exc}", ExitCode.UNREACHABLE) from exc
        if not response.is_success:
            raise CliError(
                f"could not download {url.split('?')[0]}: HTTP {response.status_code}", ExitCode.API_ERROR
            )
        return response.text

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The decoded JSON of a 2xx answer (None for 204); any other status → :class:`CliError`."""
        if method in ("POST", "PUT", "PATCH"):
            kwargs.setdefault("headers", {}).setdefault("Idempotency-Key", str(uuid.uuid4()))
        response = self.send(method, path, **kwargs)
        if response.is_success:
            return response.json() if response.content else None
        raise self.error(method, path, response)

    def error(self, method: str, path: str, response: httpx.Response) -> CliError:
        try:
            body = response.json()
        except ValueError:
            body = None
        message = body.get("message") if isinstance(body, dict) else None
        if no_such_route(response):
            return CliError(
                f"{method} {path}: this API has no such route (an older stack?)", ExitCode.NOT_FOUND
            )
        if response.status_code in (401, 403):
            hint = "the API key is missing" if not self.config.api_key else "the API key was refused"
            message = f"{hint} ({message or response.reason_phrase}); check --api-key / DIALER_API_KEY"
        details = error_lines(body)
        if not message:
            message = (
                "the request was rejected" if details else (response.text[:200] or response.reason_phrase)
            )
        return CliError(
            f"{method} {path} → {response.status_code}: {message}", _code_for(response.status_code), details
        )

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def get_optional(self, path: str, **params: Any) -> Any | None:
        """GET a resource a newer API has (stats, calls, results): None when it answers 404."""
        response = self.send("GET", path, params=params)
        if response.status_code == 404 or no_such_route(response):
            return None
        if response.is_success:
            return response.json()
        raise self.error("GET", path, response)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json=body)

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, json=body)

    def pages(self, path: str, limit: int = 100) -> Iterator[dict[str, Any]]:
        """Every item of a paginated listing (``data`` + ``next_cursor``)."""
        cursor: str | None = None
        while True:
            page = self.get(path, limit=limit, cursor=cursor)
            yield from page["data"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def get_many(self, paths: list[str], workers: int = 8) -> list[Any]:
        """GET several resources concurrently (lead details for a report), in order."""
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(self.get, paths))
