"""One generation run end to end: stream the CSV into a target, then write its manifest.

Shared by the CLI and both Function triggers, so every entry point gives the same guarantees: the
CSV is committed once, complete, never over an existing file; the manifest follows it.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Callable

from .contract import SilverContract
from .generator import GeneratorParams, build_manifest, generate
from .sinks import Target


def generate_to(target: Target, params: GeneratorParams, *, run_id: str, csv_path: str, manifest_path: str,
                progress: Callable[[int], None] | None = None,
                contract: SilverContract | None = None) -> dict[str, Any]:
    """Write the CSV and then its manifest; return the manifest. On failure nothing is committed."""
    stream = generate(params, contract)
    writer = target.open(csv_path, "text/csv; charset=utf-8")
    try:
        for chunk in stream:
            writer.write(chunk)
            if progress is not None:
                progress(stream.counts.rows)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    manifest = build_manifest(params, stream.counts, run_id=run_id, path=csv_path, contract=stream.contract,
                              created_at=datetime.now(timezone.utc),
                              extra={"manifest_path": manifest_path, **target.describe()})
    target.put_new(manifest_path, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"), "application/json")
    return manifest
