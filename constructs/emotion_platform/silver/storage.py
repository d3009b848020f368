"""Where bronze, silver, quarantine and reports live: a local folder or a blob container prefix.

A location is given as a path (``out/silver``) or as ``az://<container>/<prefix>``. Blob locations
need a connection string (``--connection-string`` or the ``AZURE_STORAGE_CONNECTION_STRING``
environment variable); Azurite's works as is. Names inside a location are relative POSIX paths.

Writes never leave a partial object: local files are written to a temporary name and renamed;
a blob upload commits in one step (the service keeps the old blob until the new one is complete).
"""

from __future__ import annotations

import builtins
import hashlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from emotion_events.limits import check_container_name

CONNECTION_STRING_ENV = "AZURE_STORAGE_CONNECTION_STRING"
# A local file whose ctime is younger than this when listed gets no change hint: timestamps have a
# granularity (a jiffy to 2 s), so a rewrite in the same tick could leave every time as it was.
RACY_SECONDS = 2.0
_CHUNK = 4 << 20


class LocationError(ValueError):
    """A location string or its credentials are unusable; the message names the value and the rule."""


@dataclass(frozen=True)
class StoredFile:
    name: str  # relative to the location, POSIX separators
    size: int
    # A change hint (see silver/bronze_check.py): it moves on every write, or is "" when it cannot be
    # trusted yet. Local files: size, mtime, ctime and inode; blobs: size and ETag.
    fingerprint: str


class Location(Protocol):
    uri: str

    def list(self, suffix: str = "") -> list[StoredFile]: ...
    def download(self, name: str, dest: Path) -> None: ...
    def upload(self, src: Path, name: str) -> None: ...
    def read_bytes(self, name: str) -> bytes | None: ...
    def write_bytes(self, name: str, data: bytes) -> None: ...
    def delete(self, name: str) -> None: ...
    def child(self, name: str) -> "Location": ...


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _md5_file(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class LocalLocation:
    root: Path

    @property
    def uri(self) -> str:
        return str(self.root)

    def list(self, suffix: str = "") -> list[StoredFile]:
        if not self.root.is_dir():
            return []
        out = []
        settled_before = time.time_ns() - int(RACY_SECONDS * 1e9)
        for path in sorted(self.root.rglob(f"*{suffix}")):
            if not path.is_file():
                continue
            rel = path.relative_to(self.root).as_posix()
            if any(part.startswith(".") for part in PurePosixPath(rel).parts):
                continue  # temporary files of an unfinished write
            st = path.stat()
            # ctime: no user-space call sets it back, so a rewrite that restores the mtime still shows
            hint = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}" if st.st_ctime_ns < settled_before else ""
            out.append(StoredFile(rel, st.st_size, hint))
        return out

    def path(self, name: str) -> Path:
        return self.root / PurePosixPath(name)

    def download(self, name: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.path(name), dest)

    def upload(self, src: Path, name: str) -> None:
        target = self.path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        shutil.copyfile(src, tmp)
        os.replace(tmp, target)

    def read_bytes(self, name: str) -> bytes | None:
        try:
            return self.path(name).read_bytes()
        except FileNotFoundError:
            return None

    def write_bytes(self, name: str, data: bytes) -> None:
        target = self.path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, target)

    def delete(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)

    def remove_partial(self) -> builtins.list[Path]:
        """Delete the temporary files of writes whose process is gone (``.<name>.tmp-<pid>``)."""
        if not self.root.is_dir():
            return []
        removed = []
        for p in self.root.rglob(".*.tmp-*"):
            pid = p.name.rpartition(".tmp-")[2]
            if p.is_file() and pid.isdigit() and not _alive(int(pid)):
                p.unlink(missing_ok=True)
                removed.append(p)
        return removed

    def child(self, name: str) -> "LocalLocation":
        return LocalLocation(self.path(name))


class BlobLocation:
    """A prefix inside a blob container (Azure Storage or Azurite)."""

    def __init__(self, container_client, container: str, prefix: str) -> None:
        self._cc = container_client
        self.container = container
        self.prefix = prefix.strip("/")

    @property
    def uri(self) -> str:
        return f"az://{self.container}/{self.prefix}".rstrip("/")

    def _blob(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def blob_client(self, name: str):
        """The SDK client of one blob in this location (leases, metadata)."""
        return self._cc.get_blob_client(self._blob(name))

    def ensure_container(self) -> None:
        from azure.core.exceptions import ResourceExistsError

        try:
            self._cc.create_container()
        except ResourceExistsError:
            pass

    def list(self, suffix: str = "") -> list[StoredFile]:
        from azure.core.exceptions import ResourceNotFoundError

        start = f"{self.prefix}/" if self.prefix else ""
        out = []
        try:
            for b in self._cc.list_blobs(name_starts_with=start or None):
                rel = b.name[len(start) :]
                if not rel or not rel.endswith(suffix):
                    continue
                # The ETag, which Azure replaces on every write; not Content-MD5, a property any
                # writer may set, or carry over unchanged when it rewrites the blob.
                out.append(StoredFile(rel, b.size, f"{b.size}:{b.etag}"))
        except ResourceNotFoundError:
            return []
        return sorted(out, key=lambda f: f.name)

    def download(self, name: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.part")
        with open(tmp, "wb") as fh:
            self._cc.download_blob(self._blob(name), max_concurrency=4).readinto(fh)
        os.replace(tmp, dest)

    def upload(self, src: Path, name: str) -> None:
        from azure.storage.blob import ContentSettings

        md5 = bytes.fromhex(_md5_file(src))
        with open(src, "rb") as fh:
            self._cc.upload_blob(
                self._blob(name),
                fh,
                overwrite=True,
                max_concurrency=4,
                content_settings=ContentSettings(content_md5=bytearray(md5), content_type=_content_type(name)),
            )

    def read_bytes(self, name: str) -> bytes | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self._cc.download_blob(self._blob(name)).readall()
        except ResourceNotFoundError:
            return None

    def write_bytes(self, name: str, data: bytes) -> None:
        from azure.storage.blob import ContentSettings

        self._cc.upload_blob(
            self._blob(name),
            data,
            overwrite=True,
            content_settings=ContentSettings(
                content_md5=bytearray(hashlib.md5(data, usedforsecurity=False).digest()), content_type=_content_type(name)
            ),
        )

    def delete(self, name: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            self._cc.delete_blob(self._blob(name))
        except ResourceNotFoundError:
            pass

    def child(self, name: str) -> "BlobLocation":
        return BlobLocation(self._cc, self.container, self._blob(name))


def _content_type(name: str) -> str:
    return {
        ".json": "application/json",
        ".png": "image/png",
        ".md": "text/markdown",
        ".parquet": "application/vnd.apache.parquet",
        ".csv": "text/csv",
    }.get(PurePosixPath(name).suffix, "application/octet-stream")


def is_blob_uri(uri: str) -> bool:
    return uri.startswith("az://")


def parse_blob_uri(uri: str) -> tuple[str, str]:
    """``az://container/prefix`` -> (container, prefix); the container name is checked."""
    rest = uri[len("az://") :]
    container, _, prefix = rest.partition("/")
    broken = check_container_name(container)  # the one rule (emotion_events.limits)
    if broken is not None:
        raise LocationError(f"{uri!r}: container {container!r} is not a valid name ({broken})")
    if ".." in PurePosixPath(prefix).parts:
        raise LocationError(f"{uri!r}: the prefix may not contain '..'")
    return container, prefix.strip("/")


def open_location(uri: str, *, connection_string: str | None = None) -> LocalLocation | BlobLocation:
    """A location from a path or ``az://`` URI. Blob access needs a connection string."""
    if not uri or not uri.strip():
        raise LocationError("a location may not be empty")
    if not is_blob_uri(uri):
        if "://" in uri:
            raise LocationError(f"{uri!r}: only local paths and az://container/prefix are supported")
        return LocalLocation(Path(uri).expanduser().resolve())
    container, prefix = parse_blob_uri(uri)
    conn = connection_string or os.environ.get(CONNECTION_STRING_ENV, "")
    if not conn.strip():
        raise LocationError(
            f"{uri!r}: blob locations need a connection string "
            f"(--connection-string or the {CONNECTION_STRING_ENV} environment variable)"
        )
    from azure.storage.blob import BlobServiceClient
    from emotion_events.storage import client_options

    try:
        service = BlobServiceClient.from_connection_string(conn.strip(), **client_options())
    except ValueError as exc:  # the SDK's message never echoes the key
        raise LocationError(f"{CONNECTION_STRING_ENV}: not a storage connection string ({exc})") from None
    return BlobLocation(service.get_container_client(container), container, prefix)


def sibling_uri(uri: str, name: str) -> str:
    """The location next to ``uri`` called ``name`` (``out/silver`` -> ``out/quarantine``;
    ``az://silver`` -> ``az://quarantine``; ``az://lake/silver`` -> ``az://lake/quarantine``)."""
    if is_blob_uri(uri):
        container, prefix = parse_blob_uri(uri)
        if not prefix:
            return f"az://{name}"
        parent = str(PurePosixPath(prefix).parent)
        return f"az://{container}/{name}" if parent in (".", "") else f"az://{container}/{parent}/{name}"
    p = Path(uri).expanduser().resolve()
    return str(p.parent / name)
