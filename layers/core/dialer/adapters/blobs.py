"""S3 adapter for the claim check: bodies too large for an SQS message."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dialer.adapters import aws
from dialer.errors import TemporarilyUnavailable


class S3PayloadStore:
    """Stores and reads webhook bodies in one bucket."""

    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        """The boto3 S3 client, built on first use."""
        if self._client is None:
            self._client = aws.client("s3")
        return self._client

    def put(self, key: str, body: bytes, content_type: str) -> None:
        """Store ``body`` at ``key``. Raises TemporarilyUnavailable on failure."""
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        except (ClientError, BotoCoreError) as exc:
            raise TemporarilyUnavailable("could not store the webhook body") from exc

    def get(self, key: str) -> bytes:
        """Read the body at ``key``. Raises TemporarilyUnavailable on failure (the message retries)."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            return bytes(response["Body"].read())
        except (ClientError, BotoCoreError) as exc:
            raise TemporarilyUnavailable(f"could not read the stored webhook body {key}") from exc
