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


def _figures_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_figures", ROOT / "bench" / "figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_figures_in_the_docs_are_the_benchmark_results() -> None:
    """The figures block (table, run times, targets) is what bench/figures.py renders from the JSON."""
    figures = _figures_module()
    assert DOC.count(figures.SILVER_START) == 1 and DOC.count(figures.SILVER_END) == 1
    block = DOC.split(figures.SILVER_START, 1)[1].split(figures.SILVER_END, 1)[0]
    assert block.strip() == figures.render_silver_doc().strip(), "stale figures: python bench/figures.py --update docs/silver.md"


def test_the_figures_block_follows_the_json(tmp_path, monkeypatch) -> None:
    """The rendering reads every number from the JSON (a changed result changes the block)."""
    figures = _figures_module()
    r = json.loads((ROOT / "bench" / "results" / "silver.json").read_text())
    r["duckdb"]["rows_per_second"] = 1_234_567
    r["targets"]["at_least_1m_rows_per_second"] = True
    r["correct"]["polars_sample_matches_manifest"] = False
    (tmp_path / "silver.json").write_text(json.dumps(r))
    monkeypatch.setattr(figures, "RESULTS", tmp_path)
    block = figures.render_silver_doc()
    assert "| rows/s (wall clock) | 1,234,567 |" in block
    assert "at least 1,000,000 rows/s (met: 1,234,567 rows/s)." in block and "not met" not in block
    assert "| silver and quarantine = manifest | yes | yes | yes | **no** |" in block.splitlines()


def test_the_committed_results_are_correct_and_meet_the_hard_targets() -> None:
    r = json.loads((ROOT / "bench" / "results" / "silver.json").read_text())
    assert all(r["correct"].values())
    met = r["targets"]
    assert met["at_least_2x_pandas"] and met["peak_rss_at_most_1gb"]
