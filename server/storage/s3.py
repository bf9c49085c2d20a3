"""An S3-compatible object store (boto3, in worker threads): the province's evidence bucket.

Each archived file is one object whose key is the file's path in the archive (under an optional
prefix), carrying its SHA-256 as metadata (`x-amz-meta-sha256`). Every call here blocks: the
callers run them in threads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..config import StorageSettings

CHUNK = 1 << 20

# What a store that is down, refuses or loses an object raises: callers catch these.
StoreError = (BotoCoreError, ClientError, OSError)


class S3Store:
    def __init__(self, settings: StorageSettings) -> None:
        self.bucket = settings.bucket
        self.prefix = settings.prefix.strip("/")
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=settings.endpoint or None,
            region_name=settings.region or "us-east-1",
            aws_access_key_id=settings.access_key or None,
            aws_secret_access_key=settings.secret_key or None,
            config=Config(
                connect_timeout=settings.timeout_s,
                read_timeout=settings.timeout_s,
                retries={"max_attempts": 2, "mode": "standard"},
                s3={"addressing_style": "path"},
            ),
        )

    def key(self, stored: str) -> str:
        return f"{self.prefix}/{stored}" if self.prefix else stored

    def ensure_bucket(self) -> None:
        """Create the bucket when it does not exist (a first start)."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self._client.create_bucket(Bucket=self.bucket)

    def put(self, stored: str, path: Path, sha256: str) -> None:
        with open(path, "rb") as f:
            self._client.upload_fileobj(
                f,
                self.bucket,
                self.key(stored),
                ExtraArgs={"Metadata": {"sha256": sha256}},
            )

    def head(self, stored: str) -> tuple[int, str] | None:
        """(size, the SHA-256 in its metadata), or None when there is no such object."""
        try:
            answer = self._client.head_object(Bucket=self.bucket, Key=self.key(stored))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(answer["ContentLength"]), str(answer.get("Metadata", {}).get("sha256", ""))

    def sha256(self, stored: str) -> tuple[str, int]:
        """The object's bytes hashed as the store returns them: (SHA-256, size)."""
        digest = hashlib.sha256()
        size = 0
        for chunk in self.chunks(stored):
            digest.update(chunk)
            size += len(chunk)
        return digest.hexdigest(), size

    def chunks(self, stored: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The object's bytes from `start` to `end` inclusive (the whole object by default)."""
        options: dict[str, Any] = {}
        if start or end is not None:
            options["Range"] = f"bytes={start}-{'' if end is None else end}"
        answer = self._client.get_object(Bucket=self.bucket, Key=self.key(stored), **options)
        body = answer["Body"]
        try:
            while chunk := body.read(CHUNK):
                yield chunk
        finally:
            body.close()

    def open(self, stored: str) -> IO[bytes]:
        """A file-like reader of the whole object."""
        answer = self._client.get_object(Bucket=self.bucket, Key=self.key(stored))
        body: IO[bytes] = answer["Body"]
        return body

    def download(self, stored: str, path: Path) -> None:
        self._client.download_file(self.bucket, self.key(stored), str(path))

    def delete(self, stored: str) -> None:
        self._client.delete_object(Bucket=self.bucket, Key=self.key(stored))
