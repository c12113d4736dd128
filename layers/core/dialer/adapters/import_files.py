"""S3 adapter for the import bucket: CSV imports (presigned upload URLs, ranged reads from a
checkpoint) and, under ``exports/``, results exports too big to answer inline (presigned download
URLs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dialer.errors import NotFound, TemporarilyUnavailable

READ_CHUNK = 256 * 1024


class ImportFiles:
    """Uploaded CSV files in the import bucket."""

    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        """An S3 client signing with SigV4 (presigned URLs), built on first use.

        boto3 takes the endpoint from ``AWS_ENDPOINT_URL`` when set, so on the local stack the URL
        points at moto's server, which is what the caller can reach.
        """
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client("s3", config=Config(signature_version="s3v4"))
        return self._client

    def upload_url(self, key: str, *, expires_in: int) -> str:
        """A presigned PUT URL for ``key``."""
        try:
            return str(
                self.client.generate_presigned_url(
                    "put_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
                )
            )
        except (ClientError, BotoCoreError) as exc:
            raise TemporarilyUnavailable("could not sign the upload URL") from exc

    def put(self, key: str, body: bytes, *, content_type: str) -> None:
        """Store ``body`` at ``key`` (an export). Raises TemporarilyUnavailable on failure."""
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        except (ClientError, BotoCoreError) as exc:
            raise TemporarilyUnavailable("could not store the export") from exc

    def download_url(self, key: str, *, expires_in: int) -> str:
        """A presigned GET URL for ``key``."""
        try:
            return str(
                self.client.generate_presigned_url(
                    "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
                )
            )
        except (ClientError, BotoCoreError) as exc:
            raise TemporarilyUnavailable("could not sign the download URL") from exc

    def size(self, key: str) -> int:
        """The object's size in bytes; NotFound if it is not there."""
        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise NotFound(f"no uploaded file at {key}") from exc
            raise TemporarilyUnavailable("could not read the import file") from exc
        except BotoCoreError as exc:
            raise TemporarilyUnavailable("could not read the import file") from exc

    def read_from(self, key: str, offset: int) -> Iterator[bytes]:
        """The object's bytes from ``offset`` on, as a stream of chunks (S3 GetObject with Range)."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes={offset}-")
            body = response["Body"]
            while True:
                chunk = body.read(READ_CHUNK)
                if not chunk:
                    return
                yield chunk
        except (ClientError, BotoCoreError) as exc:
            raise TemporarilyUnavailable("could not read the import file") from exc
