"""Type-check a generated Data Flow Script once per script and checker, not on every synth.

Why: ``SilverPipeline`` type-checks the script it generates (grammar, streams, columns, every call
against the documented signatures) so that a contract the generator cannot express fails the synth,
not the first pipeline run. Importing lark, building the LALR parser and parsing cost about 0.5 s: a
third of what a full synth spends beyond the lazy floor (issue 14), for an answer that only changes
when the script or the checker does.

How: the key is a SHA-256 over the script text and the source of what decides the answer (every
module of :mod:`emotion_platform.dataflow` and lark's ``__init__``, which carries its version). A pass
is remembered in the process and as an empty file under ``$XDG_CACHE_HOME/emotion-platform/checked-scripts/``
(``~/.cache`` by default); the checker is not even imported then. A failure is never remembered, so a
bad script raises :class:`~emotion_platform.dataflow.typecheck.DataFlowTypeError` on every synth. A cache
directory that cannot be written (a read-only home) only means the check runs each time.
``EMOTION_PLATFORM_SCRIPT_CHECK_CACHE=0`` turns the disk half off.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path

ENV_VAR = "EMOTION_PLATFORM_SCRIPT_CHECK_CACHE"
CHECKER_DIR = Path(__file__).resolve().with_name("dataflow")
_passed: set[str] = set()  # keys checked in this process


def cache_dir(environ: os._Environ[str] | dict[str, str] = os.environ) -> Path | None:
    """Where passes are remembered; None when ``EMOTION_PLATFORM_SCRIPT_CHECK_CACHE=0``."""
    if environ.get(ENV_VAR, "").strip().lower() in ("0", "false", "no", "off"):
        return None
    base = Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "emotion-platform" / "checked-scripts"


def checker_sources() -> list[Path]:
    """The files whose content decides whether a script passes."""
    sources = sorted(CHECKER_DIR.glob("*.py"))
    spec = importlib.util.find_spec("lark")  # finds without importing
    if spec is not None and spec.origin:
        sources.append(Path(spec.origin))
    return sources


def cache_key(text: str, sources: list[Path]) -> str:
    digest = hashlib.sha256(f"python {sys.version_info[0]}.{sys.version_info[1]}\0".encode())
    for source in sources:
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    digest.update(text.encode("utf-8"))
    return digest.hexdigest()


def typecheck_once(text: str) -> None:
    """Raise ``DataFlowTypeError`` for a script that fails the type check; return at once for one that passed before."""
    key = cache_key(text, checker_sources())
    directory = cache_dir()
    marker = directory / key if directory is not None else None
    if key in _passed or (marker is not None and marker.is_file()):
        _passed.add(key)
        return
    from .dataflow.typecheck import typecheck

    typecheck(text)
    _passed.add(key)
    if marker is not None:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:
            pass  # not writable: the check just runs again next time
