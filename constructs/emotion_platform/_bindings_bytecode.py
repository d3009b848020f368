"""Import the provider submodules a stack uses at a fraction of their cost (issue 14).

Why: each generated resource module (``cdktf_cdktf_provider_azurerm.storage_account``: 500 KB of source)
evaluates every annotation of every method when it is imported - hundreds of nested
``typing.Optional[typing.Union[...]]`` objects per resource, none of which a synth reads - and asks
``importlib.metadata`` for typeguard's version (a scan of ``sys.path``). Then every constructor and
setter call resolves its type-checking stub with ``typing.get_type_hints`` again, although the stub's
annotations never change. For the thirty-odd submodules the Phase 2 stacks use this was about a third of
a second of import and a good part of building the stacks. Newer jsii-pacmak output fixed all three
itself (PEP 563 annotations, ``jsii._type_checking.cached_type_hints``, one typeguard probe per process);
the azurerm 14.x and time 0.x bindings predate it.

How: :class:`FastSubmoduleLoader` replaces the source loader of a submodule of a lazy package. It compiles
the module's own source with ``from __future__ import annotations`` (annotations stay strings until
something asks for them) and with two line-for-line substitutions: the type-checking stub look-up goes
through a per-process memo, and typeguard's major version is read once. The bindings still type-check
every argument exactly as before, with the same typeguard calls and messages; line numbers are unchanged,
so tracebacks point at the same lines. The compiled code is kept under
``$XDG_CACHE_HOME/emotion-platform/bindings-bytecode/`` (``~/.cache`` by default; a private directory),
keyed like a ``.pyc``: interpreter magic number, source size and modification time, and this module's
:data:`VERSION`. When the source has not the expected shape, or nothing can be cached (a read-only home,
a directory that is not private), the module is imported the ordinary way.
"""

from __future__ import annotations

import __future__
import importlib.machinery
import importlib.util
import marshal
import os
import stat
import sys
import typing
from pathlib import Path

VERSION = b"1"  # bump when the transformation changes: invalidates every cached module
CACHE_ENV = "EMOTION_PLATFORM_BINDINGS_BYTECODE"

_STUB_CALL = "typing.get_type_hints(_typecheckingstub__"
_STUB_MEMO = "_emotion_platform_hints(_typecheckingstub__"
_TYPEGUARD_LINE = "TYPEGUARD_MAJOR_VERSION = int(_metadata_package_version('typeguard').split('.')[0])"
_TYPEGUARD_FAST = "TYPEGUARD_MAJOR_VERSION = _emotion_platform_typeguard_major()"

_hints: dict[object, dict[str, typing.Any]] = {}
_typeguard_major: list[int] = []


def _memo_hints(stub) -> dict[str, typing.Any]:
    """``typing.get_type_hints(stub)`` once per stub: a stub's annotations are fixed when its module is."""
    hints = _hints.get(stub)
    if hints is None:
        hints = _hints[stub] = typing.get_type_hints(stub)
    return hints


def _memo_typeguard_major() -> int:
    if not _typeguard_major:
        from importlib.metadata import version

        _typeguard_major.append(int(version("typeguard").split(".")[0]))
    return _typeguard_major[0]


def transform(source: str) -> str | None:
    """The source with the two substitutions (same lines), or None when it is not generated jsii code."""
    if _TYPEGUARD_LINE not in source:
        return None
    return source.replace(_TYPEGUARD_LINE, _TYPEGUARD_FAST, 1).replace(_STUB_CALL, _STUB_MEMO)


def cache_dir(environ: typing.Mapping[str, str] = os.environ) -> Path | None:
    """Where the compiled modules are kept; None when ``EMOTION_PLATFORM_BINDINGS_BYTECODE=0``."""
    value = environ.get(CACHE_ENV, "").strip().lower()
    if value in ("0", "false", "no", "off"):
        return None
    if value not in ("", "1", "true", "yes", "on"):
        raise ValueError(
            f"{CACHE_ENV}={environ[CACHE_ENV]!r}: expected 1 (cached fast bytecode, the default) or 0 (ordinary imports)"
        )
    base = Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "emotion-platform" / "bindings-bytecode" / sys.implementation.cache_tag


def _private_dir(directory: Path) -> bool:
    """Create ``directory`` (0700) if needed; True only if it is ours and nobody else may write into it:
    code loaded from it runs in this process."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.stat()
    except OSError:
        return False
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


class FastSubmoduleLoader(importlib.machinery.SourceFileLoader):
    """A ``SourceFileLoader`` whose code is the transformed, PEP 563 compilation of the module."""

    def __init__(self, fullname: str, path: str, directory: Path) -> None:
        super().__init__(fullname, path)
        self._directory = directory

    def get_code(self, fullname):
        code = self._fast_code(fullname)
        return code if code is not None else super().get_code(fullname)

    def exec_module(self, module) -> None:
        module.__dict__["_emotion_platform_hints"] = _memo_hints
        module.__dict__["_emotion_platform_typeguard_major"] = _memo_typeguard_major
        super().exec_module(module)

    def _fast_code(self, fullname: str):
        path = self.get_filename(fullname)
        try:
            info = os.stat(path)
        except OSError:
            return None
        header = (
            b"|".join(
                (
                    importlib.util.MAGIC_NUMBER,
                    VERSION,
                    b"O%d" % sys.flags.optimize,
                    b"%d" % info.st_size,
                    b"%d" % info.st_mtime_ns,
                )
            )
            + b"\n"
        )
        cached = self._directory / f"{fullname}.pyc"
        # Code read from the cache runs in this process: the folder must be private before anything in
        # it is read, and the file ours, not a link and writable by nobody else.
        if not _private_dir(self._directory):
            return None
        try:
            fd = os.open(cached, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as f:
                owned = os.fstat(f.fileno())
                trusted = owned.st_uid == os.getuid() and not owned.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
                data = f.read() if trusted else b""
            if data.startswith(header):
                return marshal.loads(memoryview(data)[len(header) :])
        except (OSError, ValueError, EOFError, TypeError):
            pass
        source = transform(importlib.util.decode_source(self.get_data(path)))
        if source is None:
            return None
        code = compile(source, path, "exec", flags=__future__.annotations.compiler_flag, dont_inherit=True)
        partial = cached.with_name(f"{cached.name}.{os.getpid()}.partial")
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(header + marshal.dumps(code))
            os.replace(partial, cached)
        except OSError:
            try:
                partial.unlink()
            except OSError:
                pass
        return code


def loader_for(spec: importlib.machinery.ModuleSpec) -> FastSubmoduleLoader | None:
    """A fast loader for ``spec`` (a plain source module), or None to keep its own loader."""
    directory = cache_dir()
    if directory is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
        return None
    if spec.origin is None:
        return None
    return FastSubmoduleLoader(spec.name, spec.origin, directory)
