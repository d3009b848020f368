"""One generation run end to end: stream the CSV into a target, write its manifest, then commit the CSV.

Shared by the CLI and both Function triggers, so every entry point gives the same guarantees: the
CSV is committed once, complete, never over an existing file, and never before its manifest. A
reader (the silver engines list ``*.csv``) therefore never sees a CSV without its manifest; a failure
between the two writes can leave only a manifest without its CSV, which no reader picks up, and the
error says exactly which files are there.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any, Callable

from .contract import SilverContract
from .generator import GeneratorParams, build_manifest, generate
from .sinks import Target, TargetExistsError

log = logging.getLogger("emotion_events")


def generate_to(
    target: Target,
    params: GeneratorParams,
    *,
    run_id: str,
    csv_path: str,
    manifest_path: str,
    progress: Callable[[int], None] | None = None,
    contract: SilverContract | None = None,
) -> dict[str, Any]:
    """Stage the CSV, write its manifest, commit the CSV; return the manifest.

    On failure the exception (:class:`StorageWriteError` or :class:`TargetExistsError`) carries
    ``committed``: for the CSV and the manifest, True (there), False (not there) or None (unknown:
    the storage stopped answering)."""
    stream = generate(params, contract)
    writer = target.open(csv_path, "text/csv; charset=utf-8", run_id=run_id)
    try:
        for chunk in stream:
            writer.write(chunk)
            if progress is not None:
                progress(stream.counts.rows)
        writer.finish()  # all data durable or staged, nothing visible yet
    except BaseException as exc:
        writer.abort()
        _tag(exc, {csv_path: False, manifest_path: False})
        raise
    manifest = build_manifest(
        params,
        stream.counts,
        run_id=run_id,
        path=csv_path,
        contract=stream.contract,
        created_at=datetime.now(timezone.utc),
        extra={"manifest_path": manifest_path, **target.describe()},
    )
    try:
        target.put_new(manifest_path, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"), "application/json")
    except BaseException as exc:
        writer.abort()
        # Someone else's manifest is not ours to delete; ours may have landed if only the answer was lost.
        ours = False if isinstance(exc, TargetExistsError) else _withdraw(target, manifest_path, if_undeletable=None)
        _tag(exc, {csv_path: False, manifest_path: ours})
        raise
    try:
        writer.commit()
    except BaseException as exc:
        csv_there = target.committed(csv_path, run_id)
        if csv_there:  # the commit went through and only its answer was lost
            log.warning("committing %s raised %r, but the CSV is committed", csv_path, exc)
            return manifest
        # Only a CSV certainly not committed loses its manifest: a CSV may never be left without one.
        manifest_there = _withdraw(target, manifest_path, if_undeletable=True) if csv_there is False else True
        _tag(exc, {csv_path: csv_there, manifest_path: manifest_there})
        raise
    return manifest


def _withdraw(target: Target, manifest_path: str, *, if_undeletable: bool | None) -> bool | None:
    """Delete the manifest of a CSV that was certainly not committed: False once it is gone, else
    ``if_undeletable`` (a manifest without its CSV is harmless: readers list CSVs)."""
    try:
        target.delete(manifest_path)
        return False
    except Exception as exc:
        log.warning("could not delete the manifest %s of an uncommitted CSV: %r", manifest_path, exc)
        return if_undeletable


def _tag(exc: BaseException, committed: dict[str, bool | None]) -> None:
    try:
        exc.committed = committed  # type: ignore[attr-defined]
    except (AttributeError, TypeError):  # an exception type without a __dict__
        pass


def committed_files(exc: BaseException) -> dict[str, bool | None]:
    """What a failed :func:`generate_to` left: path -> True, False or None (unknown)."""
    return dict(getattr(exc, "committed", {}) or {})
