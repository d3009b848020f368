"""Bench-only baseline: the silver cleaning rules in polars, the second library a user would pick today.

The same rules as the DuckDB engine, read from the same cleaning plan (a line ends at LF with an
optional CR, normalize the line, skip blank ones, split on the delimiter, A-Z lower-casing, codes,
numbers behind the same regex with signed zero as 0.0, timestamps in contract order behind the same
shape regexes, control characters malformed, first failing rule wins, latest ``recorded_at`` per key
with the same tie-break, nulls first), written the idiomatic way: one lazy query, every core.
Not used by the product; it exists to be measured against.

Usage: ``python bench/polars_silver.py BRONZE_FOLDER OUT_FOLDER`` prints a JSON summary.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import polars as pl

from emotion_platform.silver.plan import (CONTROL_REGEX, LOWER, NUMBER_REGEX, UPPER, WHITESPACE_CLASS, CleaningPlan,
                                          TimestampPattern, build_plan)

DAY_MS = 86_400_000


def read_lines(files: list[Path]) -> pl.LazyFrame:
    frames = []
    for f in files:
        lf = pl.scan_csv(f, separator="\x1f", has_header=False, skip_rows=1, quote_char=None,
                         schema={"line": pl.String}, eol_char="\n")
        frames.append(lf.with_columns(pl.lit(f.name).alias("source_file")))
    return pl.concat(frames)


def normalized(plan: CleaningPlan, line: pl.Expr) -> pl.Expr:
    e = line
    if plan.collapse:
        e = e.str.replace_all(WHITESPACE_CLASS + "+", " ")
    if plan.trim:
        d = "[" + plan.delimiter + "]"
        e = e.str.replace_all(f"{WHITESPACE_CLASS}*{d}{WHITESPACE_CLASS}*", plan.delimiter)
        e = e.str.replace_all(f"^{WHITESPACE_CLASS}+|{WHITESPACE_CLASS}+\\z", "")
    return e


def number(plan: CleaningPlan, n: pl.Expr, percent: bool) -> pl.Expr:
    plain = pl.when(n.str.contains(NUMBER_REGEX)).then(n.cast(pl.Float64, strict=False) + 0.0)
    if not percent:
        return plain.otherwise(None)
    stripped = n.str.strip_suffix(plan.percent_suffix).str.strip_chars_end(" ")
    return (pl.when(n.str.ends_with(plan.percent_suffix))
            .then(pl.when(stripped.str.contains(NUMBER_REGEX))
                  .then(stripped.cast(pl.Float64, strict=False) / plan.percent_divisor + 0.0))
            .otherwise(plain.otherwise(None)))


def _chrono(fmt: TimestampPattern) -> str:
    return (fmt.python or "").replace(".%f", "%.3f")


def timestamp(plan: CleaningPlan, n: pl.Expr) -> pl.Expr:
    arms = []
    for fmt in plan.active_timestamp_formats:
        if fmt.zone == "epoch":
            parsed = pl.from_epoch(n.cast(pl.Int64, strict=False), time_unit="ms").dt.replace_time_zone("UTC")
        elif fmt.zone == "utc":
            parsed = n.str.to_datetime(_chrono(fmt), strict=False, time_unit="ms").dt.replace_time_zone("UTC")
        else:
            parsed = n.str.to_datetime(_chrono(fmt), strict=False, time_unit="ms", time_zone="UTC")
        arms.append(pl.when(n.str.contains(fmt.shape)).then(parsed.dt.cast_time_unit("ms")))
    return pl.coalesce(arms)


def clean(plan: CleaningPlan, lines: pl.LazyFrame) -> pl.LazyFrame:
    lf = (lines.with_columns(pl.col("line").str.strip_suffix("\r"))
          .filter(pl.col("line").is_not_null() & (pl.col("line") != ""))
          .with_columns(normalized(plan, pl.col("line")).alias("nl"))
          .filter(pl.col("nl") != "")
          .with_columns(pl.col("nl").str.split(plan.delimiter).alias("f")))
    fields = []
    for f in plan.fields:
        e = pl.col("f").list.get(f.position - 1, null_on_oob=True)
        if f.lower:
            e = e.str.replace_many(list(UPPER), list(LOWER))
        if plan.empty_is_null:
            e = pl.when(e == "").then(None).otherwise(e)
        fields.append(e.alias(f"n_{f.name}"))
    lf = lf.with_columns(pl.col("f").list.len().alias("n_fields"), *fields)
    typed = []
    for f in plan.fields:
        n = pl.col(f"n_{f.name}")
        if f.codes is not None:
            typed.append(n.replace_strict(dict(f.codes), default=None, return_dtype=pl.String).alias(f"c_{f.name}"))
        if f.type == "double":
            typed.append(number(plan, n, f.percent).alias(f"v_{f.name}"))
        if f.timestamp:
            typed.append(timestamp(plan, n).alias(f"t_{f.name}"))
    lf = lf.with_columns(typed)

    def any_of(parts: list[pl.Expr]) -> pl.Expr:
        return pl.any_horizontal([p.fill_null(False) for p in parts]) if parts else pl.lit(False)

    preds = {
        "malformed_line": (pl.col("n_fields") != len(plan.fields)) | pl.col("line").str.contains(CONTROL_REGEX),
        "missing_required": any_of([pl.col(f"n_{f.name}").is_null() for f in plan.required_fields]),
        "unknown_code": any_of([pl.col(f"n_{f.name}").is_not_null() & pl.col(f"c_{f.name}").is_null()
                                for f in plan.code_fields]),
        "bad_number": any_of([pl.col(f"n_{f.name}").is_not_null() & pl.col(f"v_{f.name}").is_null()
                              for f in plan.number_fields]),
        "out_of_range": any_of([(pl.col(f"v_{f.name}") < f.range[0]) | (pl.col(f"v_{f.name}") > f.range[1])
                                for f in plan.range_fields if f.range]),
        "bad_timestamp": any_of([pl.col(f"n_{f.name}").is_not_null() & pl.col(f"t_{f.name}").is_null()
                                 for f in plan.timestamp_fields]),
        "recorded_before_occurred": (pl.col("t_recorded_at") < pl.col("t_occurred_at")
                                     - pl.duration(seconds=plan.max_clock_skew_seconds)).fill_null(False),
    }
    reason = pl.when(preds[plan.rules[0]]).then(pl.lit(plan.rules[0]))
    for r in plan.rules[1:]:
        reason = reason.when(preds[r]).then(pl.lit(r))
    return lf.with_columns(reason.otherwise(None).alias("reason"))


def silver_of(plan: CleaningPlan, classified: pl.LazyFrame) -> pl.LazyFrame:
    cols = []
    for col in plan.silver_columns:
        f = plan.field(col.field)
        if col.source == "timestamp":
            e = pl.col(f"t_{f.name}")
        elif col.source == "utc_date":  # whole days since the epoch, as in the engines
            e = (pl.col(f"t_{f.name}").dt.epoch("ms") // DAY_MS).cast(pl.Int32).cast(pl.Date)
        elif f.type == "double":
            e = pl.col(f"v_{f.name}")
        elif f.codes is not None:
            e = pl.col(f"c_{f.name}")
        else:
            e = pl.col(f"n_{f.name}")
        cols.append(e.alias(col.name))
    good = classified.filter(pl.col("reason").is_null()).select(cols)
    order = [name for name, _desc in plan.dedup_order] + list(plan.tiebreak)
    descending = [desc for _name, desc in plan.dedup_order] + [False] * len(plan.tiebreak)
    nulls_last = [True] * len(plan.dedup_order) + [False] * len(plan.tiebreak)
    return (good.sort(order, descending=descending, nulls_last=nulls_last)
            .unique(subset=list(plan.dedup_key), keep="first", maintain_order=True))


def main(bronze: str, out: str) -> dict:
    plan = build_plan()
    t0 = time.perf_counter()
    files = sorted(Path(bronze).rglob("*.csv"))
    classified = clean(plan, read_lines(files)).collect()
    quarantine = classified.filter(pl.col("reason").is_not_null()).select(
        pl.col("line").alias("raw_line_or_record"), "reason", "source_file")
    silver = silver_of(plan, classified.lazy()).collect()
    out_dir = Path(out)
    (out_dir / "silver").mkdir(parents=True, exist_ok=True)
    silver.write_parquet(out_dir / "silver", partition_by=list(plan.partition_by))
    quarantine.write_parquet(out_dir / "quarantine.parquet")
    seconds = time.perf_counter() - t0
    return {"rows_in": int(classified.height), "silver_rows": int(silver.height),
            "quarantined_rows": int(quarantine.height),
            "quarantined_by_reason": {r: int(n) for r, n in quarantine.group_by("reason").len().iter_rows()},
            "seconds": seconds}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
