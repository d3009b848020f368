"""Parameters of an on-demand generation request (query string and/or JSON body), validated once.

Every rejection names the parameter, echoes the (shortened) value and states the rule, so a caller
can fix the request without reading code. Whatever the bytes, parsing ends in parameters or a
:class:`RequestError`: a key given twice (in the query or in the body) is rejected rather than
letting the last one win, integers too long to be any parameter, nesting too deep for the parser and
dates whose UTC offset leaves the calendar are rejected with the parameter named.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping
from urllib.parse import parse_qsl, urlsplit

from .generator import MAX_HOURS, MAX_SEED, GeneratorParamError, GeneratorParams
from .limits import MAX_DIRTY_RATIO

ALLOWED = ("rows", "seed", "dirty_ratio", "start", "hours")
IGNORED = ("code",)  # the function key may travel as ?code=...
DEFAULT_HOURS = 24
_INT = re.compile(r"[+-]?\d{1,19}")
MAX_INT_DIGITS = 100  # a JSON integer longer than this is no parameter's value (Python refuses > 4300)


class _LongInt(str):
    """A JSON integer too long to convert: kept as its text, rejected by the parameter's rule."""


class RequestError(ValueError):
    def __init__(self, param: str, value: Any, rule: str) -> None:
        self.param, self.value, self.rule = param, _shorten(value), rule
        super().__init__(f"{param}={self.value!r} is invalid: {rule}")

    def as_json(self) -> dict[str, Any]:
        return {"error": {"parameter": self.param, "value": self.value, "rule": self.rule, "message": str(self)}}


def _shorten(value: Any) -> Any:
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    if isinstance(value, str):
        text = str(value)
    else:
        try:
            text = json.dumps(value)
        except (TypeError, ValueError, RecursionError):
            text = f"<a {type(value).__name__} that cannot be shown>"
    return text if len(text) <= 80 else text[:77] + "..."


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise RequestError(key, value, "is given more than once in the body")
        out[key] = value
    return out


def _parse_int(text: str) -> int | str:
    return _LongInt(text) if len(text) > MAX_INT_DIGITS else int(text)


def _loads(text: bytes) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates, parse_int=_parse_int)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError("body", text[:80].decode("utf-8", "replace"), f"must be a JSON object ({exc})") from None
    except RecursionError:
        raise RequestError(
            "body", text[:80].decode("utf-8", "replace"), 'nests too deeply; must be a flat JSON object such as {"rows": 10000}'
        ) from None


def query_pairs(req: Any) -> list[tuple[str, str]]:
    """The query string as (key, value) pairs, repeats kept (the host's ``params`` mapping drops them)."""
    url = getattr(req, "url", "") or ""
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True) if "?" in url else []
    seen = {k for k, _v in pairs}
    return pairs + [(k, v) for k, v in (getattr(req, "params", None) or {}).items() if k not in seen]


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
    try:
        return value.astimezone(timezone.utc)  # 9999-12-31T23:00-05:00 is past the calendar's end in UTC
    except (OverflowError, ValueError):
        raise RequestError("start", raw, "must fall in the years 2002 to 2100 (in UTC)") from None


@dataclass(frozen=True)
class RequestDefaults:
    rows: int
    dirty_ratio: float
    max_rows: int


def merge_sources(query: Mapping[str, str] | Iterable[tuple[str, str]], body: bytes | None) -> dict[str, Any]:
    """One parameter dict from the query string (a mapping, or pairs with repeats) and an optional
    JSON object body."""
    merged: dict[str, Any] = {}
    for key, value in query.items() if isinstance(query, Mapping) else query:
        if key in IGNORED:
            continue
        if key in merged:
            raise RequestError(key, value, "is given more than once in the query")
        merged[key] = value
    text = (body or b"").strip()
    if text:
        data = _loads(text)
        if not isinstance(data, dict):
            raise RequestError("body", data, 'must be a JSON object such as {"rows": 10000}')
        for key, value in data.items():
            if isinstance(value, (dict, list)):
                raise RequestError(
                    key, value, f"must be a number or a string, not a JSON {'object' if isinstance(value, dict) else 'array'}"
                )
            if key in merged and str(merged[key]).strip() != str(value).strip():
                raise RequestError(key, value, f"is given in the query ({merged[key]!r}) and the body with different values")
            merged[key] = value
    unknown = sorted(set(merged) - set(ALLOWED))
    if unknown:
        raise RequestError(unknown[0], merged[unknown[0]], f"is not a parameter; allowed: {', '.join(ALLOWED)}")
    return merged


def parse_request(
    query: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes | None,
    defaults: RequestDefaults,
    now: datetime | None = None,
) -> GeneratorParams:
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
