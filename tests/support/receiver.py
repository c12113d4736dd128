"""A webhook receiver for tests: a real HTTP server on loopback that records what it is sent and
answers what the test tells it to (200 by default)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """Every request the receiver got, and what it answers next."""

    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answer: int = 200
    url: str = ""


@contextmanager
def receiver() -> Iterator[Received]:
    """Serve on 127.0.0.1 (a free port) until the block ends."""
    got = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            got.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(got.answer)
            self.end_headers()
            self.wfile.write(b"ok" if got.answer < 300 else b"receiver error " + b"x" * 1000)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    got.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield got
    finally:
        server.shutdown()
        server.server_close()
