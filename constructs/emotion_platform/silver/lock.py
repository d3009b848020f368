"""One silver run at a time per silver location: a file lock for folders, a blob lease for ``az://``.

The lock is taken before anything is cleaned or written, and held until the report is written.
A second run is refused at once with a message naming the holder (:class:`SilverBusyError`), or
waits for it with ``wait``. A holder that dies loses the lock without anyone cleaning up:

- folder ``out/silver``: ``fcntl.flock`` on ``out/.silver.lock``; the kernel drops the lock when the
  holder's process ends, however it ends (kill -9 included). The file itself stays (removing a lock
  file races with a process that has it open); it holds the current holder's pid, host and start;
- ``az://container/prefix``: a lease on the blob ``prefix/_silver.lock``, ``lease_seconds`` long
  (15-60 s, the service's limits) and renewed by a background thread every third of that; a dead
  holder's lease expires by itself. The holder is written into the blob's metadata. Before each
  commit the runner calls :meth:`BlobLeaseLock.check`, so a run whose renewals failed (storage
  unreachable for longer than the lease) stops instead of publishing next to a new holder.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import socket
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol

from .storage import BlobLocation, LocalLocation, LocationError

if TYPE_CHECKING:
    from azure.storage.blob import BlobLeaseClient

LEASE_ENV = "EMOTION_SILVER_LEASE_SECONDS"  # 15-60; tests shorten the wait for a dead holder's lease
DEFAULT_LEASE_S = 30
LOCK_BLOB = "_silver.lock"
POLL_S = 0.2  # how often a waiting run retries a local lock (a lease: every POLL_S * 10)


class SilverBusyError(RuntimeError):
    """Another run holds the silver lock (exit status 3): the message names it."""


class LockLostError(RuntimeError):
    """The run could not keep its lease alive; it stopped before publishing anything more."""


@dataclass(frozen=True)
class Holder:
    pid: int
    host: str
    since: str

    @classmethod
    def current(cls) -> "Holder":
        now = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        return cls(os.getpid(), socket.gethostname(), now)

    @classmethod
    def parse(cls, data: object) -> "Holder | None":
        try:
            return cls(int(data["pid"]), str(data["host"]), str(data["since"]))  # type: ignore[index]
        except (TypeError, KeyError, ValueError):
            return None

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}, since {self.since}"


def _busy(uri: str, holder: Holder | None, waited: float | None) -> SilverBusyError:
    who = holder.describe() if holder else "holder not known yet"
    if waited:
        return SilverBusyError(f"silver {uri} is still locked by another run ({who}) after waiting {waited:.0f} s")
    return SilverBusyError(
        f"silver {uri} is locked by another run ({who}); run again when it has finished, or pass --wait to wait for it"
    )


class SilverLock(Protocol):
    def acquire(self, wait: float | None = None, say: Callable[[str], None] | None = None) -> None: ...
    def check(self) -> None: ...
    def release(self) -> None: ...


class FileLock:
    """``flock`` on a hidden file next to the silver folder (the folder itself is swapped by rename)."""

    def __init__(self, silver: Path) -> None:
        self.silver = silver
        self.path = silver.parent / f".{silver.name}.lock"
        self._fd: int | None = None

    def _holder(self) -> Holder | None:
        try:
            return Holder.parse(json.loads(self.path.read_text(encoding="utf-8") or "null"))
        except (OSError, ValueError):
            return None

    def acquire(self, wait: float | None = None, say: Callable[[str], None] | None = None) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise LocationError(f"--silver {self.silver}: cannot create its lock file {self.path} ({exc.strerror})") from None
        started = time.monotonic()
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - started
                if wait is None or waited >= wait:
                    os.close(fd)
                    raise _busy(str(self.silver), self._holder(), waited if wait else None) from None
                if not told and say:
                    say(f"waiting for the silver lock ({(self._holder() or 'holder not known yet')})")
                    told = True
                time.sleep(POLL_S)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(asdict(Holder.current())).encode(), 0)
        self._fd = fd

    def check(self) -> None:
        """A file lock cannot be lost while the process lives."""

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing drops the flock


class BlobLeaseLock:
    """A renewed lease on ``<prefix>/_silver.lock``; see the module docstring."""

    def __init__(self, loc: BlobLocation, lease_seconds: int | None = None) -> None:
        self.loc = loc
        seconds = lease_seconds or int(os.environ.get(LEASE_ENV) or DEFAULT_LEASE_S)
        if not 15 <= seconds <= 60:
            raise LocationError(f"{LEASE_ENV}={seconds}: a blob lease lasts 15 to 60 seconds")
        self.lease_seconds = seconds
        self._lease: BlobLeaseClient | None = None
        self._renewed = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: Exception | None = None

    def _holder(self, blob) -> Holder | None:
        try:
            return Holder.parse(blob.get_blob_properties().metadata)
        except Exception:
            return None

    def acquire(self, wait: float | None = None, say: Callable[[str], None] | None = None) -> None:
        from azure.core.exceptions import HttpResponseError, ResourceExistsError

        self.loc.ensure_container()
        blob = self.loc.blob_client(LOCK_BLOB)
        try:
            blob.upload_blob(b"", overwrite=False)
        except (ResourceExistsError, HttpResponseError) as exc:
            if getattr(exc, "status_code", None) not in (409, 412):
                raise
        started = time.monotonic()
        told = False
        while True:
            try:
                lease = blob.acquire_lease(lease_duration=self.lease_seconds)
                break
            except HttpResponseError as exc:
                if exc.status_code != 409:  # 409 LeaseAlreadyPresent: someone holds it
                    raise
            waited = time.monotonic() - started
            if wait is None or waited >= wait:
                raise _busy(self.loc.uri, self._holder(blob), waited if wait else None) from None
            if not told and say:
                say(
                    f"waiting for the silver lease ({self._holder(blob) or 'holder not known yet'}; "
                    f"a dead holder's lease expires within {self.lease_seconds} s)"
                )
                told = True
            time.sleep(POLL_S * 10)
        self._lease = lease
        self._renewed = time.monotonic()
        blob.set_blob_metadata({k: str(v) for k, v in asdict(Holder.current()).items()}, lease=lease)
        self._thread = threading.Thread(target=self._keep_alive, name="silver-lease", daemon=True)
        self._thread.start()

    def _keep_alive(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            lease = self._lease
            if lease is None:  # released
                return
            try:
                lease.renew()
                self._renewed = time.monotonic()
            except Exception as exc:  # reported by check(); the next tick tries again
                self._error = exc

    def check(self) -> None:
        """Raise :class:`LockLostError` unless the lease is certainly still ours for a while."""
        if self._lease is None:
            return
        left = self.lease_seconds - (time.monotonic() - self._renewed)
        if left < self.lease_seconds / 3:
            try:
                self._lease.renew()
                self._renewed = time.monotonic()
                return
            except Exception as exc:
                self._error = exc
            raise LockLostError(
                f"silver {self.loc.uri}: the lease on {LOCK_BLOB} could not be renewed "
                f"({type(self._error).__name__}); stopped before publishing more"
            )

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        lease, self._lease = self._lease, None
        if lease is not None:
            try:
                lease.release()
            except Exception:
                pass  # the lease expires by itself within lease_seconds


def lock_for(loc: LocalLocation | BlobLocation) -> SilverLock:
    if isinstance(loc, BlobLocation):
        return BlobLeaseLock(loc)
    return FileLock(loc.root)


def wait_seconds(value: float | None) -> float | None:
    """``None``: do not wait; ``inf``: wait as long as it takes."""
    if value is None:
        return None
    if math.isnan(value) or value < 0:
        raise ValueError(f"wait={value!r} must be a number of seconds >= 0")
    return value
