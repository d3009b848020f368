"""Work folders (downloads, DuckDB spill, the report before it is published) that a killed run
cannot leak for good.

A run's folder is ``<work root>/silver-<time>-<pid>-<random>``; while the run lives it holds an
``flock`` on ``.owner.lock`` inside. The lock is taken before the folder gets its final name, so any
``silver-*`` folder whose lock can be taken belongs to a dead run, and :func:`remove_stale` deletes
it (a kill -9 left it behind). Folders of live runs, of this silver or any other, are never touched.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from .storage import LocationError

PREFIX = "silver-"
OWNER_LOCK = ".owner.lock"
INIT_PREFIX = f".{PREFIX}init-"  # a folder being created; it gets its final name once locked
INIT_STALE_S = 3600  # a half-created (or lock-less, older layout) folder this old belongs to a dead run


def work_root(work_dir: str | None) -> Path:
    """The folder that holds work folders: ``--work-dir`` (created when missing) or the system temp."""
    root = Path(work_dir).expanduser().resolve() if work_dir else Path(tempfile.gettempdir())
    if root.exists() and not root.is_dir():
        raise LocationError(f"--work-dir {work_dir}: is a file, not a folder")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LocationError(f"--work-dir {work_dir or root}: cannot create it ({exc.strerror})") from None
    return root


def _owned_by_dead_run(folder: Path, now: float) -> bool:
    try:
        fd = os.open(folder / OWNER_LOCK, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:  # final names are given only after locking: an older layout, or not ours
        return now - folder.stat().st_mtime > INIT_STALE_S
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # also drops the lock we may have taken


def remove_stale(root: Path) -> list[Path]:
    """Delete the work folders of dead runs under ``root``; returns what was removed."""
    removed = []
    now = time.time()
    for folder in sorted(root.glob(f"{PREFIX}*")) + sorted(root.glob(f"{INIT_PREFIX}*")):
        try:
            if not folder.is_dir() or folder.is_symlink():
                continue
            if folder.name.startswith(INIT_PREFIX):
                stale = now - folder.stat().st_mtime > INIT_STALE_S
            else:
                stale = _owned_by_dead_run(folder, now)
        except OSError:
            continue
        if stale:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


class WorkFolder:
    """``with WorkFolder(root) as path:`` a fresh, locked folder, removed on exit."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path: Path | None = None
        self._fd: int | None = None

    def __enter__(self) -> Path:
        init = Path(tempfile.mkdtemp(prefix=INIT_PREFIX, dir=self.root))
        fd = os.open(init / OWNER_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        final = self.root / f"{PREFIX}{int(time.time() * 1000)}-{os.getpid()}-{secrets.token_hex(3)}"
        os.rename(init, final)
        self.path, self._fd = final, fd
        return final

    def __exit__(self, *_exc) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
        if self._fd is not None:
            os.close(self._fd)
        self.path = self._fd = None
