"""Destinations for a generated file: a local directory or a blob container.

Both give the same guarantees: a file appears complete or not at all, and an existing file is never
replaced. Locally the data goes to a hidden temporary name and is hard-linked into place (linking
fails if the name exists). In Blob Storage the data is staged as blocks of ``block_size`` bytes (a few
in parallel, while generation continues) and committed once with ``If-None-Match: *``; until that
commit nothing is visible, and blocks that are never committed are discarded by the service.

A writer is finished (everything durable or staged) before it is committed, so the caller can put
the manifest in between: the CSV becomes visible only once its manifest exists. The blob commit tags
the CSV with the run's id, so when its answer is lost the caller can still tell whether it went
through (:meth:`BlobTarget.committed`).
"""

from __future__ import annotations

import os
import secrets
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Protocol

BLOCK_SIZE = 4 * 1024 * 1024
UPLOAD_CONCURRENCY = 4  # blocks staged in parallel (network-bound; the generator keeps the CPU)


class TargetExistsError(FileExistsError):
    """The destination already holds a file of that name; it was left untouched."""


class StorageWriteError(RuntimeError):
    """Writing to the destination failed; ``committed`` says which files are nevertheless there
    (path -> True, False, or None when the storage could not tell)."""

    def __init__(self, message: str, committed: dict[str, bool | None] | None = None) -> None:
        super().__init__(message)
        self.committed: dict[str, bool | None] = dict(committed or {})


RUN_ID_METADATA = "run_id"  # blob metadata of a committed CSV: which run committed it


class Writer(Protocol):
    def write(self, data: bytes) -> None: ...
    def finish(self) -> None: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...


class Target(Protocol):
    def open(self, path: str, content_type: str, run_id: str | None = None) -> Writer: ...
    def put_new(self, path: str, data: bytes, content_type: str) -> None: ...
    def delete(self, path: str) -> None: ...
    def committed(self, path: str, run_id: str) -> bool | None: ...
    def describe(self) -> dict[str, Any]: ...


# -- local directory ----------------------------------------------------------------------------------


class _LocalWriter:
    """Writes to a hidden temporary file; ``commit`` fsyncs it and links it into place. Every
    ``SYNC_EVERY`` bytes a background thread starts writing back what is done, so the final fsync
    does not wait for the whole file."""

    SYNC_EVERY = 64 * 1024 * 1024

    def __init__(self, final: Path) -> None:
        final.parent.mkdir(parents=True, exist_ok=True)
        self.final = final
        self.tmp = final.with_name(f".{final.name}.{secrets.token_hex(4)}.partial")
        self._file = open(self.tmp, "xb")
        self._unsynced = 0
        self._syncer: threading.Thread | None = None
        self._sync_error: OSError | None = None

    def _background_sync(self, fd: int) -> None:
        try:
            os.fdatasync(fd)
        except OSError as exc:  # surfaced by commit: a write-back error must not be swallowed
            self._sync_error = exc

    def _join_syncer(self) -> None:
        if self._syncer is not None:
            self._syncer.join()
            self._syncer = None

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._unsynced += len(data)
        if self._unsynced >= self.SYNC_EVERY and (self._syncer is None or not self._syncer.is_alive()):
            self._file.flush()
            self._unsynced = 0
            self._syncer = threading.Thread(target=self._background_sync, args=(self._file.fileno(),), daemon=True)
            self._syncer.start()

    def finish(self) -> None:
        """Everything written is on disk (fsync), under the temporary name."""
        if self._file.closed:
            return
        try:
            self._file.flush()
            self._join_syncer()
            if self._sync_error is not None:
                raise self._sync_error
            os.fsync(self._file.fileno())
        finally:
            self._file.close()

    def commit(self) -> None:
        try:
            self.finish()
            try:
                os.link(self.tmp, self.final)  # atomic, and refuses to replace an existing file
            except FileExistsError as exc:
                raise TargetExistsError(f"{self.final} already exists; not overwritten") from exc
        finally:
            self._file.close()
            self.tmp.unlink(missing_ok=True)

    def abort(self) -> None:
        self._join_syncer()
        self._file.close()
        self.tmp.unlink(missing_ok=True)


class LocalTarget:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def open(self, path: str, content_type: str = "text/csv", run_id: str | None = None) -> _LocalWriter:
        return _LocalWriter(self.root / path)

    def delete(self, path: str) -> None:
        (self.root / path).unlink(missing_ok=True)

    def committed(self, path: str, run_id: str) -> bool | None:
        """A local link either happened or raised: a failed commit never left the file."""
        return False

    def put_new(self, path: str, data: bytes, content_type: str = "application/json") -> None:
        w = self.open(path)
        try:
            w.write(data)
            w.commit()
        except BaseException:
            w.abort()
            raise

    def describe(self) -> dict[str, Any]:
        return {"storage": "local", "directory": str(self.root)}


# -- blob container -----------------------------------------------------------------------------------


class _BlobWriter:
    """Stages ``block_size`` blocks while generation goes on: up to ``concurrency`` uploads run in
    background threads and at most ``concurrency + 1`` blocks are held in memory (flat in the row
    count). Block ids follow the data order, whatever order the uploads finish in."""

    def __init__(
        self,
        blob_client: Any,
        content_type: str,
        block_size: int,
        on_block: Callable[[int], None] | None,
        concurrency: int,
        run_id: str | None = None,
    ) -> None:
        self.blob = blob_client
        self.content_type = content_type
        self.run_id = run_id
        self.block_size = block_size
        self.on_block = on_block
        self.blocks: list[str] = []
        self._buf = bytearray()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="stage-block")
        self._slots = threading.BoundedSemaphore(concurrency + 1)
        self._pending: list[Future] = []
        self._lock = threading.Lock()
        self._staged = 0
        self._error: BaseException | None = None

    def _stage_one(self, index: int, block_id: str, data: bytes) -> None:
        try:
            self.blob.stage_block(block_id, data, length=len(data))
        except Exception as exc:
            with self._lock:
                if self._error is None:
                    self._error = StorageWriteError(
                        f"staging block {index} of {self.blob.blob_name} failed; nothing committed: {exc}"
                    )
                    self._error.__cause__ = exc
            return
        finally:
            self._slots.release()
        with self._lock:
            self._staged += 1
            staged = self._staged
        if self.on_block:
            self.on_block(staged)

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _stage(self, data: bytes) -> None:
        self._raise_if_failed()
        self._slots.acquire()  # waits while concurrency + 1 blocks are in flight
        if self._error is not None:  # an upload failed while we waited: stop feeding the pool
            self._slots.release()
            raise self._error
        index = len(self.blocks)
        block_id = f"{index:08d}"  # equal length ids, as the service requires
        self.blocks.append(block_id)
        self._pending.append(self._pool.submit(self._stage_one, index, block_id, data))
        self._pending = [f for f in self._pending if not f.done()]

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        if self._buf:
            need = self.block_size - len(self._buf)
            self._buf += view[:need]
            view = view[need:]
            if len(self._buf) < self.block_size:
                return
            self._stage(bytes(self._buf))
            self._buf.clear()
        while len(view) >= self.block_size:
            self._stage(bytes(view[: self.block_size]))
            view = view[self.block_size :]
        self._buf += view

    def finish(self) -> None:
        """Every block is staged (still invisible); raises if any staging failed."""
        if self._buf or not self.blocks:
            self._stage(bytes(self._buf))
            self._buf.clear()
        self._pool.shutdown(wait=True)
        self._raise_if_failed()

    def commit(self) -> None:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import BlobBlock, ContentSettings

        self.finish()
        metadata = {RUN_ID_METADATA: self.run_id} if self.run_id else None
        try:
            self.blob.commit_block_list(
                [BlobBlock(block_id=b) for b in self.blocks],
                content_settings=ContentSettings(content_type=self.content_type),
                metadata=metadata,
                match_condition=MatchConditions.IfMissing,
            )
        except ResourceExistsError as exc:
            raise TargetExistsError(f"blob {self.blob.blob_name} already exists; not overwritten") from exc
        except Exception as exc:
            raise StorageWriteError(
                f"committing {len(self.blocks)} blocks of {self.blob.blob_name} failed; nothing committed: {exc}"
            ) from exc

    def abort(self) -> None:
        # Nothing was committed; uncommitted blocks are invisible and garbage-collected by the service
        # (after 7 days at most). Stop queued uploads and let running ones finish.
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._buf.clear()


class BlobTarget:
    """A container, written through an ``azure.storage.blob.ContainerClient``."""

    def __init__(
        self,
        container_client: Any,
        *,
        block_size: int = BLOCK_SIZE,
        on_block: Callable[[int], None] | None = None,
        concurrency: int = UPLOAD_CONCURRENCY,
    ) -> None:
        self.container = container_client
        self.block_size = block_size
        self.on_block = on_block
        self.concurrency = concurrency

    def open(self, path: str, content_type: str = "text/csv; charset=utf-8", run_id: str | None = None) -> _BlobWriter:
        return _BlobWriter(
            self.container.get_blob_client(path), content_type, self.block_size, self.on_block, self.concurrency, run_id
        )

    def delete(self, path: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            self.container.delete_blob(path)
        except ResourceNotFoundError:
            pass

    def committed(self, path: str, run_id: str) -> bool | None:
        """Whether ``path`` holds the CSV this run committed (its answer may have been lost); None
        when the storage cannot be asked."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            props = self.container.get_blob_client(path).get_blob_properties()
        except ResourceNotFoundError:
            return False
        except Exception:
            return None
        return (props.metadata or {}).get(RUN_ID_METADATA) == run_id

    def put_new(self, path: str, data: bytes, content_type: str = "application/json") -> None:
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import ContentSettings

        try:
            self.container.upload_blob(path, data, overwrite=False, content_settings=ContentSettings(content_type=content_type))
        except ResourceExistsError as exc:
            raise TargetExistsError(f"blob {path} already exists; not overwritten") from exc
        except Exception as exc:
            raise StorageWriteError(f"writing {path} failed: {exc}") from exc

    def describe(self) -> dict[str, Any]:
        return {"storage": "blob", "container": self.container.container_name}
