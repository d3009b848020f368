"""Has a bronze file that silver already merged changed since? Cheap on large bronze, exact on content.

The state records, for every merged file, its size, a change hint and the sha256 of its content:

- the hint is what the store changes on every write. Locally: size, mtime, ctime and inode (ctime
  cannot be set back from user space, so a rewrite that restores the mtime, ``cp -p`` or ``rsync -t``
  still shows; a file written in the last seconds gets no hint, see :data:`~.storage.RACY_SECONDS`).
  On blob storage: the ETag, which Azure replaces on every write of the blob. Content-MD5 is not
  used: it is a property any writer may set, or carry over unchanged on a rewrite.
- a file whose size and hint are as recorded has not changed, and is not read;
- a file of another size has changed;
- a file of the same size whose hint moved (touched, metadata set, copied with its times, or
  rewritten in place) is read and hashed: the same sha256 means unchanged (the new hint is kept
  the next time the state is written), another one means changed.

A changed file makes the run recompute silver from all of bronze (:func:`.runner._decide`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

from .storage import LocalLocation, StoredFile

_CHUNK = 4 << 20
CHANGED = "content changed"  # a hint no listing produces: the entry can never match again


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


class Fetched:
    """Bronze files read during this run: where the bytes are and their sha256, so a file hashed to
    confirm it is not downloaded or hashed a second time when it is cleaned."""

    def __init__(self, bronze, folder: Path) -> None:
        self.bronze = bronze
        self.folder = folder
        self._seen: dict[str, tuple[Path, str]] = {}

    def get(self, name: str) -> tuple[Path, str]:
        """(local path of the bytes, their sha256); blobs are downloaded into the work folder."""
        if name not in self._seen:
            if isinstance(self.bronze, LocalLocation):
                path = self.bronze.path(name)
            else:
                path = self.folder / name
                self.bronze.download(name, path)
            self._seen[name] = (path, sha256_file(path))
        return self._seen[name]


def confirm_merged(state: dict, listing: list[StoredFile], fetched: Fetched, say: Callable[[str], None]) -> dict:
    """``state`` with the bronze entries of same-size files whose hint moved settled by content: the
    new hint where the sha256 is the recorded one, :data:`CHANGED` where it is not (or none was
    recorded). Entries whose size or hint are as recorded, and files not merged yet, are left as they are."""
    seen = state.get("bronze", {})
    bronze = dict(seen)
    for f in listing:
        entry = seen.get(f.name)
        if entry is None or entry["size"] != f.size:
            continue
        if entry["fingerprint"] and entry["fingerprint"] == f.fingerprint:
            continue
        recorded = entry.get("sha256")
        if recorded is None:
            bronze[f.name] = {**entry, "fingerprint": CHANGED}
            continue
        say(f"bronze {f.name}: same size, new change hint; comparing its content")
        digest = fetched.get(f.name)[1]
        bronze[f.name] = {**entry, "fingerprint": f.fingerprint if digest == recorded else CHANGED}
    return {**state, "bronze": bronze}
