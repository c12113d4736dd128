"""A tiny webhook receiver that verifies Telnyx signatures and records what arrived.

Used by the simulator's tests and by ``bench/simulator_scenario.py``; handy in a demo too. It
verifies every request with :func:`telnyx_client.signature.verify` (the same code the intake
uses) over the raw body, answers 2xx, or a scripted failure status to exercise retries.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from telnyx_client.signature import SignatureError, verify


@dataclass
class Received:
    """One POST as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes
    arrived: float
    verified: bool
    status: int

    @property
    def is_form(self) -> bool:
        """True for form-encoded TeXML callbacks."""
        return self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")

    def json(self) -> dict[str, Any]:
        """The JSON body (form bodies as a flat dict)."""
        if self.is_form:
            return dict(parse_qsl(self.body.decode()))
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """HTTP server on 127.0.0.1 that verifies and records webhooks.

    ``public_keys``: base64 keys to accept (one per simulated account). ``respond``: optional
    function ``(Received) -> status`` or ``-> (status, json_body)`` to script failures (e.g. 500 on
    a first attempt) or answers (the ``assistant.initialization`` reply).
    """

    public_keys: list[str]
    respond: Callable[[Received], int | tuple[int, Any]] | None = None
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> WebhookReceiver:
        """Bind a free port and serve in a background thread."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                item = Received(
                    self.path, headers, body, time.monotonic(), receiver._verify(body, headers), 200
                )
                reply = b""
                if receiver.respond is not None:
                    answer = receiver.respond(item)
                    if isinstance(answer, tuple):
                        item.status, reply = answer[0], json.dumps(answer[1]).encode()
                    else:
                        item.status = answer
                with receiver._lock:
                    receiver.received.append(item)
                self.send_response(item.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="webhook-receiver", daemon=True
        ).start()
        return self

    def _verify(self, body: bytes, headers: dict[str, str]) -> bool:
        for key in self.public_keys:
            try:
                verify(body, headers, key)
            except SignatureError:
                continue
            return True
        return False

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL of the receiver (any path is accepted)."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def items(self) -> list[Received]:
        """A copy of everything received so far."""
        with self._lock:
            return list(self.received)

    def events(self) -> list[dict[str, Any]]:
        """JSON envelopes received with a 2xx answer, in arrival order (duplicates included)."""
        return [r.json() for r in self.items() if not r.is_form and 200 <= r.status < 300]
