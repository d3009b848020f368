"""Parameters of an on-demand generation request (query string and/or JSON body), validated once.

Every rejection names the parameter, echoes the (shortened) value and states the rule, so a caller
can fix the request without reading code.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from .generator import MAX_HOURS, MAX_SEED, GeneratorParamError, GeneratorParams
from .limits import MAX_DIRTY_RATIO

ALLOWED = ("rows", "seed", "dirty_ratio", "start", "hours")
IGNORED = ("code",)  # the function key may travel as ?code=...
DEFAULT_HOURS = 24
_INT = re.compile(r"[+-]?\d{1,19}")


class RequestError(ValueError):
    def __init__(self, param: str, value: Any, rule: str) -> None:
        self.param, self.value, self.rule = param, _shorten(value), rule
        super().__init__(f"{param}={self.value!r} is invalid: {rule}")

    def as_json(self) -> dict[str, Any]:
        return {"error": {"parameter": self.param, "value": self.value, "rule": self.rule, "message": str(self)}}


def _shorten(value: Any) -> Any:
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    text = value if isinstance(value, str) else json.dumps(value) if _jsonable(value) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def _as_int(name: str, raw: Any, lo: int, hi: int) -> int:
    rule = f"must be an integer from {lo} to {hi}"
    if isinstance(raw, str) and _INT.fullmatch(raw.strip()):
        value = int(raw.strip())
    elif isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    else:
        raise RequestError(name, raw, rule)
    if not lo <= value <= hi:
        raise RequestError(name, raw, rule)
    return value


def _as_ratio(raw: Any, hi: float) -> float:
    rule = f"must be a number from 0 to {hi}"
    if isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            raise RequestError("dirty_ratio", raw, rule) from None
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = float(raw)
    else:
        raise RequestError("dirty_ratio", raw, rule)
    if not math.isfinite(value) or not 0.0 <= value <= hi:
        raise RequestError("dirty_ratio", raw, rule)
    return value


def _as_start(raw: Any) -> datetime:
    rule = "must be an ISO 8601 date or date-time with a UTC offset, e.g. 2026-01-05 or 2026-01-05T06:00:00Z"
    if not isinstance(raw, str):
        raise RequestError("start", raw, rule)
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise RequestError("start", raw, rule) from None
    if value.tzinfo is None:
        if len(raw.strip()) != 10:  # a bare date means midnight UTC; a bare local time is ambiguous
            raise RequestError("start", raw, rule)
        value = value.replace(tzinfo=timezone.utc)
    return value


@dataclass(frozen=True)
class RequestDefaults:
    rows: int
    dirty_ratio: float
    max_rows: int


def merge_sources(query: Mapping[str, str], body: bytes | None) -> dict[str, Any]:
    """One parameter dict from the query string and an optional JSON object body."""
    merged: dict[str, Any] = {k: v for k, v in query.items() if k not in IGNORED}
    text = (body or b"").strip()
    if text:
        try:
            data = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RequestError("body", text[:80].decode("utf-8", "replace"), f"must be a JSON object ({exc})") from None
        if not isinstance(data, dict):
            raise RequestError("body", data, "must be a JSON object such as {\"rows\": 10000}")
        for key, value in data.items():
            if key in merged and str(merged[key]).strip() != str(value).strip():
                raise RequestError(key, value, f"is given in the query ({merged[key]!r}) and the body with different values")
            merged[key] = value
    unknown = sorted(set(merged) - set(ALLOWED))
    if unknown:
        raise RequestError(unknown[0], merged[unknown[0]], f"is not a parameter; allowed: {', '.join(ALLOWED)}")
    return merged


def parse_request(query: Mapping[str, str], body: bytes | None, defaults: RequestDefaults,
                  now: datetime | None = None) -> GeneratorParams:
    """GeneratorParams for a request. Defaults: rows and dirty_ratio from app settings, a random seed
    (returned in the manifest so the file can be regenerated), the last ``DEFAULT_HOURS`` whole hours."""
    p = merge_sources(query, body)
    rows = _as_int("rows", p["rows"], 1, defaults.max_rows) if "rows" in p else defaults.rows
    seed = _as_int("seed", p["seed"], 0, MAX_SEED) if "seed" in p else secrets.randbelow(MAX_SEED + 1)
    ratio = _as_ratio(p["dirty_ratio"], MAX_DIRTY_RATIO) if "dirty_ratio" in p else defaults.dirty_ratio
    hours = _as_int("hours", p["hours"], 1, MAX_HOURS) if "hours" in p else DEFAULT_HOURS
    if "start" in p:
        start = _as_start(p["start"])
    else:
        now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours)
    try:
        return GeneratorParams(rows=rows, seed=seed, dirty_ratio=ratio, start=start, hours=hours)
    except GeneratorParamError as exc:
        raise RequestError(exc.param, exc.value, exc.rule) from None
