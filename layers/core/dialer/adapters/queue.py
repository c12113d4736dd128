"""SQS adapter: make a message durable, or fail loudly."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dialer.adapters import aws
from dialer.errors import TemporarilyUnavailable


class _Queue:
    """One SQS queue and its boto3 client, built on first use."""

    def __init__(self, queue_url: str, client: Any = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> Any:
        """The boto3 SQS client, built on first use."""
        if self._client is None:
            self._client = aws.client("sqs")
        return self._client


class SqsQueue(_Queue):
    """Sends messages to one SQS queue."""

    def send(self, body: str, attributes: dict[str, str] | None = None) -> str:
        """Send one message; return its SQS message id. Raises TemporarilyUnavailable on failure."""
        attrs = {k: {"DataType": "String", "StringValue": v} for k, v in (attributes or {}).items() if v}
        try:
            response = self.client.send_message(
                QueueUrl=self.queue_url, MessageBody=body, MessageAttributes=attrs
            )
        except (ClientError, BotoCoreError) as exc:
            raise TemporarilyUnavailable("could not enqueue the event") from exc
        return str(response["MessageId"])


class JobsQueue(_Queue):
    """The engine's work queues (dial jobs, dispatch kicks): delays and batches."""

    def send(self, body: str, *, delay_seconds: int = 0) -> str:
        """Send one message, visible after ``delay_seconds`` (0-900)."""
        kwargs: dict[str, Any] = {"QueueUrl": self.queue_url, "MessageBody": body}
        if delay_seconds:
            kwargs["DelaySeconds"] = max(0, min(900, int(delay_seconds)))
        try:
            response = self.client.send_message(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise TemporarilyUnavailable("could not enqueue the job") from exc
        return str(response["MessageId"])

    def send_many(self, bodies: list[str]) -> None:
        """Send messages ten per SendMessageBatch; a message the batch failed is sent again alone."""
        for i in range(0, len(bodies), 10):
            entries = [{"Id": str(j), "MessageBody": b} for j, b in enumerate(bodies[i : i + 10])]
            try:
                response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise TemporarilyUnavailable("could not enqueue the jobs") from exc
            for failed in response.get("Failed", []):
                self.send(entries[int(failed["Id"])]["MessageBody"])
