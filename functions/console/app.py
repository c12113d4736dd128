"""The operator console: static files of a browser app behind ``GET /console`` and
``GET /console/{proxy+}`` on the management API's own origin.

Nothing here is secret and nothing is read per tenant: the page asks for an API key and calls the
API with it (the authorizer guards every API route as before). These two routes alone are open,
like ``/docs``. Every answer carries the console's Content-Security-Policy: scripts and styles
from this origin only (no inline code), requests to this origin only, no framing.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parent / "static"
INDEX = "index.html"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Text only: a binary file would need the API's binary media types to pass API Gateway intact.
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


@cache
def files() -> dict[str, Path]:
    """Every servable file by its path under /console/ (a fixed set: a request names one of them
    or gets 404, so no path can reach outside the folder)."""
    return {
        p.relative_to(STATIC).as_posix(): p
        for p in STATIC.rglob("*")
        if p.is_file() and p.suffix in CONTENT_TYPES
    }


def _answer(status: int, body: bytes, content_type: str, cache_control: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {**SECURITY_HEADERS, "Content-Type": content_type, "Cache-Control": cache_control},
        "body": body.decode("utf-8"),
        "isBase64Encoded": False,
    }


def serve(method: str, proxy: str | None) -> dict[str, Any]:
    """The answer to ``method /console`` (``proxy`` None: the page) or ``/console/{proxy}``."""
    if method not in ("GET", "HEAD"):
        return _answer(405, b"method not allowed\n", "text/plain; charset=utf-8", "no-store")
    name = INDEX if proxy is None else proxy
    path = files().get(name)
    if path is None:
        return _answer(404, b"not found\n", "text/plain; charset=utf-8", "no-store")
    # The page is always revalidated, so a deploy's new scripts are picked up on the next load;
    # the scripts themselves may be kept a minute (they are small and change only with a deploy).
    cache_control = "no-cache" if name == INDEX else "public, max-age=60"
    body = b"" if method == "HEAD" else path.read_bytes()
    return _answer(200, body, CONTENT_TYPES[path.suffix], cache_control)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    proxy = (event.get("pathParameters") or {}).get("proxy")
    return serve(str(event.get("httpMethod") or "GET"), proxy)
