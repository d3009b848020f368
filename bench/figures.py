#!/usr/bin/env python3
"""Render the README's figures block and docs/silver.md's figures from bench/results/*.json, so neither
drifts from what the benchmarks measured. ``./dev.sh bench`` calls it after the benchmarks; tests compare
both blocks (tests/test_readme.py, tests/silver/test_docs.py).

    python bench/figures.py                          # print the README block
    python bench/figures.py --silver-doc             # print docs/silver.md's block
    python bench/figures.py --update README.md docs/silver.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
START, END = "<!-- figures:start -->", "<!-- figures:end -->"
# docs/silver.md#figures: the silver benchmark's table and targets (bench/results/silver.json only).
SILVER_START, SILVER_END = "<!-- silver-figures:start -->", "<!-- silver-figures:end -->"


def _load(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))


def _mark(ok: bool) -> str:
    return "met" if ok else "**not met**"


SILVER_TARGETS = {
    "at_least_2x_pandas": "≥ 2x pandas",
    "at_least_1m_rows_per_second": "≥ 1M rows/s",
    "peak_rss_at_most_1gb": "≤ 1 GB",
}


def _runs(duck: dict) -> str:
    """' (median of 3 runs: 9.3-9.6 s)' when the benchmark repeated the run."""
    runs = duck.get("all_runs_seconds") or []
    return f" (median of {len(runs)} runs: {min(runs)}-{max(runs)} s)" if len(runs) > 1 else ""


def _silver_verdict(targets: dict[str, bool]) -> str:
    missed = [SILVER_TARGETS.get(name, name) for name, ok in targets.items() if not ok]
    return "met" if not missed else f"**not met**: {', '.join(missed)} (see docs/silver.md#figures)"


SYNTH_TARGETS = {"vs_eager_floor": "eager floor", "vs_lazy_floor": "lazy floor"}


def _synth_row(synth: dict) -> str:
    runs, ratios, targets = synth["runs"], synth["ratios"], synth["targets"]

    def run(name: str) -> str:
        return f"{runs[name]['wall_s']['median']:.2f} s, {runs[name]['peak_rss_mb']['median']:.0f} MB"

    goals = "; ".join(
        f"≤ {targets[key]}x {label}: {ratios[key]['wall']:.2f}x time, {ratios[key]['peak_rss']:.2f}x RSS"
        for key, label in SYNTH_TARGETS.items()
    )
    missed = [f"≤ {targets[key]}x {label}" for key, label in SYNTH_TARGETS.items() if not synth["met"][key]]
    verdict = "met" if not missed else f"**not met**: {', '.join(missed)} (see [Synth speed](#synth-speed))"
    return (
        f"| Synth, `./dev.sh bench synth` | {run('full')} peak RSS (2 stacks + Function archive) "
        f"| eager floor {run('eager_floor')}; lazy floor {run('lazy_floor')} (cdktf + azurerm bindings, one resource group) "
        f"| {goals} | {verdict} |"
    )


def _synth_breakdown(synth: dict) -> str:
    """One instrumented full synth, phase by phase: where the time beyond the lazy floor goes."""
    b = synth["full_synth_breakdown"]
    phases = "; ".join(f"{name} {seconds:.2f} s" for name, seconds in b["phases_s"].items())
    py, node = b["python_submodules_loaded"], b["node_submodules_loaded"]["full"]
    trips = b["jsii_round_trips"]
    return (
        f"Full synth, one instrumented run ({b['total_s']:.2f} s): {phases}. "
        f"{sum(trips.values())} jsii round trips; provider submodules loaded: "
        f"{py['cdktf_cdktf_provider_azurerm']} azurerm + {py['cdktf_cdktf_provider_time']} time in Python, "
        f"{node['@cdktf/provider-azurerm']} + {node['@cdktf/provider-time']} in Node (of 1,527 + 5). "
        f"Load average {synth['load_average']['before'][0]} before, {synth['load_average']['after'][0]} after."
    )


def render() -> str:
    synth, gen, silver = _load("synth"), _load("generator"), _load("silver")
    g1, g10, faker = gen["generator"]["1000000"], gen["generator"]["10000000"], gen["faker_baseline"]
    duck, pandas, polars = silver["duckdb"], silver["pandas_baseline"], silver.get("polars_baseline")
    rows = [
        "| Benchmark | Measured | Baseline (same run) | Target | |",
        "|---|---|---|---|---|",
        _synth_row(synth),
        (
            f"| Generator, `./dev.sh bench generator` (one core) | 1M rows: {g1['events_per_s']:,} events/s, "
            f"{g1['mb_per_s']} MB/s, {g1['peak_rss_mb']:.0f} MB; 10M rows: {g10['events_per_s']:,} events/s, "
            f"{g10['mb_per_s']} MB/s, {g10['peak_rss_mb']:.0f} MB | Faker: {faker['events_per_s']:,} events/s, "
            f"{faker['peak_rss_mb']:.0f} MB ({gen['speedup_vs_faker']}x slower) | ≥ 1M events/s, ≥ 25x Faker, "
            f"≤ 256 MB at 10M | {_mark(all(gen['targets']['met'].values()))} |"
        ),
        (
            f"| Silver (DuckDB), `./dev.sh bench silver` | {duck['rows']:,} rows: {duck['rows_per_second']:,} rows/s"
            f"{_runs(duck)}, {duck.get('max_peak_rss_mb', duck['peak_rss_mb'])} MB peak RSS "
            f"(memory_limit {duck['memory_limit']}) "
            f"| pandas: {pandas['rows_per_second']:,} rows/s, {pandas['peak_rss_mb']} MB "
            f"({silver['speedup_vs_pandas_per_row']}x slower per row)"
            + (f"; polars: {polars['rows_per_second']:,} rows/s, {polars['peak_rss_mb']} MB "
               f"({silver['speedup_vs_polars_per_row']}x slower per row)" if polars else "")
            + " | ≥ 2x pandas, ≥ 1M rows/s, ≤ 1 GB" + ("; aim ≥ 1.5x polars" if polars else "")
            + f" | {_silver_verdict(silver['targets'])}"
            + (f"; polars aim {_mark(silver['aims']['at_least_1_5x_polars'])}" if polars else "") + " |"
        ),
    ]
    spark = _load("spark") if (RESULTS / "spark.json").exists() else None
    if spark is not None:
        sp, dk = spark["spark"], spark["duckdb"]
        rows.append(
            f"| Silver (Spark, the deployed Data Flow Script), `./dev.sh bench spark` | {sp['rows']:,} rows "
            f"({spark['master']}): {sp['rows_per_second']:,} rows/s, {sp['peak_rss_mb']:,} MB peak RSS (JVM included) "
            f"| DuckDB engine: {dk['rows_per_second']:,} rows/s, {dk['peak_rss_mb']:,} MB "
            f"({spark['spark_vs_duckdb_speed']}x its speed) | same rows as DuckDB "
            f"| {_mark(all(spark['correct'].values()))} |"
        )
    measured = sorted({r.get("measured_at", "")[:10] for r in (synth, gen, silver, spark or {})} - {""})
    note = (
        f"Measured on this project's 2-core, 24 GB development machine ({', '.join(measured)}); "
        "the raw figures, methods and load averages are in `bench/results/*.json`."
    )
    return "\n".join([note, "", *rows, "", _synth_breakdown(synth)])


_NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}


def _millions(rows: int) -> str:
    return f"{rows / 1_000_000:g}M"


def render_silver_doc() -> str:
    """docs/silver.md's figures: the four runs side by side, the 10M runs' times and stages, the targets."""
    silver = _load("silver")
    duck, sample, pandas, polars = silver["duckdb"], silver["duckdb_on_pandas_sample"], silver["pandas_baseline"], silver["polars_baseline"]
    machine, correct = silver["machine"], silver["correct"]
    cols = [duck, sample, pandas, polars]
    yes = lambda ok: "yes" if ok else "**no**"  # noqa: E731
    rss = lambda r: f"{r['peak_rss_mb']:,} MB" + (f" (memory_limit {r['memory_limit']})" if "memory_limit" in r else "")  # noqa: E731
    intro = (
        f"Measured on the shared 2-core development machine ({silver['measured_at'][:10]}; load average "
        f"{machine['load_average_start'][0]} at the start, {machine['load_average_end'][0]} at the end); wall-clock "
        "rows/s include starting Python and writing the report and its chart:"
    )
    table = [
        f"| | DuckDB engine, {_millions(duck['rows'])} rows | DuckDB engine, {_millions(sample['rows'])} rows "
        f"| pandas, same rules, {_millions(pandas['rows'])} rows | polars, same rules, {_millions(polars['rows'])} rows |",
        "|---|---|---|---|---|",
        "| rows/s (wall clock) | " + " | ".join(f"{r['rows_per_second']:,}" for r in cols) + " |",
        "| CPU seconds per million rows | " + " | ".join(f"{r['cpu_seconds_per_million_rows']}" for r in cols) + " |",
        "| peak RSS | " + " | ".join(rss(r) for r in cols) + " |",
        "| silver and quarantine = manifest | "
        + " | ".join(yes(correct[k]) for k in ("duckdb_10m_matches_manifest", "duckdb_sample_matches_manifest",
                                                  "pandas_sample_matches_manifest", "polars_sample_matches_manifest"))
        + " |",
    ]
    runs = duck.get("all_runs_seconds") or [duck["seconds"]]
    stages = duck["stage_seconds"]
    times = (
        f"The {_NUMBER_WORDS.get(len(runs), len(runs))} {_millions(duck['rows'])} runs took "
        f"{', '.join(str(t) for t in runs)} s; in the median one the engine took {duck['engine_seconds']} s: key scan "
        f"{stages['keys_s']} s, classify and route {stages['classify_s']} s, quarantine {stages['quarantine_s']} s, "
        f"merge of the repeated keys {stages['merge_s']} s."
    ) if len(runs) > 1 else (
        f"The engine took {duck['engine_seconds']} s of the run: key scan {stages['keys_s']} s, classify and route "
        f"{stages['classify_s']} s, quarantine {stages['quarantine_s']} s, merge of the repeated keys {stages['merge_s']} s."
    )
    met, aims = silver["targets"], silver["aims"]
    fast = met["at_least_1m_rows_per_second"]
    targets = (
        f"Targets: at least 2x pandas ({_mark(met['at_least_2x_pandas'])}: {silver['speedup_vs_pandas_per_row']}x per row; "
        f"{silver['speedup_vs_pandas_same_rows']}x on the very same {_millions(sample['rows'])} rows, where start-up costs "
        f"weigh more), peak RSS at most 1 GB with the memory limit set ({_mark(met['peak_rss_at_most_1gb'])}: at most "
        f"{duck.get('max_peak_rss_mb', duck['peak_rss_mb'])} MB), at least 1,000,000 rows/s "
        + (f"(met: {duck['rows_per_second']:,} rows/s)." if fast else
           f"(not met on this machine: {duck['rows_per_second']:,} rows/s; the engine needs "
           f"{duck['cpu_seconds_per_million_rows']} CPU-seconds per million rows, about "
           f"{silver['duckdb_rows_per_second_per_idle_core']:,} rows/s per idle core).")
    )
    aim = (
        f"Aim: at least 1.5x polars ({_mark(aims['at_least_1_5x_polars'])}: {silver['speedup_vs_polars_per_row']}x per row, "
        f"{silver['speedup_vs_polars_same_rows']}x on the same {_millions(sample['rows'])} rows)."
    )
    return "\n".join([intro, "", *table, "", times, "", targets, aim])


def update(path: Path) -> None:
    """Rewrite every figures block ``path`` holds (the README's, docs/silver.md's, or both)."""
    text = path.read_text(encoding="utf-8")
    blocks = [(START, END, render), (SILVER_START, SILVER_END, render_silver_doc)]
    found = [(start, end, fn) for start, end, fn in blocks if start in text]
    if not found:
        raise SystemExit(f"{path}: no figures block ({START} or {SILVER_START})")
    for start, end, fn in found:
        head, rest = text.split(start, 1)
        tail = rest.split(end, 1)[1]
        text = f"{head}{start}\n{fn()}\n{end}{tail}"
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", type=Path, nargs="+", help="markdown file(s) whose figures blocks to rewrite")
    parser.add_argument("--silver-doc", action="store_true", help="print docs/silver.md's block instead of the README's")
    args = parser.parse_args()
    if args.update:
        for path in args.update:
            update(path)
    else:
        print(render_silver_doc() if args.silver_doc else render())


if __name__ == "__main__":
    main()
