"""The example receiver (examples/webhook_receiver.py, standard library only) accepts what the
product signs, refuses what it did not sign, and keeps each webhook-id once in its CSV."""

from __future__ import annotations

import csv
import importlib.util
import json
import threading
import time
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

from dialer.domain.event_webhooks import new_secret, signature_header

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "webhook_receiver.py"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("webhook_receiver", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _post(url: str, headers: dict[str, str], body: bytes) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - a loopback test server
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_the_example_receiver_verifies_dedupes_and_writes_csv(tmp_path: Path) -> None:
    receiver = _example()
    old, new = new_secret(), new_secret()
    out = tmp_path / "events.csv"
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver.make_handler([new], receiver.CsvSink(str(out))))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        event = {
            "type": "call.completed",
            "id": "evt_1",
            "created_at": "2026-12-06T00:00:00Z",
            "sequence": 2,
            "data": {"lead_id": "L1", "call_id": "c1", "outcome": "answered_human"},
        }
        body = json.dumps(event).encode()
        now = int(time.time())

        def headers(secrets: list[str], webhook_id: str = "evt_1", at: int = now) -> dict[str, str]:
            return {
                "webhook-id": webhook_id,
                "webhook-timestamp": str(at),
                "webhook-signature": signature_header(secrets, webhook_id, at, body),
                "content-type": "application/json",
            }

        # signed during a rotation (old + new): kept once, a retry with the same id is not kept again
        assert _post(url, headers([new, old]), body) == 204
        assert _post(url, headers([new]), body) == 204
        # another secret, a stale timestamp, a tampered body: refused
        assert _post(url, headers([old]), body) == 401
        assert _post(url, headers([new], at=now - 600), body) == 401
        assert _post(url, headers([new], webhook_id="evt_2"), body.replace(b"L1", b"L2")) == 401
    finally:
        server.shutdown()
        server.server_close()
    rows = list(csv.DictReader(out.open()))
    assert [(r["webhook_id"], r["type"], r["lead_id"], r["sequence"], r["outcome"]) for r in rows] == [
        ("evt_1", "call.completed", "L1", "2", "answered_human")
    ]
    # a restarted receiver remembers what its CSV holds
    assert receiver.CsvSink(str(out)).add("evt_1", event) is False


def test_the_example_receiver_needs_a_secret() -> None:
    with pytest.raises(SystemExit):
        _example().main(["--port", "0"])
