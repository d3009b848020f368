"""An independent, row-by-row reading of a bronze file against the contract (csv module + datetime).

It shares nothing with the generator except ``contract.json``: it parses every line, applies the
contract's validation rules in order, deduplicates, and classifies each line's defect, so the tests
can hold the generator's manifest to what is actually in the file.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from emotion_events.contract import SilverContract

CANONICAL_TS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}")


def normalize(value: str, lower: bool) -> str | None:
    text = re.sub(r" +", " ", value.strip(" "))
    if lower:
        text = text.lower()
    return text or None


def parse_timestamp(value: str, contract: SilverContract) -> datetime | None:
    for fmt in contract.timestamp_formats:
        if fmt.kind == "epoch_millis":
            if re.fullmatch(r"\d{10,14}", value):
                return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)
            continue
        try:
            parsed = datetime.strptime(value, fmt.python)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


@dataclass
class Row:
    line_no: int
    raw: list[str]
    reason: str | None = None
    values: dict = field(default_factory=dict)


def validate(raw: list[str], contract: SilverContract) -> tuple[str | None, dict]:
    header = contract.bronze_header
    if len(raw) != len(header):
        return "malformed_line", {}
    v = {name: normalize(raw[i], name in contract.lower_case) for i, name in enumerate(header)}
    if any(v[c] is None for c in contract.required_columns):
        return "missing_required", v
    for col in ("emotion", "source_channel", "context"):
        if v[col] is not None:
            code = contract.code_set(col).normalize(v[col])
            if code is None:
                return "unknown_code", v
            v[col] = code
    if v["device_tz"] not in contract.time_zones:
        return "unknown_code", v
    for col in contract.ranges:
        text = v[col]
        try:
            if col == "intensity" and text.endswith(contract.percent_suffix):
                number = float(text[:-len(contract.percent_suffix)]) / contract.percent_divisor
            else:
                number = float(text)
        except ValueError:
            return "bad_number", v
        v[col] = number
    for col in contract.ranges:
        if not contract.ranges[col].contains(v[col]):
            return "out_of_range", v
    for col in contract.timestamp_fields:
        ts = parse_timestamp(v[col], contract)
        if ts is None:
            return "bad_timestamp", v
        v[col] = ts
    if v["recorded_at"] < v["occurred_at"] - timedelta(seconds=contract.max_clock_skew_seconds):
        return "recorded_before_occurred", v
    return None, v


@dataclass
class Reading:
    header: list[str]
    rows: list[Row]
    reasons: Counter
    kinds: Counter  # defect kind per line, as the contract names them
    events: dict  # event_id -> winning row values after deduplication
    resend_pairs: list  # (first recorded_at, re-sent recorded_at)


def read_bronze(path: Path, contract: SilverContract) -> Reading:
    with open(path, newline="", encoding="utf-8") as fh:
        records = list(csv.reader(fh, strict=True))
    header, body = records[0], records[1:]
    rows, reasons, kinds = [], Counter(), Counter()
    first_seen: dict[str, tuple[list[str], datetime]] = {}
    events: dict[str, dict] = {}
    resend_pairs = []
    names = contract.bronze_header
    for n, raw in enumerate(body, start=2):
        reason, values = validate(raw, contract)
        rows.append(Row(n, raw, reason, values))
        if reason:
            reasons[reason] += 1
            kinds[reason] += 1  # each invalid kind maps to its own reason
            continue
        eid = values["event_id"]
        if eid in first_seen:
            original, recorded = first_seen[eid]
            if raw == original:
                kinds["exact_duplicate"] += 1
            else:
                kinds["resent_event"] += 1
                resend_pairs.append((recorded, values["recorded_at"]))
        else:
            first_seen[eid] = (raw, values["recorded_at"])
            col = {name: raw[i] for i, name in enumerate(names)}
            found = [kind for kind, present in (
                ("emotion_variant", col["emotion"] not in contract.emotions.canonical),
                ("code_variant", col["source_channel"] not in contract.codes["source_channel"].canonical
                 or (col["context"] != "" and col["context"] not in contract.codes["context"].canonical)),
                ("intensity_percent", col["intensity"].endswith(contract.percent_suffix)),
                ("timestamp_format", not (CANONICAL_TS.fullmatch(col["occurred_at"])
                                          and CANONICAL_TS.fullmatch(col["recorded_at"])))) if present]
            kinds[found[0] if len(found) == 1 else "clean" if not found else "several_kinds"] += 1
        best = events.get(eid)
        if best is None or values["recorded_at"] > best["recorded_at"]:
            events[eid] = values
    return Reading(header, rows, reasons, kinds, events, resend_pairs)
