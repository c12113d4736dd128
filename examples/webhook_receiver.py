#!/usr/bin/env python3
"""An event-webhook receiver as a CRM would run one: verifies each delivery's Standard Webhooks
signature, drops duplicates by ``webhook-id`` and appends every new event to a CSV.

Standard library only (copy it anywhere Python 3.9+ runs):

    python3 examples/webhook_receiver.py --secret whsec_... --csv events.csv --port 8787

Answers 204 for an event it kept (or had already kept: a retry or a replay under the same
``webhook-id``), 401 for a bad or stale signature, 400 for a body that is not an event. The
``sequence`` column orders one lead's events when they arrive out of order. Every delivery gets
one line on stderr: ``kept ID TYPE``, ``duplicate ID TYPE`` or ``refused 401 (reason)``.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300
COLUMNS = [
    "received_at",
    "webhook_id",
    "type",
    "created_at",
    "sequence",
    "lead_id",
    "campaign_id",
    "call_id",
    "outcome",
    "disposition",
    "status",
    "data",
]


class InvalidSignature(Exception):
    """The delivery is not signed by a secret we hold, or is too old or too new."""


def verify(secrets: list[str], headers: dict[str, str], body: bytes, now: float | None = None) -> None:
    """Check the ``webhook-signature`` of ``body`` against every secret (two during a rotation)."""
    webhook_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "").split()
    if not (webhook_id and timestamp.isdigit() and signatures):
        raise InvalidSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    if abs((now if now is not None else time.time()) - int(timestamp)) > TOLERANCE_SECONDS:
        raise InvalidSignature("timestamp outside the tolerance")
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    for secret in secrets:
        key = base64.b64decode(secret.removeprefix("whsec_"))
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        for candidate in signatures:
            version, _, value = candidate.partition(",")
            if version == "v1" and hmac.compare_digest(value, expected):
                return
    raise InvalidSignature("no signature matches")


class CsvSink:
    """Appends events to a CSV once per webhook-id (ids already in the file count as seen)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.seen: set[str] = set()
        if os.path.exists(path):
            with open(path, newline="", encoding="utf-8") as existing:
                self.seen = {row["webhook_id"] for row in csv.DictReader(existing)}
        else:
            with open(path, "w", newline="", encoding="utf-8") as new:
                csv.writer(new).writerow(COLUMNS)

    def add(self, webhook_id: str, event: dict) -> bool:
        """Keep the event; False when this webhook-id was kept already."""
        data = event.get("data") or {}
        row = [
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            webhook_id,
            event.get("type"),
            event.get("created_at"),
            event.get("sequence", ""),
            data.get("lead_id", ""),
            data.get("campaign_id", ""),
            data.get("call_id", ""),
            data.get("outcome", ""),
            data.get("disposition", ""),
            data.get("status", ""),
            json.dumps(data, sort_keys=True),
        ]
        with self.lock:
            if webhook_id in self.seen:
                return False
            with open(self.path, "a", newline="", encoding="utf-8") as out:
                csv.writer(out).writerow(row)
            self.seen.add(webhook_id)
            return True


def make_handler(secrets: list[str], sink: CsvSink) -> type[BaseHTTPRequestHandler]:
    """The request handler class for ``secrets`` and ``sink``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(min(length, 1_000_000))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                verify(secrets, headers, body)
                event = json.loads(body)
                if not isinstance(event, dict) or "type" not in event:
                    raise ValueError("not an event")
            except InvalidSignature as exc:
                self._note(f"refused 401 ({exc})")
                return self._answer(401, str(exc))
            except ValueError as exc:
                self._note(f"refused 400 ({exc})")
                return self._answer(400, str(exc))
            webhook_id = headers["webhook-id"]
            kept = sink.add(webhook_id, event)
            # One line per delivery: a retry or a replay shows as "duplicate" under the same id.
            self._note(f"{'kept' if kept else 'duplicate'} {webhook_id} {event['type']}")
            return self._answer(204, "")

        def _answer(self, status: int, message: str) -> None:
            self.send_response(status)
            self.send_header("content-length", str(len(message.encode())))
            self.end_headers()
            if message:
                self.wfile.write(message.encode())

        def _note(self, what: str) -> None:
            sys.stderr.write(f"webhook_receiver: {what}\n")
            sys.stderr.flush()

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass  # every delivery already has its line (_note)

        def log_message(self, format: str, *args: object) -> None:
            self._note(format % args)

    return Handler


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--secret", action="append", default=[], help="whsec_... (repeat during a rotation)")
    parser.add_argument("--csv", default="events.csv", help="where events are appended")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    args = parser.parse_args(argv)
    secrets = args.secret or [s for s in os.environ.get("WEBHOOK_SECRETS", "").split(",") if s]
    if not secrets:
        parser.error("give --secret (or WEBHOOK_SECRETS=whsec_a,whsec_b)")
    server = ThreadingHTTPServer((args.host, args.port), make_handler(secrets, CsvSink(args.csv)))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
