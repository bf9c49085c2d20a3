"""The offload worker: archived files from the recordings folder to the object store.

Each round takes the archived files the store does not hold yet, checks the local file against
its archived SHA-256, uploads it with the hash as metadata, reads the stored object back and
hashes it, and only when that matches records it as stored (`file.stored`) and lets the local
copy go. A store that is down ends the round: the files wait in the folder and go in a later
round — the archive's list is the queue, so nothing is lost across restarts. The dashboard and
/metrics read the backlog.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from ..archive import ArchiveStore
from ..archive.integrity import ArchivedFile, sha256_of
from . import EvidenceFiles, S3Store, StoreError

log = logging.getLogger(__name__)
ACTOR = "system:storage"


@dataclass
class Round:
    stored: int = 0
    waiting: int = 0  # archived files not in the store yet (after this round)
    down: bool = False  # the store did not answer: the rest waits
    problems: int = 0  # local files that do not match the archive (verify-files names them)


class Offload:
    def __init__(
        self, archive: ArchiveStore, files: EvidenceFiles, *, keep_local: bool = False
    ) -> None:
        if files.remote is None:
            raise ValueError('offloading needs an object store ([storage] kind = "s3")')
        self.archive = archive
        self.files = files
        self.remote: S3Store = files.remote
        self.keep_local = keep_local
        self.last = Round()
        self._bucket_ready = False

    async def backlog(self) -> int:
        stored = await self.archive.stored.paths()
        return sum(1 for f in await self.archive.integrity.archived_files() if f.path not in stored)

    async def run_once(self) -> Round:
        result = Round()
        stored = await self.archive.stored.paths()
        pending = [f for f in await self.archive.integrity.archived_files() if f.path not in stored]
        for index, archived in enumerate(pending):
            try:
                if not self._bucket_ready:
                    await asyncio.to_thread(self.remote.ensure_bucket)
                    self._bucket_ready = True
                if await self._offload(archived):
                    result.stored += 1
                else:
                    result.problems += 1
            except StoreError as exc:
                waiting = len(pending) - index
                log.warning("object store unavailable (%s): %d files wait", exc, waiting)
                result.down = True
                break
        result.waiting = len(pending) - result.stored
        self.last = result
        return result

    async def _offload(self, archived: ArchivedFile) -> bool:
        path = self.files.path(archived.path)
        if not path.is_file():
            return False  # missing locally and not stored: verify-files reports it
        if await asyncio.to_thread(sha256_of, path) != archived.sha256:
            log.error("%s differs from its archived SHA-256: not offloaded", archived.path)
            return False
        await asyncio.to_thread(self.remote.put, archived.path, path, archived.sha256)
        head = await asyncio.to_thread(self.remote.head, archived.path)
        digest, size = await asyncio.to_thread(self.remote.sha256, archived.path)
        if head is None or head[1] != archived.sha256 or digest != archived.sha256:
            log.error("the stored copy of %s does not verify: kept locally", archived.path)
            return False
        await self.archive.stored.record(
            archived.path, digest, size, self.remote.key(archived.path), actor=ACTOR
        )
        if not self.keep_local:
            path.unlink(missing_ok=True)
        return True

    async def run(self, interval_s: float) -> None:
        """Rounds for ever, `interval_s` apart (the server's background task)."""
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a round that fails is retried; the server keeps serving
                log.exception("offload round failed")
            await asyncio.sleep(interval_s)
