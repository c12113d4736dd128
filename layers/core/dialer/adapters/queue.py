"""SQS adapter: make a message durable, or fail loudly."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dialer.adapters import aws
from dialer.errors import TemporarilyUnavailable


class SqsQueue:
    """Sends messages to one SQS queue."""

    def __init__(self, queue_url: str, client: Any = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> Any:
        """The boto3 SQS client, built on first use."""
        if self._client is None:
            self._client = aws.client("sqs")
        return self._client

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
