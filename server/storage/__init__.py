"""Where archived files are: the recordings folder, and — for a province — an S3-compatible
object store that keeps them once their stored copy verifies.

Every file is written to the recordings folder first (a session's segments, screenshots,
records, uploaded videos), so recording and crash recovery never wait for a network. With
`[storage] kind = "s3"` the offload worker (offload.py) copies each archived file to the
bucket, re-reads it there and compares its SHA-256 with the archive's, and only then lets the
local copy go. Readers ask `EvidenceFiles` and get the local file when it is there, the stored
object otherwise: downloads by byte range straight from the store, whole files (a record's
screenshots, a video's frames) fetched back into the folder for a while.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO

from ..archive.files import resolve_inside
from ..archive.integrity import ArchivedFile
from ..config import StorageSettings
from .s3 import S3Store, StoreError

CHUNK = 1 << 20

__all__ = ["EvidenceFiles", "S3Store", "StoreError"]


class EvidenceFiles:
    def __init__(self, root: Path, remote: S3Store | None = None) -> None:
        self.root = root
        self.remote = remote

    @classmethod
    def from_settings(cls, root: Path, settings: StorageSettings) -> EvidenceFiles:
        return cls(root, S3Store(settings) if settings.kind == "s3" else None)

    def path(self, stored: str) -> Path:
        """Where the file is (or would be) in the recordings folder; never outside it."""
        return resolve_inside(self.root, stored)

    def is_local(self, stored: str) -> bool:
        return self.path(stored).is_file()

    # -- blocking, for worker threads (packages, verify-files) --------------------------------

    def open_sync(self, stored: str) -> IO[bytes]:
        """The file's bytes, from the folder or the store; FileNotFoundError when neither
        has it."""
        path = self.path(stored)
        if path.is_file() or self.remote is None:
            return open(path, "rb")
        try:
            return self.remote.open(stored)
        except StoreError as exc:
            raise FileNotFoundError(f"{stored}: not in the object store ({exc})") from exc

    def check_sync(self, archived: ArchivedFile) -> str | None:
        """What is wrong with one archived file, or None (verify-files)."""
        try:
            path = self.path(archived.path)
        except ValueError:
            return "outside the recordings directory"
        try:
            if path.is_file():
                actual = _sha256(_read(open(path, "rb")))
            elif self.remote is not None:
                if self.remote.head(archived.path) is None:
                    return "missing"
                actual, _size = self.remote.sha256(archived.path)
            else:
                return "missing"
        except StoreError as exc:
            return f"unreadable: {exc.__class__.__name__}"
        return None if actual == archived.sha256 else "differs"

    def size_sync(self, stored: str) -> int | None:
        path = self.path(stored)
        if path.is_file():
            return path.stat().st_size
        if self.remote is not None:
            with contextlib.suppress(*StoreError):
                found = self.remote.head(stored)
                return found[0] if found else None
        return None

    # -- for the event loop ---------------------------------------------------------------------

    async def size(self, stored: str) -> int | None:
        return await asyncio.to_thread(self.size_sync, stored)

    async def fetch(self, stored: str) -> Path:
        """The file in the recordings folder, brought back from the store when it was
        offloaded (it stays until the offload worker lets it go again)."""
        path = self.path(stored)
        if path.is_file() or self.remote is None:
            return path
        remote = self.remote
        partial = path.with_name(f".{path.name}.fetching-{os.getpid()}")

        def download() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                remote.download(stored, partial)
                os.chmod(partial, 0o600)
                os.replace(partial, path)
            finally:
                partial.unlink(missing_ok=True)

        try:
            await asyncio.to_thread(download)
        except StoreError as exc:
            raise FileNotFoundError(f"{stored}: not in the object store ({exc})") from exc
        return path

    async def chunks(self, stored: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes `start`…`end` (inclusive) of a file that is only in the store."""
        if self.remote is None:  # pragma: no cover - callers ask only when it is remote
            raise FileNotFoundError(stored)
        iterator: Iterator[bytes] = await asyncio.to_thread(
            lambda: iter(self.remote.chunks(stored, start, end))  # type: ignore[union-attr]
        )
        sentinel = object()
        while True:
            chunk = await asyncio.to_thread(next, iterator, sentinel)
            if chunk is sentinel:
                return
            yield chunk  # type: ignore[misc]

    async def delete(self, stored: str) -> None:
        """Gone from the folder and the store (retention)."""
        self.path(stored).unlink(missing_ok=True)
        if self.remote is not None:
            await asyncio.to_thread(self.remote.delete, stored)


def _read(f: IO[bytes]) -> Iterator[bytes]:
    with f:
        while chunk := f.read(CHUNK):
            yield chunk


def _sha256(chunks: Iterator[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()
