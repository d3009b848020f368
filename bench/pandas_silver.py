"""Bench-only baseline: the silver cleaning rules in pandas, for the benchmark's comparison.

Same rules as the DuckDB engine, read from the same cleaning plan (normalize the line, split on the
delimiter, map codes, numbers behind the same regex, timestamps in contract order behind the same
shape regexes, first failing rule wins, latest ``recorded_at`` per key with the same tie-break),
written the idiomatic vectorized way. Not used by the product; it exists to be measured against.

Usage: ``python bench/pandas_silver.py BRONZE_FOLDER OUT_FOLDER`` prints a JSON summary.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from emotion_platform.silver.plan import (CONTROL_REGEX, LOWER, NUMBER_REGEX, UPPER, WHITESPACE_CLASS, CleaningPlan,
                                          build_plan, unanchored)

PY_CONTROL = CONTROL_REGEX.replace('\\x{2028}', '\\u2028').replace('\\x{2029}', '\\u2029')  # Python's re spelling
ASCII_LOWER = str.maketrans(UPPER, LOWER)


def read_lines(files: list[Path]) -> pd.DataFrame:
    frames = []
    for f in files:
        df = pd.read_csv(f, sep="\x1f", header=None, names=["line"], skiprows=1, dtype=str, quoting=csv.QUOTE_NONE,
                         engine="c", skip_blank_lines=True, keep_default_na=False, na_filter=False)
        df["source_file"] = f.name
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def normalize_line(plan: CleaningPlan, line: pd.Series) -> pd.Series:
    s = line
    if plan.collapse:
        s = s.str.replace(WHITESPACE_CLASS + "+", " ", regex=True)
    if plan.trim:
        d = "[" + plan.delimiter + "]"
        s = s.str.replace(f"{WHITESPACE_CLASS}*{d}{WHITESPACE_CLASS}*", plan.delimiter, regex=True)
        s = s.str.replace(f"^{WHITESPACE_CLASS}+|{WHITESPACE_CLASS}+\\Z", "", regex=True)
    return s


def number(plan: CleaningPlan, s: pd.Series, percent: bool) -> pd.Series:
    out = pd.Series(np.nan, index=s.index)
    text = s.fillna("")
    if percent:
        pct = text.str.endswith(plan.percent_suffix)
        stripped = text.where(~pct, text.str[: -len(plan.percent_suffix)].str.rstrip(" "))
    else:
        pct = pd.Series(False, index=s.index)
        stripped = text
    ok = stripped.str.fullmatch(unanchored(NUMBER_REGEX))
    out[ok] = stripped[ok].astype(float)
    out[ok & pct] = out[ok & pct] / plan.percent_divisor
    return out + 0.0  # -0.0 becomes 0.0, as in the engines


def timestamp(plan: CleaningPlan, s: pd.Series) -> pd.Series:
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    text = s.fillna("")
    for fmt in plan.active_timestamp_formats:
        todo = out.isna() & text.str.fullmatch(unanchored(fmt.shape))
        if not todo.any():
            continue
        if fmt.zone == "epoch":
            parsed = pd.to_datetime(text[todo].astype("int64"), unit="ms", utc=True)
        else:
            parsed = pd.to_datetime(text[todo], format=fmt.python, utc=True, errors="coerce")
        out[todo] = parsed
    return out


def clean(plan: CleaningPlan, df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = df[df["line"] != ""].reset_index(drop=True)
    norm = normalize_line(plan, df["line"])
    keep = (norm != "").to_numpy()  # whitespace-only lines are blank
    df, norm = df[keep].reset_index(drop=True), norm[keep].reset_index(drop=True)
    parts = norm.str.split(plan.delimiter, expand=True, regex=False)
    n_fields = norm.str.count("[" + plan.delimiter + "]") + 1
    n: dict[str, pd.Series] = {}
    for f in plan.fields:
        col = parts[f.position - 1] if f.position - 1 in parts.columns else pd.Series(None, index=df.index)
        col = col.where(col.notna(), None)
        if f.lower:
            col = col.str.translate(ASCII_LOWER)
        if plan.empty_is_null:
            col = col.mask(col == "")
        n[f.name] = col
    c = {f.name: n[f.name].map(dict(f.codes)) for f in plan.code_fields}
    v = {f.name: number(plan, n[f.name], f.percent) for f in plan.number_fields}
    t = {f.name: timestamp(plan, n[f.name]) for f in plan.timestamp_fields}

    def any_of(parts):
        out = pd.Series(False, index=df.index)
        for p in parts:
            out |= p.fillna(False)
        return out

    preds = {
        "malformed_line": (n_fields != len(plan.fields)) | df["line"].str.contains(PY_CONTROL, regex=True),
        "missing_required": any_of([n[f.name].isna() for f in plan.required_fields]),
        "unknown_code": any_of([n[f.name].notna() & c[f.name].isna() for f in plan.code_fields]),
        "bad_number": any_of([n[f.name].notna() & v[f.name].isna() for f in plan.number_fields]),
        "out_of_range": any_of([(v[f.name] < f.range[0]) | (v[f.name] > f.range[1]) for f in plan.range_fields]),
        "bad_timestamp": any_of([n[f.name].notna() & t[f.name].isna() for f in plan.timestamp_fields]),
        "recorded_before_occurred": (t["recorded_at"] < t["occurred_at"]
                                     - pd.Timedelta(seconds=plan.max_clock_skew_seconds)).fillna(False),
    }
    reason = np.select([preds[r].to_numpy(bool) for r in plan.rules], list(plan.rules), default="")
    bad = reason != ""
    quarantine = pd.DataFrame({"raw_line_or_record": df["line"][bad], "reason": reason[bad],
                               "source_file": df["source_file"][bad]})

    silver = {}
    for col in plan.silver_columns:
        f = plan.field(col.field)
        if col.source == "timestamp":
            silver[col.name] = t[f.name]
        elif col.source == "utc_date":
            silver[col.name] = t[f.name].dt.strftime("%Y-%m-%d")
        elif f.type == "double":
            silver[col.name] = v[f.name]
        elif f.codes is not None:
            silver[col.name] = c[f.name]
        else:
            silver[col.name] = n[f.name]
    good = pd.DataFrame(silver)[~bad]
    order = [name for name, _desc in plan.dedup_order] + list(plan.tiebreak)
    ascending = [not desc for _name, desc in plan.dedup_order] + [True] * len(plan.tiebreak)
    good = good.sort_values(order, ascending=ascending, na_position="first", kind="stable")
    good = good.drop_duplicates(list(plan.dedup_key), keep="first")
    return good, quarantine


def main(bronze: str, out: str) -> dict:
    plan = build_plan()
    t0 = time.perf_counter()
    files = sorted(Path(bronze).rglob("*.csv"))
    df = read_lines(files)
    rows_in = int((df["line"].str.strip(" \t") != "").sum())  # every line but blank ones
    good, quarantine = clean(plan, df)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    pq.write_to_dataset(pa.Table.from_pandas(good, preserve_index=False), out_dir / "silver",
                        partition_cols=list(plan.partition_by))
    pq.write_table(pa.Table.from_pandas(quarantine, preserve_index=False), out_dir / "quarantine.parquet")
    seconds = time.perf_counter() - t0
    return {"rows_in": rows_in, "silver_rows": int(len(good)), "quarantined_rows": int(len(quarantine)),
            "quarantined_by_reason": {k: int(v) for k, v in quarantine["reason"].value_counts().items()},
            "seconds": seconds}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
