"""Command line: ``python -m emotion_events generate --rows N --out DIR`` (no Azure needed), or
``--azurite`` / ``--blob`` to write into a container the way the Function does."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Sequence

from .generator import DEFAULT_START, MAX_SEED, GeneratorParamError, GeneratorParams
from .http_params import RequestError, _as_start
from .paths import new_run_id, relative_paths
from .progress import ProgressBar
from .service import generate_to
from .sinks import BlobTarget, LocalTarget, StorageWriteError, Target, TargetExistsError
from .storage import StorageConfigError, container_client

AZURITE = "UseDevelopmentStorage=true"  # the SDK's well-known local emulator account on 127.0.0.1:10000
PROGRESS_FROM_ROWS = 200_000


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m emotion_events", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser(
        "generate",
        help="write one bronze CSV plus its manifest",
        description="Write events/ingest_date=YYYY-MM-DD/<run_id>.csv and <run_id>.manifest.json.",
    )
    g.add_argument("--rows", type=int, required=True, help="data lines to write (duplicates included)")
    g.add_argument("--seed", type=int, default=None, help="same seed, same bytes (default: random, printed)")
    g.add_argument("--dirty-ratio", type=float, default=0.05, help="share of lines with a defect, 0..0.5")
    g.add_argument("--users", type=int, default=50_000, help="population size")
    g.add_argument("--population-seed", type=int, default=0, help="who the users are (keep it across batches)")
    g.add_argument("--start", default=None, help=f"window start, ISO 8601 (default {DEFAULT_START:%Y-%m-%d})")
    g.add_argument("--hours", type=int, default=168, help="window length in hours")
    g.add_argument("--run-id", default=None, help="file name stem (default: UTC timestamp + random suffix)")
    where = g.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, help="local directory")
    where.add_argument("--azurite", action="store_true", help="Azurite on 127.0.0.1:10000 (container created if missing)")
    where.add_argument(
        "--blob", action="store_true", help="the bronze store from BRONZE_STORAGE_CONNECTION_STRING or BRONZE_STORAGE_ACCOUNT_URL"
    )
    g.add_argument("--container", default=None, help="container (default: $BRONZE_CONTAINER or 'bronze')")
    g.add_argument("--create-container", action="store_true", help="with --blob: create the container if missing")
    bar = g.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None, help="always show progress")
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress")
    return p


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        start = _as_start(args.start) if args.start else DEFAULT_START
        seed = args.seed if args.seed is not None else secrets.randbelow(MAX_SEED + 1)
        params = GeneratorParams(
            rows=args.rows,
            seed=seed,
            dirty_ratio=args.dirty_ratio,
            users=args.users,
            population_seed=args.population_seed,
            start=start,
            hours=args.hours,
        )
        run_id = new_run_id() if args.run_id is None else args.run_id
        csv_path, manifest_path = relative_paths(run_id)
    except (GeneratorParamError, RequestError, ValueError) as exc:
        return _fail(str(exc), 2)

    show = args.progress if args.progress is not None else params.rows >= PROGRESS_FROM_ROWS
    progress = ProgressBar(params.rows) if show else None
    try:
        if args.out is not None:
            target: Target = LocalTarget(args.out)
        else:
            settings = dict(os.environ)
            if args.azurite:
                settings = {"BRONZE_STORAGE_CONNECTION_STRING": AZURITE}
            if args.container:
                settings["BRONZE_CONTAINER"] = args.container
            container = container_client(settings)
            if args.azurite or args.create_container:
                from azure.core.exceptions import ResourceExistsError

                try:
                    container.create_container()
                except ResourceExistsError:
                    pass
            target = BlobTarget(container)
        began = time.perf_counter()
        manifest = generate_to(target, params, run_id=run_id, csv_path=csv_path, manifest_path=manifest_path, progress=progress)
        seconds = time.perf_counter() - began
    except StorageConfigError as exc:
        return _fail(str(exc), 2)
    except (StorageWriteError, TargetExistsError, OSError) as exc:
        return _fail(f"{exc} (nothing was committed)", 1)
    except Exception as exc:  # azure.core errors from create_container and the like
        return _fail(f"{type(exc).__name__}: {exc}", 1)
    where = str(args.out / csv_path) if args.out is not None else f"{manifest['container']}/{csv_path}"
    summary = {
        "csv": where,
        "rows_written": manifest["rows_written"],
        "bytes": manifest["bytes"],
        "seconds": round(seconds, 3),
        "rows_per_second": round(params.rows / max(seconds, 1e-9)),
        "seed": params.seed,
        "expected_valid_distinct_events": manifest["expected_valid_distinct_events"],
        "expected_quarantined_rows": manifest["expected_quarantined_rows"],
        "defects": manifest["defects"],
    }
    print(json.dumps(summary, indent=2))
    return 0
