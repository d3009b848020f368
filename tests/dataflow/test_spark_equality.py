"""The deployed Data Flow Script run on Spark equals the DuckDB engine row for row.

Both engines go through the same runner (incremental state, atomic publish, report) on the same
bronze: generator output for several seeds and dirty ratios, a second incremental batch, and a
contract change. Silver rows and quarantine rows (reasons and details included) must be identical.
Mutations of the script that parse and type-check (a dropped filter) must make them differ.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math

import pytest

from emotion_events.contract import CONTRACT_PATH, parse_contract
from emotion_platform.dataflow.script import generate_script
from emotion_platform.silver.engines import SparkEngine
from emotion_platform.silver.runner import run_silver

from ..silver.conftest import generate, read_silver

ROWS = 1000
CASES = [(32, 0.1), (33, 0.4)]


def _norm(rows: list[dict]) -> list[tuple]:
    """Rows as sortable tuples; NaN is not expected, -0.0 and 0.0 stay apart (repr)."""
    out = []
    for r in rows:
        out.append(tuple((k, repr(v) if isinstance(v, float) else v) for k, v in sorted(r.items())))
    return sorted(out, key=repr)


def run_both(root, spark_engine, *, contract=None, full=False):
    outcomes = {}
    for name, engine in (("duckdb", None), ("spark", spark_engine)):
        outcomes[name] = run_silver(str(root / "bronze"), str(root / name / "silver"),
                                    quarantine=str(root / name / "quarantine"), report=str(root / name / "report"),
                                    memory_limit="256MB", threads=1, contract=contract, full=full, engine=engine)
    return outcomes, {name: read_silver(root / name / "silver", root / name / "quarantine") for name in outcomes}


def assert_equal(silvers) -> None:
    d, s = silvers["duckdb"], silvers["spark"]
    assert len(s.rows) == len(d.rows) and len(s.quarantine) == len(d.quarantine)
    assert _norm(s.rows) == _norm(d.rows)
    assert _norm(s.quarantine) == _norm(d.quarantine)


@pytest.mark.parametrize("seed, ratio", CASES, ids=[f"seed{s}-dirty{r}" for s, r in CASES])
def test_spark_equals_duckdb_row_for_row(tmp_path, spark, deployed_flow, seed, ratio) -> None:
    generate(tmp_path / "bronze", ROWS, seed, ratio)
    outcomes, silvers = run_both(tmp_path, SparkEngine(deployed_flow))
    assert_equal(silvers)
    d, s = outcomes["duckdb"].batch, outcomes["spark"].batch
    assert (s.rows_in, s.valid_rows, s.quarantined, s.output_rows) == (d.rows_in, d.valid_rows, d.quarantined,
                                                                       d.output_rows)
    assert s.affected_partitions == d.affected_partitions
    assert outcomes["spark"].report["engine"] == "spark" and outcomes["duckdb"].report["engine"] == "duckdb"
    if ratio:
        assert silvers["spark"].quarantine and s.duplicates_removed > 0  # the dirty cases exercise both paths


def test_an_incremental_batch_merges_the_same_way(tmp_path, spark, deployed_flow) -> None:
    generate(tmp_path / "bronze", ROWS, 41, 0.2, run_id="first")
    engine = SparkEngine(deployed_flow)
    run_both(tmp_path, engine)
    # The second batch repeats keys of the first (the generator's duplicates come from one run, so
    # copy lines of the first file with a later recorded_at into the new file).
    generate(tmp_path / "bronze", ROWS, 42, 0.2, run_id="second")
    first = sorted((tmp_path / "bronze").rglob("first.csv"))[0].read_text().splitlines()
    extra = sorted((tmp_path / "bronze").rglob("second.csv"))[0]
    extra.write_text(extra.read_text() + "\n".join(first[1:40]) + "\n")
    outcomes, silvers = run_both(tmp_path, engine)
    assert outcomes["spark"].mode == outcomes["duckdb"].mode == "incremental"
    assert outcomes["spark"].batch.merged_existing_rows == outcomes["duckdb"].batch.merged_existing_rows > 0
    assert_equal(silvers)


def test_a_contract_change_moves_both_engines(tmp_path, spark, deployed_flow) -> None:
    data = json.loads(CONTRACT_PATH.read_text())
    changed = copy.deepcopy(data)
    changed["ranges"]["intensity"]["max"] = 0.5
    contract = parse_contract(changed)
    generate(tmp_path / "bronze", ROWS, 51, 0.1)
    flow = dataclasses.replace(deployed_flow, text=generate_script(contract).text)
    outcomes, silvers = run_both(tmp_path, SparkEngine(flow), contract=contract)
    assert_equal(silvers)
    out_of_range = outcomes["spark"].batch.quarantined["out_of_range"]
    assert out_of_range > ROWS * 0.2  # about half the intensities are now out of range, in both


def test_a_dropped_filter_makes_the_engines_differ(tmp_path, spark, deployed_flow) -> None:
    text = deployed_flow.text.replace("filter(winner_rank == 1)", "filter(winner_rank >= 1)")
    assert text != deployed_flow.text
    generate(tmp_path / "bronze", ROWS, 61, 0.3)
    _outcomes, silvers = run_both(tmp_path, SparkEngine(dataclasses.replace(deployed_flow, text=text)))
    assert len(silvers["spark"].rows) > len(silvers["duckdb"].rows)  # the duplicates stay
