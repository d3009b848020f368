"""docs/silver.md stays true to the code: the rules block is what the contract renders, the figures
are those in bench/results/silver.json."""

from __future__ import annotations

import json
from pathlib import Path

from emotion_platform.silver.rules_doc import extract, render

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "silver.md").read_text(encoding="utf-8")


def test_the_rules_in_the_docs_are_the_ones_the_contract_renders() -> None:
    assert extract(DOC) == render(), "run: ./dev.sh py -m emotion_platform silver-rules, paste into docs/silver.md"


def test_the_rules_block_follows_the_contract() -> None:
    import copy

    from emotion_events.contract import CONTRACT_PATH, parse_contract

    data = copy.deepcopy(json.loads(CONTRACT_PATH.read_text()))
    data["ranges"]["arousal"]["max"] = 0.9
    assert "arousal 0 to 0.9" in render(parse_contract(data)) and "arousal 0 to 1," in render()


def test_the_figures_in_the_docs_are_the_benchmark_results() -> None:
    r = json.loads((ROOT / "bench" / "results" / "silver.json").read_text())
    d, s, p, q = r["duckdb"], r["duckdb_on_pandas_sample"], r["pandas_baseline"], r["polars_baseline"]
    assert (f"| rows/s (wall clock) | {d['rows_per_second']:,} | {s['rows_per_second']:,} | "
            f"{p['rows_per_second']:,} | {q['rows_per_second']:,} |") in DOC
    assert (f"| CPU seconds per million rows | {d['cpu_seconds_per_million_rows']} | "
            f"{s['cpu_seconds_per_million_rows']} | {p['cpu_seconds_per_million_rows']} | "
            f"{q['cpu_seconds_per_million_rows']} |") in DOC
    assert (f"| peak RSS | {d['peak_rss_mb']:,} MB (memory_limit {d['memory_limit']}) | {s['peak_rss_mb']:,} MB "
            f"(memory_limit {s['memory_limit']}) | {p['peak_rss_mb']:,} MB | {q['peak_rss_mb']:,} MB |") in DOC
    assert f"{r['speedup_vs_polars_per_row']}x per row" in DOC
    assert f"{r['speedup_vs_pandas_per_row']}x per row" in DOC
    assert f"{r['speedup_vs_pandas_same_rows']}x on the very same 1M rows" in DOC
    assert all(r["correct"].values())
    met = r["targets"]
    assert met["at_least_2x_pandas"] and met["peak_rss_at_most_1gb"]
    assert ("not met on this machine" in DOC) == (not met["at_least_1m_rows_per_second"])
