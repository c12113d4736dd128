"""S3 adapter for call transcripts: one JSON object per call, under its tenant's prefix."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dialer.adapters import aws
from dialer.errors import TemporarilyUnavailable


class S3TranscriptStore:
    """Writes and reads transcript documents in the transcript bucket."""

    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        """The boto3 S3 client, built on first use."""
        if self._client is None:
            self._client = aws.client("s3")
        return self._client

    def put(self, key: str, document: dict[str, Any]) -> None:
        """Store ``document`` at ``key`` (a put to the same key replaces it: retries never add a copy)."""
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType="application/json; charset=utf-8"
            )
        except (ClientError, BotoCoreError) as exc:
            raise TemporarilyUnavailable("could not store the transcript") from exc

    def get(self, key: str) -> dict[str, Any] | None:
        """The document at ``key``, or None if there is none (expired by the bucket's lifecycle)."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            return dict(json.loads(response["Body"].read()))
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in {"NoSuchKey", "404"}:
                return None
            raise TemporarilyUnavailable("could not read the transcript") from exc
        except BotoCoreError as exc:
            raise TemporarilyUnavailable("could not read the transcript") from exc
