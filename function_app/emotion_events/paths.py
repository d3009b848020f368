"""Where a run's files go: ``events/ingest_date=YYYY-MM-DD/<run_id>.csv`` plus ``.manifest.json``.

The layout is the same in the bronze container and under a local ``--out`` directory, so the silver
pipeline reads both alike (``ingest_date`` is a Hive-style partition).
"""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime, timezone

PREFIX = "events"
CSV_SUFFIX = ".csv"
MANIFEST_SUFFIX = ".manifest.json"
_RUN_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,99}")


class RunIdError(ValueError):
    """A run id that would not be a safe single path segment."""


def new_run_id(now: datetime | None = None) -> str:
    """UTC timestamp to the millisecond plus 8 random hex digits: sortable and unique."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{secrets.token_hex(4)}"


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise RunIdError(
            f"run_id={run_id!r} is invalid: must be 1-100 letters, digits, '_' or '-', starting with a letter or digit"
        )
    return run_id


def relative_paths(run_id: str, ingest_date: date | None = None) -> tuple[str, str]:
    """(csv path, manifest path), relative to the container or output directory."""
    check_run_id(run_id)
    day = ingest_date or datetime.now(timezone.utc).date()
    folder = f"{PREFIX}/ingest_date={day:%Y-%m-%d}"
    return f"{folder}/{run_id}{CSV_SUFFIX}", f"{folder}/{run_id}{MANIFEST_SUFFIX}"
