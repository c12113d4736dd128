"""Event sources: SQS event-source mappings (batches, partial failures) and schedule rules."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.sandbox import InvokeResult
from local.template import ACCOUNT_ID

log = logging.getLogger("local.triggers")
Invoke = Callable[[str, bytes], InvokeResult]


@dataclass
class QueueMapping:
    """An ``AWS::Lambda::EventSourceMapping`` from an SQS queue."""

    logical_id: str
    function: str
    queue_arn: str
    queue_url: str
    batch_size: int = 10
    window: float = 0.0
    report_failures: bool = False


def sqs_records(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """Lambda's SQS event for a batch of ``receive_message`` results."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {
                    name: {
                        "stringValue": attr.get("StringValue"),
                        "binaryValue": attr.get("BinaryValue"),
                        "stringListValues": attr.get("StringListValues", []),
                        "binaryListValues": attr.get("BinaryListValues", []),
                        "dataType": attr["DataType"],
                    }
                    for name, attr in m.get("MessageAttributes", {}).items()
                },
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def failed_ids(result: InvokeResult, batch_ids: set[str], report_failures: bool) -> set[str]:
    """Message ids to leave on the queue: all of them when the function failed, else the reported
    ``batchItemFailures`` (an unknown or empty identifier fails the whole batch, as in Lambda)."""
    if result.failed:
        return set(batch_ids)
    if not report_failures:
        return set()
    try:
        payload = result.json()
    except ValueError:
        return set()
    failures = payload.get("batchItemFailures") if isinstance(payload, dict) else None
    if not failures:
        return set()
    ids = {f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures}
    return set(batch_ids) if not ids <= batch_ids else ids


#: How long an idle poller's receive waits for a message (SQS long polling: it returns as soon as
#: one arrives). At 1 s, the stack's ~25 pollers, idle most of the time, made ~25 receives a
#: second: a quarter of the moto server's requests over a demo, and the runner's own AWS calls.
#: Pollers are daemon threads; stopping the stack does not wait for a receive to end.
IDLE_WAIT_SECONDS = 10


class QueuePoller(threading.Thread):
    """Receives batches from one queue and hands them to the consumer function, like Lambda's poller."""

    def __init__(
        self,
        mapping: QueueMapping,
        sqs: Any,
        invoke: Invoke,
        region: str,
        stop: threading.Event,
        number: int = 0,
    ):
        super().__init__(daemon=True, name=f"sqs-{mapping.logical_id}-{number}")
        self.mapping, self.sqs, self.invoke, self.region, self.stopping = mapping, sqs, invoke, region, stop

    def _receive(self, count: int, wait: int) -> list[dict[str, Any]]:
        return self.sqs.receive_message(
            QueueUrl=self.mapping.queue_url,
            MaxNumberOfMessages=min(count, 10),
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])

    def poll_once(self) -> int:
        """Receive one batch (filling it during the batching window), invoke, delete the successes."""
        mapping = self.mapping
        batch = self._receive(mapping.batch_size, IDLE_WAIT_SECONDS)
        deadline = time.monotonic() + mapping.window
        while batch and len(batch) < mapping.batch_size and time.monotonic() < deadline:
            more = self._receive(mapping.batch_size - len(batch), 0)
            if not more:
                time.sleep(min(0.1, max(deadline - time.monotonic(), 0)))
            batch += more
        if not batch:
            return 0
        result = self.invoke(
            mapping.function, json.dumps(sqs_records(batch, mapping.queue_arn, self.region)).encode()
        )
        keep = failed_ids(result, {m["MessageId"] for m in batch}, mapping.report_failures)
        done = [m for m in batch if m["MessageId"] not in keep]
        for start in range(0, len(done), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(done[start : start + 10])
            ]
            self.sqs.delete_message_batch(QueueUrl=mapping.queue_url, Entries=entries)
        log.info(
            "%s: batch=%d ok=%d failed=%d%s",
            mapping.function,
            len(batch),
            len(done),
            len(keep),
            f" ({result.error_type})" if result.failed else "",
        )
        return len(batch)

    def run(self) -> None:
        """Poll until the stack stops; errors of the SQS endpoint are logged and retried."""
        while not self.stopping.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # keep polling through transient endpoint errors
                if self.stopping.is_set():
                    return
                log.warning("%s: poll failed: %s", self.mapping.logical_id, exc)
                self.stopping.wait(1)


_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float | None:
    """Period of a ``rate(...)`` expression in seconds; None for ``cron(...)``/``at(...)``."""
    found = _RATE.match(expression.strip())
    return int(found.group(1)) * _UNIT_SECONDS[found.group(2).rstrip("s")] if found else None


@dataclass
class Target:
    """A function (or a queue) a schedule delivers to, with its fixed input if any."""

    function: str | None
    queue_url: str | None
    input: str | None


@dataclass
class Schedule:
    """An ``AWS::Events::Rule`` or ``AWS::Scheduler::Schedule`` with a schedule expression."""

    logical_id: str
    arn: str
    expression: str
    targets: list[Target]
    source: str  # aws.events or aws.scheduler
    enabled: bool = True

    def event(self, target: Target, region: str) -> bytes:
        """The target's Input, else EventBridge's "Scheduled Event" envelope."""
        if target.input is not None:
            return target.input.encode()
        return json.dumps(
            {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": self.source,
                "account": ACCOUNT_ID,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "region": region,
                "resources": [self.arn],
                "detail": {},
            }
        ).encode()


class Scheduler:
    """Fires schedules on a timer (``rate`` expressions, or every ``period`` seconds if overridden)
    and on demand; ``cron`` expressions fire on demand only unless a period is given."""

    def __init__(
        self, schedules: dict[str, Schedule], invoke: Invoke, sqs: Any, region: str, stop: threading.Event
    ):
        self.schedules, self.invoke, self.sqs, self.region, self.stopping = (
            schedules,
            invoke,
            sqs,
            region,
            stop,
        )
        self.periods: dict[str, float | None] = {}  # logical id → seconds between ticks (None/0: on demand)

    def fire(self, logical_id: str) -> list[dict[str, Any]]:
        """Deliver one tick to every target of a schedule now; returns each target's outcome."""
        schedule = self.schedules[logical_id]
        outcomes = []
        for target in schedule.targets:
            event = schedule.event(target, self.region)
            if target.queue_url:
                self.sqs.send_message(QueueUrl=target.queue_url, MessageBody=event.decode())
                outcomes.append({"queue": target.queue_url, "error": None})
                continue
            assert target.function is not None
            result = self.invoke(target.function, event)
            if result.failed:  # Lambda would retry an async invoke twice; locally it is logged
                log.warning("schedule %s -> %s failed: %s", logical_id, target.function, result.payload[:300])
            try:
                payload = result.json()
            except ValueError:
                payload = result.payload.decode(errors="replace")
            outcomes.append({"function": target.function, "error": result.error_type, "payload": payload})
        return outcomes

    def start(
        self, period_override: float | None, periods: dict[str, float] | None = None
    ) -> list[threading.Thread]:
        """One timer thread per enabled schedule. A schedule's period: ``periods`` by the schedule's
        logical id or its target function's, else ``period_override``, else its ``rate``; 0 disables
        its timer (on demand only)."""
        threads = []
        periods = periods or {}
        for schedule in self.schedules.values():
            names = [schedule.logical_id, *(t.function for t in schedule.targets if t.function)]
            period = next((periods[n] for n in names if n in periods), period_override)
            if period is None:
                period = rate_seconds(schedule.expression)
            self.periods[schedule.logical_id] = period if schedule.enabled else None
            if not schedule.enabled or not period:
                log.info("schedule %s (%s): on demand only", schedule.logical_id, schedule.expression)
                continue
            thread = threading.Thread(
                target=self._tick,
                args=(schedule.logical_id, period),
                daemon=True,
                name=f"tick-{schedule.logical_id}",
            )
            thread.start()
            threads.append(thread)
        return threads

    def _tick(self, logical_id: str, period: float) -> None:
        while not self.stopping.wait(period):
            try:
                self.fire(logical_id)
            except Exception as exc:  # a failed tick must not stop the timer
                log.warning("schedule %s: %s", logical_id, exc)
