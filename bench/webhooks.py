"""Event-webhook delivery: events per second to one endpoint, and DynamoDB requests per event.

In-process (moto as the local stack runs it, serialised per request; a real HTTP receiver on loopback
answering 204): N events are recorded in the outbox, then the deliverer runs until every one was
delivered. Prints ``name value unit`` lines:

- ``webhooks.events`` the input size; ``webhooks.delivered`` how many arrived (must equal it);
- ``webhooks.throughput_per_endpoint`` delivered events per second (fan-out + send, one endpoint,
  answering after ``--receiver-ms``: a real receiver's latency bounds a pass's sends);
- ``webhooks.requests_per_event`` DynamoDB requests per delivered event (fan-out and delivery),
  and the same by operation; ``webhooks.write_units_per_event`` the write units they cost (table
  and index entries, by partition class).

Run: ``PYTHONPATH=layers/telnyx_client:layers/core:. .venv/bin/python bench/webhooks.py --events 300``.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def main(argv: list[str] | None = None) -> int:
    """Run the bench; 1 when not every event arrived."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument(
        "--events-per-lead",
        type=int,
        default=2,
        help="events of one lead in the outbox at once (a settlement writes two)",
    )
    parser.add_argument(
        "--receiver-ms", type=float, default=0, help="how long the receiver takes to answer each POST"
    )
    parser.add_argument(
        "--sends-at-once",
        type=int,
        default=0,
        help="the deliverer's sends in flight (0: the product's default)",
    )
    args = parser.parse_args(argv)

    import boto3
    from moto import mock_aws

    from bench.dynamo_meter import DynamoMeter
    from local.moto_shims import embedded_moto
    from tests.support.aws import aws_env_defaults, function_environment, provision

    aws_env_defaults()
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    from dialer.observability import discard_business_metrics, get_logger

    get_logger().setLevel("WARNING")
    received: list[str] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            time.sleep(args.receiver_ms / 1000)
            received.append(self.headers["webhook-id"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    with mock_aws(), embedded_moto():
        meter = DynamoMeter().install()
        stack = provision(lambda service: boto3.client(service, region_name="us-east-1"))
        os.environ.update(function_environment(stack))
        from dialer.adapters.webhook_sender import HttpSender
        from dialer.adapters.webhooks_table import EndpointRecord, WebhooksTable, outbox_put
        from dialer.domain.dialing import utc_iso
        from dialer.domain.event_webhooks import EventType, new_secret
        from dialer.services.webhook_delivery import SENDS_AT_ONCE, WebhookDeliverer

        table = WebhooksTable(stack.table_name)
        now = datetime.now(UTC)
        stamp = utc_iso(now)
        table.put_endpoint(
            EndpointRecord(
                "bench", "we_bench", url, (), "bench", True, stamp, stamp, ({"secret": new_secret()},)
            )
        )
        for i in range(args.events):
            lead = f"L{i // max(1, args.events_per_lead)}"
            data = {"lead_id": lead, "outcome": "answered_human"}
            table.record_event(outbox_put("bench", EventType.CALL_COMPLETED, data, at=now, lead_id=lead))
        deliverer = WebhookDeliverer(
            table,
            HttpSender(allow_loopback=True),
            clock=lambda: datetime.now(UTC),
            wall_clock=lambda: datetime.now(UTC),
            sends_at_once=args.sends_at_once or SENDS_AT_ONCE,
        )
        meter.reset()
        started = time.perf_counter()
        for _ in range(50):
            deliverer.run_once(limit=100)
            if len(set(received)) >= args.events:
                break
        elapsed = time.perf_counter() - started
        used = meter.reset()
        discard_business_metrics()
    server.shutdown()
    delivered = len(set(received))
    print(f"webhooks.events {args.events} events")
    print(f"webhooks.delivered {delivered} events")
    print(f"webhooks.throughput_per_endpoint {delivered / elapsed:.1f} events/s")
    print(f"webhooks.requests_per_event {used.total_requests() / max(delivered, 1):.2f} requests")
    for operation, count in sorted(used.requests.items()):
        print(f"webhooks.requests_per_event.{operation} {count / max(delivered, 1):.2f} requests")
    units = sum(used.write_units.values())
    print(f"webhooks.write_units_per_event {units / max(delivered, 1):.2f} WCU")
    for (index, partition), value in sorted(used.by_class(used.write_units).items()):
        print(f"#   {value / max(delivered, 1):.2f} WCU/event: {index} {partition}")
    return 0 if delivered == args.events else 1


if __name__ == "__main__":
    raise SystemExit(main())
