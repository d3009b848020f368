#!/usr/bin/env python3
"""Render the README's figures block from bench/results/*.json, so the README never drifts from what the
benchmarks measured. ``./dev.sh bench`` calls it after the benchmarks; a test compares the block.

    python bench/figures.py              # print the block
    python bench/figures.py --update README.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
START, END = "<!-- figures:start -->", "<!-- figures:end -->"


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


def update(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    path.write_text(f"{head}{START}\n{render()}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", type=Path, help="markdown file whose figures block to rewrite")
    args = parser.parse_args()
    if args.update:
        update(args.update)
    else:
        print(render())


if __name__ == "__main__":
    main()
