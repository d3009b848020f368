"""What the Function's triggers do, kept out of ``function_app.py`` so it stays a thin registration.

HTTP: validate the request (400 naming the parameter, nothing written), generate into the bronze
container (5xx with a logged cause on storage failure; the CSV is committed whole or not at all, and
only after its manifest), answer with where the file went and its manifest. A failed request's
answer lists what was committed anyway (``committed``: path -> true, false or null for unknown), so
a caller knows whether retrying would make a second batch. Every request ends in a JSON answer.
Timer: one batch per tick from app settings; failures are raised so the retry policy runs again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

import azure.functions as func

from . import storage
from .generator import GeneratorParams
from .http_params import RequestDefaults, RequestError, parse_request, query_pairs
from .paths import new_run_id, relative_paths
from .service import committed_files, generate_to
from .settings import GeneratorSettings, SettingError
from .sinks import BlobTarget, StorageWriteError, TargetExistsError

log = logging.getLogger("emotion_events")


def _json(status: int, body: Mapping[str, Any]) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")


def _config_error(exc: Exception, setting: str) -> func.HttpResponse:
    log.error("generator misconfigured: %s", exc)
    return _json(500, {"error": {"setting": setting, "message": str(exc)}})


def run_to_blob(params: GeneratorParams, settings: Mapping[str, str], **client_options: Any) -> dict[str, Any]:
    """Generate into the bronze container named by the settings; returns the manifest."""
    container = storage.container_client(settings, **client_options)
    run_id = new_run_id()
    csv_path, manifest_path = relative_paths(run_id)
    return generate_to(BlobTarget(container), params, run_id=run_id, csv_path=csv_path, manifest_path=manifest_path)


def describe_committed(committed: Mapping[str, bool | None]) -> str:
    """One sentence saying which files of a failed generation are in storage."""
    there = [p for p, c in committed.items() if c is True]
    unknown = [p for p, c in committed.items() if c is None]
    if not there and not unknown:
        return "nothing was committed"
    parts = []
    if there:
        parts.append(f"committed anyway: {', '.join(there)}")
    if unknown:
        parts.append(f"unknown whether committed (storage stopped answering): {', '.join(unknown)}")
    csv_there = any(c is not False for p, c in committed.items() if p.endswith(".csv"))
    if not csv_there:
        parts.append("its CSV was not committed, so silver ignores it (it reads CSV files only)")
    return "; ".join(parts)


def _failure(status: int, message: str, exc: BaseException) -> func.HttpResponse:
    committed = committed_files(exc)
    return _json(status, {"error": {"message": f"{message}; {describe_committed(committed)}", "committed": committed}})


def handle_http(req: func.HttpRequest, settings: Mapping[str, str] | None = None) -> func.HttpResponse:
    """Every request ends in a JSON answer, whatever happens inside."""
    try:
        return _handle_http(req, settings)
    except Exception:
        log.exception("generate request failed unexpectedly")
        return _json(500, {"error": {"message": "internal error; the function's log has the cause"}})


def _handle_http(req: func.HttpRequest, settings: Mapping[str, str] | None) -> func.HttpResponse:
    settings = os.environ if settings is None else settings
    try:
        cfg = GeneratorSettings.from_settings(settings)
    except SettingError as exc:
        return _config_error(exc, exc.setting)
    try:
        params = parse_request(
            query_pairs(req),
            req.get_body(),
            RequestDefaults(rows=min(cfg.batch_rows, cfg.max_rows), dirty_ratio=cfg.dirty_ratio, max_rows=cfg.max_rows),
        )
    except RequestError as exc:
        log.warning("rejected generate request: %s", exc)
        return _json(400, exc.as_json())
    try:
        manifest = run_to_blob(params, settings)
    except storage.StorageConfigError as exc:
        return _config_error(exc, exc.setting)
    except TargetExistsError as exc:
        log.error("generate refused to overwrite: %s", exc)
        return _failure(409, str(exc), exc)
    except StorageWriteError as exc:
        log.exception("generate failed writing to bronze storage (%s)", describe_committed(committed_files(exc)))
        return _failure(503, f"bronze storage failed: {exc}", exc)
    except Exception as exc:  # unexpected: still answer JSON, never a CSV without its manifest (commit is last)
        log.exception("generate failed")
        return _failure(500, f"generation failed: {type(exc).__name__}", exc)
    log.info("generated %s rows into %s/%s", manifest["rows_written"], manifest["container"], manifest["path"])
    return _json(
        200,
        {
            "run_id": manifest["run_id"],
            "container": manifest["container"],
            "blob_path": manifest["path"],
            "manifest_path": manifest["manifest_path"],
            "rows_written": manifest["rows_written"],
            "bytes": manifest["bytes"],
            "manifest": manifest,
        },
    )


def timer_params(settings: Mapping[str, str], now: datetime | None = None) -> GeneratorParams:
    """The batch a timer tick generates: events of the previous whole hour. The seed is derived from
    the tick's minute, so a retry within that minute regenerates the same events (deduplicated)."""
    cfg = GeneratorSettings.from_settings(settings)
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    tick = now.replace(second=0, microsecond=0)
    seed = int.from_bytes(hashlib.sha256(f"timer/{tick:%Y-%m-%dT%H:%M}Z".encode()).digest()[:8], "big") >> 1
    hour = now.replace(minute=0, second=0, microsecond=0)
    return GeneratorParams(rows=cfg.batch_rows, seed=seed, dirty_ratio=cfg.dirty_ratio, start=hour - timedelta(hours=1), hours=1)


def handle_timer(timer: func.TimerRequest, settings: Mapping[str, str] | None = None) -> dict[str, Any]:
    settings = os.environ if settings is None else settings
    if timer.past_due:
        log.warning("generator timer is past due; generating now")
    try:
        params = timer_params(settings)
        manifest = run_to_blob(params, settings)
    except Exception:
        log.exception("scheduled generation failed; the retry policy will run it again")
        raise
    log.info("scheduled generation wrote %s rows to %s/%s", manifest["rows_written"], manifest["container"], manifest["path"])
    return manifest
